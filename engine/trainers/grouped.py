"""Train ResNets of one width as one grouped computation, models folded into the channels.

M networks of the same width become one network with M times the channels: every convolution is
a grouped convolution (groups = M) whose group m holds model m's weights, every BatchNorm has M
times the channels (BatchNorm keeps statistics per channel, so per model), and the read-out is a
batched matmul. Model m's mini-batch occupies its channels; no weight connects two models, so each
trains as it would alone, up to float summation order. Widths never mix (padding channels would
enter the BatchNorm statistics), so each width is its own group; the stacked trainer's epoch loop
then runs the groups. Folding is meant for a GPU, where small convolutions are bound by kernel
launches (not measured yet: no GPU was at hand when it was written).
"""

import copy
from collections.abc import Callable

import torch
from torch import nn

from engine.models.resnet import ResNet, precision
from engine.trainers.alone import train_alone
from engine.trainers.jobs import Fits, Job, Options
from engine.trainers.stacked import Bucket, train_buckets
from engine.trainers.stacking import STACKERS, Stacked


def folded_conv(convs: list[nn.Conv2d]) -> nn.Conv2d:
    """M convolutions as one with groups = M: output channels [m·C_out, (m+1)·C_out) are model m's."""
    c = convs[0]
    models = len(convs)
    grouped = nn.Conv2d(
        c.in_channels * models, c.out_channels * models, c.kernel_size, c.stride, c.padding, bias=False, groups=models
    )
    grouped.weight = nn.Parameter(torch.cat([conv.weight.detach() for conv in convs]))
    return grouped.to(c.weight.device)


def folded_norm(norms: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    """M BatchNorms as one over M times the channels, weights and running statistics side by side."""
    grouped = nn.BatchNorm2d(norms[0].num_features * len(norms), norms[0].eps, norms[0].momentum)
    grouped.weight = nn.Parameter(torch.cat([n.weight.detach() for n in norms]))
    grouped.bias = nn.Parameter(torch.cat([n.bias.detach() for n in norms]))
    for name in ("running_mean", "running_var"):
        setattr(grouped, name, torch.cat([getattr(n, name) for n in norms]))
    grouped.num_batches_tracked = norms[0].num_batches_tracked.clone()
    return grouped.to(norms[0].weight.device)


FOLDERS = {nn.Conv2d: folded_conv, nn.BatchNorm2d: folded_norm}


class GroupedResNet(Stacked):
    """M ResNet18 modules of one width: (M, B, C·H·W) inputs → (M, B, classes) logits."""

    def __init__(self, modules: list[nn.Module]):
        super().__init__()
        self.models, self.shape, self.mixed = len(modules), modules[0].shape, modules[0].mixed
        self.width = modules[0].head.in_features
        self.body = copy.deepcopy(modules[0].body)
        bodies = [dict(m.body.named_modules()) for m in modules]
        for name, part in list(self.body.named_modules()):
            if type(part) in FOLDERS:
                parent, _, leaf = name.rpartition(".")
                folded = FOLDERS[type(part)]([b[name] for b in bodies])
                setattr(self.body.get_submodule(parent) if parent else self.body, leaf, folded)
        if self.mixed:
            self.body.to(memory_format=torch.channels_last)
        self.readout = nn.Parameter(torch.stack([m.head.weight.detach().T for m in modules]))
        self.readout_bias = nn.Parameter(torch.stack([m.head.bias.detach() for m in modules]).unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        models, batch = x.shape[:2]
        channels, height, width = self.shape
        images = x.reshape(models, batch, channels, height, width).transpose(0, 1)
        with precision(self.mixed, images.reshape(batch, models * channels, height, width)) as images:
            features = self.body(images)
        features = features.to(self.readout.dtype).reshape(batch, models, -1).transpose(0, 1)  # (M, B, 8k)
        return torch.baddbmm(self.readout_bias, features, self.readout)

    def outputs(self, x: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """Logits in evaluation mode (BatchNorm's running statistics); training mode is the default."""
        self.eval()
        try:
            return super().outputs(x, slot)
        finally:
            self.train()

    def activations_per_example(self) -> int:
        return self.width * self.shape[1] * self.shape[2]

    @torch.no_grad()
    def unstack(self, m: int, module: nn.Module) -> None:
        """Copy model m's weights and BatchNorm statistics back into its own module."""
        mine = dict(module.body.named_modules())
        for name, part in self.body.named_modules():
            if type(part) in FOLDERS:
                for key, value in part.state_dict().items():
                    target = getattr(mine[name], key)
                    target.copy_(value if key == "num_batches_tracked" else value.chunk(self.models)[m])
        module.head.weight.copy_(self.readout[m].T)
        module.head.bias.copy_(self.readout_bias[m, 0])


STACKERS[ResNet] = GroupedResNet


def train_grouped(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Train same-width jobs folded into one network each on CUDA; on the CPU one by one; False if stopped.

    On a 2-core CPU folding is slower than a loop (benchmarks/resnet_grouping.py: 351 against 284 ms
    per step for four k = 4 models at batch 32; vmap 508 ms), so the CPU trains them alone.
    """
    if jobs[0].x.device.type == "cpu":
        return (yield from train_alone(jobs, options, stop))
    return (yield from train_folded(jobs, options, stop))


def train_folded(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """One folded network per (budget, data size, width); False if stopped."""
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        key = (job.learner.train.model_dump_json(), len(job.x), job.learner.module.head.in_features)
        groups.setdefault(key, []).append(job)
    for group in groups.values():
        if not (yield from train_buckets(group, [Bucket(group)], options.saving, stop)):
            return False
    return True
