"""M networks of one family as one module: weights zero-padded to a common width and stacked.

A stacked module maps (M, B, n_in) inputs, one row of B examples per model, to (M, B, C) logits.
Padded units start at zero and stay there: their pre-activation is 0 and ReLU's gradient at 0 is
0, so no gradient ever reaches them, and each model trains exactly as its own unpadded network.
"""

import torch
from torch import nn

from engine.models.neural import CNN, MLP, Conv1dNet

EVAL_ELEMENTS = 2**24  # hidden activations per evaluation chunk, to bound memory on large pools


class Stacked(nn.Module):
    width: int

    def unstack(self, m: int, module: nn.Module) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def outputs(self, x: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
        """Logits of every model on all rows of its input set x[slot[m]], in chunks: (M, n, C)."""
        n = x.shape[1]
        per_example = max(self.activations_per_example(), x.shape[-1])  # hidden units or gathered inputs
        chunk = max(1, EVAL_ELEMENTS // max(1, len(slot) * per_example))
        # an empty input set (no validation split) still passes once, for the output's shape
        return torch.cat([self(x[slot, i : i + chunk]) for i in range(0, max(n, 1), chunk)], 1)

    def activations_per_example(self) -> int:
        return self.width


def layers(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module if isinstance(m, nn.Linear)]


def padded(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack tensors of different sizes into one zero tensor of the largest size in every dimension."""
    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    out = torch.zeros(len(tensors), *shape, dtype=tensors[0].dtype, device=tensors[0].device)
    for m, t in enumerate(tensors):
        out[(m, *(slice(0, s) for s in t.shape))] = t.detach()
    return out


class StackedMLP(Stacked):
    """M ReLU MLPs of equal depth: weights (M, fan_in, fan_out), one batched matmul per layer."""

    def __init__(self, modules: list[nn.Sequential]):
        super().__init__()
        nets = [layers(m) for m in modules]
        self.weights = nn.ParameterList(padded([net[i].weight.T for net in nets]) for i in range(len(nets[0])))
        self.biases = nn.ParameterList(padded([net[i].bias[None] for net in nets]) for i in range(len(nets[0])))
        self.width = max(w.shape[2] for w in self.weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x

    @torch.no_grad()
    def unstack(self, m: int, module: nn.Sequential) -> None:
        """Copy model m's trained weights back into its own (unpadded) module."""
        for linear, w, b in zip(layers(module), self.weights, self.biases, strict=True):
            linear.weight.copy_(w[m, : linear.in_features, : linear.out_features].T)
            linear.bias.copy_(b[m, 0, : linear.out_features])


class StackedCNN(Stacked):
    """M Conv1dNets: each convolution is one grouped convolution (groups = M), the read-out a batched matmul."""

    def __init__(self, modules: list[Conv1dNet]):
        super().__init__()
        self.models = len(modules)
        convs = [convolutions(net) for net in modules]
        self.width = max(c[0].out_channels for c in convs)
        self.specs = [(c.stride[0], c.padding[0]) for c in convs[0]]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for i in range(len(self.specs)):
            w = padded([c[i].weight for c in convs])  # (M, W, W_in, k)
            self.weights.append(nn.Parameter(w.reshape(-1, *w.shape[2:])))
            self.biases.append(nn.Parameter(padded([c[i].bias for c in convs]).reshape(-1)))
        self.length = modules[0].readout.in_features // convs[0][-1].out_channels
        readouts = [net.readout.weight.reshape(net.readout.out_features, -1, self.length) for net in modules]
        readout = padded(readouts)  # (M, C, W, length)
        self.readout = nn.Parameter(readout.reshape(self.models, readout.shape[1], -1).transpose(1, 2).contiguous())
        self.readout_bias = nn.Parameter(torch.stack([net.readout.bias.detach() for net in modules]).unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(0, 1)  # (B, M, L): model m's examples are input channel m
        for w, b, (stride, pad) in zip(self.weights, self.biases, self.specs, strict=True):
            h = torch.relu(nn.functional.conv1d(h, w, b, stride=stride, padding=pad, groups=self.models))
        h = h.reshape(h.shape[0], self.models, -1).transpose(0, 1)  # (M, B, W·length)
        return torch.baddbmm(self.readout_bias, h, self.readout)

    def activations_per_example(self) -> int:
        return self.width * self.length * 8

    @torch.no_grad()
    def unstack(self, m: int, module: Conv1dNet) -> None:
        convs = convolutions(module)
        for conv, w, b in zip(convs, self.weights, self.biases, strict=True):
            mine = w.reshape(self.models, self.width, *w.shape[1:])[m]
            conv.weight.copy_(mine[: conv.out_channels, : conv.in_channels])
            conv.bias.copy_(b.reshape(self.models, self.width)[m, : conv.out_channels])
        channels = convs[-1].out_channels
        readout = self.readout[m].T.reshape(-1, self.width, self.length)[:, :channels]
        module.readout.weight.copy_(readout.reshape(readout.shape[0], -1))
        module.readout.bias.copy_(self.readout_bias[m, 0])


STACKERS = {MLP: StackedMLP, CNN: StackedCNN}


def batchable(learner) -> bool:
    """Whether a learner's family can train stacked with others."""
    return type(learner) in STACKERS


def stack(learners: list) -> Stacked:
    return STACKERS[type(learners[0])]([learner.module for learner in learners])


def convolutions(module: Conv1dNet) -> list[nn.Conv1d]:
    return [c for c in module.features if isinstance(c, nn.Conv1d)]


def hidden_width(learner) -> int:
    """Hidden units (MLP) or channels (CNN): what a bucket pads to."""
    if type(learner) is CNN:
        return convolutions(learner.module)[0].out_channels
    return layers(learner.module)[0].out_features


def step_flops(learner, batch: int) -> float:
    """Multiply–adds of one training step (forward and backward ≈ 3× forward) on `batch` examples."""
    module = learner.module
    if type(learner) is CNN:
        total = module.readout.in_features * module.readout.out_features
        for conv, length in zip(convolutions(module), module.lengths, strict=True):
            total += conv.out_channels * conv.in_channels * conv.kernel_size[0] * length
        return 6.0 * batch * total
    return 6.0 * batch * sum(lin.in_features * lin.out_features for lin in layers(module))
