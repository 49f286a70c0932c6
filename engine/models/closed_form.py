"""Closed-form families: ReLU random features and kernel machines fit by (ridge)less least squares."""

import math
from collections.abc import Iterator

import torch

from engine.models.base import Learner, Targets, register_family
from engine.seeds import torch_generator


def ridge_solve(features: torch.Tensor, y: torch.Tensor, ridge: float) -> torch.Tensor:
    """β minimizing ‖Φβ − Y‖² + ridge·‖β‖²; ridge 0 gives the minimum-norm least-squares solution."""
    if ridge == 0:
        return torch.linalg.pinv(features) @ y
    n, p = features.shape
    if p <= n:
        gram = features.T @ features + ridge * torch.eye(p, dtype=features.dtype, device=features.device)
        return torch.linalg.solve(gram, features.T @ y)
    gram = features @ features.T + ridge * torch.eye(n, dtype=features.dtype, device=features.device)
    return features.T @ torch.linalg.solve(gram, y)


class LeastSquaresLearner(Learner):
    """Shared fit for models that are linear in fixed features: fit once, yield the train loss once."""

    loss = "mse"

    def __init__(self, spec, train, n_in: int, n_classes: int, seed: int, device: torch.device):
        self.spec, self.n_classes, self.seed, self.device = spec, n_classes, seed, device

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def solve(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ridge_solve(self.features(x), y, self.spec.ridge)

    def fit(self, x: torch.Tensor, targets: Targets) -> Iterator[float]:
        y = targets.distribution(self.n_classes).to(self.device)
        self.prepare(x.to(torch.float64))
        self.beta = self.solve(x.to(torch.float64), y)
        residual = self.logits(x).to(torch.float64) - y
        yield float(0.5 * (residual**2).sum(1).mean())

    def prepare(self, x: torch.Tensor) -> None:
        """Set up data-dependent parts (kernel centres, bandwidth) before solving."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return (self.features(x.to(torch.float64)) @ self.beta).to(torch.float32)


@register_family(
    "random_features",
    ("width", "ridge"),
    gradient=False,
    description="ReLU random features (width = number of features), ridge fit in closed form",
    trainer="nested",
)
class RandomFeatures(LeastSquaresLearner):
    def prepare(self, x: torch.Tensor) -> None:
        self.weights, self.bias = feature_weights(self.seed, x.shape[1], self.spec.width, self.device)
        self.feature_scale = 1 / math.sqrt(self.spec.width)

    def adopt(self, widest: "RandomFeatures", beta: torch.Tensor) -> None:
        """Take β solved with a width sweep, and this width's share of the widest model's features."""
        p = self.spec.width
        self.weights, self.bias, self.feature_scale = widest.weights[:, :p], widest.bias[:p], 1 / math.sqrt(p)
        self.beta = beta

    def raw_features(self, x: torch.Tensor) -> torch.Tensor:
        """relu(x·W/√d + b) with W, b standard normal (the bias matters in low dimension), in one buffer."""
        return torch.addmm(self.bias, x, self.weights, alpha=1 / math.sqrt(self.weights.shape[0])).relu_()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """φ(x) = relu(x·W/√d + b)/√p: the first p features of any wider model with the same seed."""
        return self.raw_features(x).mul_(self.feature_scale)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Features are built a slice of rows at a time: a wide model's n × p matrix never exists whole."""
        x = x.to(torch.float64)
        rows = max(1, FEATURE_ELEMENTS // self.spec.width)
        parts = [self.features(x[i : i + rows]) @ self.beta for i in range(0, len(x), rows)]
        return torch.cat(parts).to(torch.float32) if parts else torch.zeros(0, self.n_classes, device=x.device)


FEATURE_BLOCK = 256
FEATURE_ELEMENTS = 2**21  # features computed at once when predicting


def feature_weights(seed: int, dim: int, width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """W (dim, width) and b (width,) drawn in blocks of features, each block from its own seed.

    Feature j is the same in every width > j, so a width sweep's feature matrices are nested and
    one factorization serves them all.
    """
    blocks = []
    for block in range(math.ceil(width / FEATURE_BLOCK)):
        gen = torch_generator(seed, f"features/{block}")
        blocks.append(torch.randn(FEATURE_BLOCK, dim + 1, generator=gen, dtype=torch.float64))
    wb = torch.cat(blocks)[:width].to(device)
    return wb[:, :dim].T.contiguous(), wb[:, dim].contiguous()


def kernel_matrix(a: torch.Tensor, b: torch.Tensor, kind: str, bandwidth: float) -> torch.Tensor:
    dist = torch.cdist(a, b)
    if kind == "laplace":
        return torch.exp(-dist / bandwidth)
    return torch.exp(-(dist**2) / (2 * bandwidth**2))


@register_family(
    "kernel",
    ("width", "kernel", "bandwidth", "ridge"),
    gradient=False,
    description="RBF or Laplace kernel machine on `width` centres (all training points when width ≥ n)",
)
class KernelMachine(LeastSquaresLearner):
    def prepare(self, x: torch.Tensor) -> None:
        gen = torch_generator(self.seed, "kernel-centres")
        pick = torch.randperm(len(x), generator=gen)[: self.spec.width].to(x.device)
        self.all_points = len(pick) == len(x)
        self.centres = x if self.all_points else x[pick]
        self.bandwidth = self.spec.bandwidth or median_distance(x, gen)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return kernel_matrix(x, self.centres, self.spec.kernel, self.bandwidth)

    def solve(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Kernel ridge regression on all points; Nyström least squares on a subset of centres."""
        k = self.features(x)
        ridge = self.spec.ridge
        if self.all_points:
            if ridge == 0:
                return torch.linalg.pinv(k, hermitian=True) @ y
            return torch.linalg.solve(k + ridge * torch.eye(len(k), dtype=k.dtype, device=k.device), y)
        if ridge == 0:
            return torch.linalg.pinv(k) @ y
        k_centres = self.features(self.centres)
        return torch.linalg.lstsq(k.T @ k + ridge * k_centres, k.T @ y).solution


def median_distance(x: torch.Tensor, gen: torch.Generator, sample: int = 1000) -> float:
    """Median pairwise distance of up to `sample` points: the usual default kernel bandwidth."""
    pick = torch.randperm(len(x), generator=gen)[:sample].to(x.device)
    dist = torch.cdist(x[pick], x[pick])
    off = dist[~torch.eye(len(pick), dtype=torch.bool, device=x.device)]
    return float(off.median()) if len(off) else 1.0
