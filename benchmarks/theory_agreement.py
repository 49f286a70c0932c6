"""Replica theory against DDX's `linear` family: test error of L2 logistic regression on the Gaussian mixture.

    python -m benchmarks.theory_agreement                    # the docs/science.md table (d = 400, 5 seeds)
    python -m benchmarks.theory_agreement --dim 800 --seeds 10

For each (ρ, λ) and α, the `linear` family (full-batch L-BFGS, float64) is fit on n = αd draws of the
mixture; its error is computed from its own overlaps m = w·v/d, q = ‖w‖²/d and bias b through the
closed form, so no test-set noise enters; what remains is the finite-d fluctuation of (m, q, b).
"""

import argparse
import math

import numpy as np
import torch

from engine.config import DataConfig, ModelConfig, TrainConfig
from engine.datasets.gaussian_mixture import linear_error, make_gaussian_mixture, mean_direction
from engine.diagnostics.replica import logistic_error
from engine.models import Targets, build_learner

SETTINGS = [(0.5, 0.1), (0.5, 1e-3), (0.2, 0.1), (0.2, 1e-3)]
ALPHAS = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]


def simulated_error(alpha: float, rho: float, ridge: float, dim: int, seed: int, eta: float = 1.0) -> float:
    """The closed-form error of the `linear` family fit on n = αd labeled mixture draws (Δ = 1)."""
    data_cfg = DataConfig(
        dataset="gaussian_mixture", dim=dim, rho=rho, delta=1.0, n_train=round(alpha * dim), n_test=1, n_val=0
    )
    data = make_gaussian_mixture(data_cfg.model_copy(update={"n_unlabeled": 0}), seed)
    spec = ModelConfig(model="linear", ridge=ridge, trainable_fraction=eta)
    learner = build_learner(spec, TrainConfig(loss="cross_entropy"), dim, 2, seed, "cpu")
    list(learner.fit(torch.from_numpy(data.x_train), Targets(torch.from_numpy(data.y_train))))
    w = np.zeros(dim)
    w[: learner.active] = learner.w[:, 0].cpu().numpy()
    v = mean_direction(seed, dim)
    return linear_error(float(w @ v) / dim, float(w @ w) / dim, float(learner.b[0]), rho, 1.0)


def table(dim: int, seeds: int, eta: float = 1.0) -> list[str]:
    """Markdown rows: ρ, λ, α, theory, simulation mean ± standard error, difference."""
    rows = ["| ρ | λ | α | theory | simulation (mean ± s.e.) | sim − theory |", "|---|---|---|---|---|---|"]
    print("\n".join(rows), flush=True)
    for rho, ridge in SETTINGS:
        for alpha in ALPHAS:
            theory = logistic_error(alpha, rho, 1.0, ridge, eta)
            errors = [simulated_error(alpha, rho, ridge, dim, seed, eta) for seed in range(seeds)]
            mean, se = float(np.mean(errors)), float(np.std(errors, ddof=1) / math.sqrt(seeds))
            rows.append(
                f"| {rho} | {ridge:g} | {alpha:g} | {theory:.4f} | {mean:.4f} ± {se:.4f} | {mean - theory:+.4f} |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eta", type=float, default=1.0, help="trainable share of the weights (the baseline's η)")
    args = parser.parse_args()
    print(f"d = {args.dim}, {args.seeds} seeds, η = {args.eta}")
    table(args.dim, args.seeds, args.eta)


if __name__ == "__main__":
    main()
