"""Gradient-trained families (MLP, 1-D CNN) and the mini-batch trainer they share."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from engine.models.augment import Augment
from engine.models.base import Learner, Refinement, Targets, objective, register_family
from engine.seeds import torch_generator


def seeded_module(seed: int, build) -> nn.Module:
    """Build a module with initial weights drawn from `seed` alone, whatever else used the RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def warm_up() -> None:
    """Build one optimizer: torch imports its compiler stack (about 2 s) the first time, so do it early."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def make_optimizer(params, train, fused: bool = False) -> torch.optim.Optimizer:
    """The configured optimizer; `fused` updates all parameters in one kernel (same arithmetic)."""
    if train.optimizer == "adam":
        return torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay, fused=fused or None)
    return torch.optim.SGD(params, lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)


@dataclass
class Session:
    """A gradient fit under way: what continuing it needs besides the weights."""

    optimizer: torch.optim.Optimizer
    order: torch.Generator
    targets: Targets
    augment: Augment | None = None
    epoch: int = 0

    def state(self, module: nn.Module) -> dict:
        """Weights, optimizer state, batch-order generator, (refined) targets and epochs done."""
        return {
            "module": module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "order": self.order.get_state(),
            "augment": None if self.augment is None else self.augment.state(),
            "targets": vars(self.targets),
            "epoch": self.epoch,
        }

    def restore(self, module: nn.Module, state: dict) -> None:
        module.load_state_dict(state["module"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.order.set_state(state["order"].cpu())
        if self.augment is not None:
            self.augment.restore(state["augment"])
        self.targets, self.epoch = Targets(**state["targets"]), state["epoch"]


class GradientLearner(Learner):
    """Mini-batch training of a torch module; data stays on the device and batches are index slices."""

    iterative = True

    def __init__(self, module: nn.Module, train, seed: int, device: torch.device):
        self.module = module.to(device)
        self.train = train
        self.seed = seed
        self.device = device
        self.loss = train.loss
        self.session: Session | None = None

    def fit(
        self,
        x: torch.Tensor,
        targets: Targets,
        refine: Refinement | None = None,
        rows: Callable[[torch.Tensor], torch.Tensor] | None = None,
        session: dict | None = None,
    ) -> Iterator[float]:
        """Yield the mean training loss after every epoch; with `refine`, the targets are refined after each.

        `rows` maps a mini-batch's example indices to the rows of `targets` it is fit to (per-batch
        teachers); by default they are the same. `session` (from `Session.state`) continues a fit
        from a checkpoint: weights, optimizer state, batch order, augmentation draws, targets and
        epoch as they were; it is put back at once, so that a session that does not fit fails here,
        before any epoch trains.
        """
        optimizer = make_optimizer(self.module.parameters(), self.train)
        self.session = Session(optimizer, self.batch_order(), targets, Augment.of([self], x.shape[1]))
        if session is not None:
            self.session.restore(self.module, session)
        return self.epochs(x, refine, rows)

    def epochs(self, x: torch.Tensor, refine: Refinement | None, rows) -> Iterator[float]:
        """The epochs of the session `fit` set up, one mean training loss each."""
        n, size, run = len(x), self.train.batch_size, self.session
        try:
            for _ in range(run.epoch, self.train.epochs):
                self.module.train()
                perm = torch.randperm(n, generator=run.order).to(self.device)
                total = torch.zeros((), device=self.device)
                for start in range(0, n, size):
                    idx = perm[start : start + size]
                    batch = x[idx] if run.augment is None else run.augment(x[idx][None])[0]
                    goal = idx if rows is None else rows(idx)
                    loss = objective(self.module(batch), run.targets, goal, self.loss).sum()
                    run.optimizer.zero_grad(set_to_none=True)
                    (loss / len(idx)).backward()
                    run.optimizer.step()
                    total += loss.detach()
                if refine is not None:
                    run.targets = refine.next(run.targets, self.predict_logits(x))
                run.epoch += 1
                yield float(total) / max(n, 1)
        finally:
            self.session = None  # a fit stopped or diverged early frees its optimizer state too

    def batch_order(self) -> torch.Generator:
        """The generator of this model's mini-batch permutations (one randperm per epoch)."""
        return torch_generator(self.seed, "batch-order")

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        self.module.eval()
        return self.module(x)


def mlp(n_in: int, n_classes: int, width: int, depth: int) -> nn.Sequential:
    layers, size = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_classes))


@register_family("mlp", ("width", "depth"), True, "fully connected ReLU network", trainer="stacked")
class MLP(GradientLearner):
    def __init__(self, spec, train, n_in, n_classes, seed, device):
        super().__init__(seeded_module(seed, lambda: mlp(n_in, n_classes, spec.width, spec.depth)), train, seed, device)


class Conv1dNet(nn.Module):
    """Three strided 1-D convolutions of `width` channels, then a linear read-out."""

    def __init__(self, n_in: int, n_classes: int, width: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(1, width, 5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv1d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(width, width, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.lengths, length = [], n_in
        for _ in range(3):
            length = (length + 1) // 2
            self.lengths.append(length)
        self.readout = nn.Linear(width * length, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x.unsqueeze(1)))


@register_family("cnn", ("width",), True, "1-D convolutional network (width = channels)", trainer="stacked")
class CNN(GradientLearner):
    def __init__(self, spec, train, n_in, n_classes, seed, device):
        super().__init__(seeded_module(seed, lambda: Conv1dNet(n_in, n_classes, spec.width)), train, seed, device)
