"""Clean labels live on the top eigenvectors of the empirical NTK, label noise does not (Dong et al.)."""

import numpy as np

from tests.engine.science import config, error_curves


def test_clean_label_energy_sits_on_top_ntk_eigenvectors_and_the_diagnostic_is_recorded():
    for seed in range(2):
        cfg = config(
            data={"dataset": "mnist1d", "n_train": 300, "n_test": 200, "n_unlabeled": 0, "noise": 0.3},
            teacher={"model": "knn", "k": 1},  # self-distillation uses no teacher; the cheapest family fills the role
            student={"model": "mlp", "width": 128, "depth": 2},
            distill={"mode": "self", "alpha": 0.6},
            train={"epochs": 4, "batch_size": 64, "lr": 3e-3, "ntk_points": 200},
        )
        curves, outcome = error_curves(cfg, seed)
        clean, noise = outcome.arrays["ntk_clean_energy"], outcome.arrays["ntk_noise_energy"]
        top = len(clean) // 10
        assert clean[:top].sum() / clean.sum() > noise[:top].sum() / noise.sum() + 0.08
        assert outcome.arrays["ntk_residual_baseline"].shape == (5, 200)
        assert outcome.arrays["ntk_residual_student"].shape == (5, 200)
        assert outcome.arrays["ntk_eigenvalues"].shape[1] == 200 and len(curves["baseline"]) == 4


def self_distillation_curves(seed: int):
    """Vanilla training (baseline role) and cumulative self-distillation (student) from the same init."""
    cfg = config(
        data={"dataset": "mnist1d", "n_train": 1000, "n_test": 1000, "n_unlabeled": 0, "noise": 0.4},
        teacher={"model": "knn", "k": 1},  # self-distillation uses no teacher; the cheapest family fills the role
        student={"model": "mlp", "width": 512, "depth": 2},
        distill={"mode": "self", "alpha": 0.2, "refine": "cumulative"},
        train={"epochs": 40, "batch_size": 64, "lr": 1e-3},
    )
    curves, _ = error_curves(cfg, seed)
    return np.array(curves["baseline"]), np.array(curves["student"])


def test_self_distillation_ends_near_vanillas_best_epoch_while_vanilla_overfits_late():
    overfit = []
    for seed in range(2):
        vanilla, distilled = self_distillation_curves(seed)
        overfit.append(vanilla[-1] - vanilla.min())
        assert distilled[-1] <= vanilla.min() + 0.015, "self-distillation needs no early stopping"
    assert np.mean(overfit) > 0.01, "vanilla training memorizes the noise late"
