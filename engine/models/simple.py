"""k-nearest neighbours and linear classifiers (logistic or least squares, with an L2 penalty)."""

import math
from collections.abc import Iterator

import torch

from engine.models.base import Learner, Targets, objective, register_family
from engine.models.closed_form import ridge_solve

KNN_SMOOTHING = 1e-2


@register_family("knn", ("k",), gradient=False, description="k-nearest-neighbour vote (k = 1 is a sampler)")
class KNearest(Learner):
    """Predicts the majority label of the k nearest training points; logits are log vote shares."""

    def __init__(self, spec, train, n_in, n_classes, seed, device):
        self.requested_k, self.n_classes = spec.k, n_classes

    def fit(self, x: torch.Tensor, targets: Targets) -> Iterator[float]:
        """Keep the training set; k = 0 becomes √n, so that k grows with the data while k/n shrinks.

        A fixed k over a growing teacher-labeled pool ends up averaging inside one teacher cell and
        copying the teacher's noise; k ∝ √n keeps averaging over more and more cells (Kaplun et al.).
        """
        self.k = self.requested_k or max(1, round(math.sqrt(len(x))))
        self.points, self.labels = x, targets.labels(self.n_classes)
        yield float(torch.nn.functional.cross_entropy(self.predict_logits(x), self.labels))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        k = min(self.k, len(self.points))
        nearest = torch.cdist(x, self.points).topk(k, largest=False).indices
        votes = torch.nn.functional.one_hot(self.labels[nearest], self.n_classes).sum(1).to(torch.float32)
        return torch.log((votes + KNN_SMOOTHING) / (k + KNN_SMOOTHING * self.n_classes))


@register_family(
    "linear",
    ("ridge", "trainable_fraction"),
    gradient=False,
    description="linear classifier σ(w·x/√d + b): logistic (cross-entropy) or least squares (mse)",
)
class Linear(Learner):
    """Linear classifier with objective Σᵢ loss_i + (ridge/2)·‖w‖² (bias unpenalized).

    Only the first ⌈η·d⌉ input weights are trainable (η = `trainable_fraction`); the rest stay 0.
    Logistic fits use full-batch L-BFGS in float64; least squares is solved in closed form.
    Two classes use one weight vector (logits [0, q]), matching the binary model of Saglietti & Zdeborová.
    """

    MAX_ITER = 500

    def __init__(self, spec, train, n_in, n_classes, seed, device):
        self.spec, self.n_classes, self.loss = spec, n_classes, train.loss
        self.active = max(1, math.ceil(spec.trainable_fraction * n_in))
        outputs = 1 if n_classes == 2 else n_classes
        self.w = torch.zeros(self.active, outputs, dtype=torch.float64, device=device)
        self.b = torch.zeros(outputs, dtype=torch.float64, device=device)

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, : self.active].to(torch.float64) / math.sqrt(x.shape[1])

    def raw_logits(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        q = self.scaled(x) @ w + b
        return torch.cat([torch.zeros_like(q), q], 1) if self.n_classes == 2 else q

    def fit(self, x: torch.Tensor, targets: Targets) -> Iterator[float]:
        if self.loss == "mse":
            yield self.fit_least_squares(x, targets)
            return
        w, b = self.w.clone().requires_grad_(), self.b.clone().requires_grad_()
        optimizer = torch.optim.LBFGS(
            [w, b],
            lr=1,
            max_iter=self.MAX_ITER,
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure():
            optimizer.zero_grad()
            total = objective(self.raw_logits(x, w, b), targets, slice(None), "cross_entropy").sum()
            total = total + 0.5 * self.spec.ridge * (w**2).sum()
            total.backward()
            return total

        optimizer.step(closure)
        self.w, self.b = w.detach(), b.detach()
        with torch.no_grad():
            yield float(objective(self.logits(x), targets, slice(None), "cross_entropy").mean())

    def fit_least_squares(self, x: torch.Tensor, targets: Targets) -> float:
        """Ridge regression of the target distribution on [x/√d, 1] (the bias column is penalized lightly)."""
        y = targets.distribution(self.n_classes).to(x.device)
        if self.n_classes == 2:
            y = y[:, 1:] - y[:, :1]
        design = torch.cat([self.scaled(x), torch.ones(len(x), 1, dtype=torch.float64, device=x.device)], 1)
        beta = ridge_solve(design, y, self.spec.ridge)
        self.w, self.b = beta[:-1], beta[-1]
        residual = design @ beta - y
        return float(0.5 * (residual**2).sum(1).mean())

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.raw_logits(x, self.w, self.b).to(torch.float32)
