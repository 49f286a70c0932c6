"""Clean labels live on the top eigenvectors of the empirical NTK, label noise does not (Dong et al.)."""

import numpy as np

from tests.engine.science import config, error_curves


def test_clean_label_energy_sits_on_top_ntk_eigenvectors_above_a_permuted_label_control():
    """Centred labels; the control is the clean labels permuted across the inputs.

    Measured (seeds 0-4, share of energy on the top 10% of eigenvectors): clean 0.17-0.22, noise
    0.09-0.12, control 0.08-0.10; clean - control = 0.106 ± 0.007.
    """
    gaps = []
    for seed in range(3):
        cfg = config(
            data={"dataset": "mnist1d", "n_train": 300, "n_test": 200, "n_unlabeled": 0, "noise": 0.3, "n_val": 0},
            student={"model": "mlp", "width": 128, "depth": 2},
            distill={"mode": "self", "alpha": 0.6},
            train={"epochs": 4, "batch_size": 64, "lr": 3e-3, "ntk_points": 200},
        )
        curves, outcome = error_curves(cfg, seed)
        arrays = outcome.arrays

        def share(name: str, arrays=arrays) -> float:
            top = len(arrays[name]) // 10
            return arrays[name][:top].sum() / arrays[name].sum()

        gaps.append(share("ntk_clean_energy") - share("ntk_control_energy"))
        assert share("ntk_clean_energy") > share("ntk_noise_energy") + 0.04
        assert arrays["ntk_residual_baseline"].shape == (5, 200)
        assert arrays["ntk_residual_student"].shape == (5, 200)
        assert arrays["ntk_eigenvalues"].shape[1] == 200 and len(curves["baseline"]) == 4
    assert min(gaps) > 0.04 and np.mean(gaps) > 3 * np.std(gaps, ddof=1) / np.sqrt(len(gaps))


def self_distillation_curves(seed: int):
    """Vanilla training (baseline role) and cumulative self-distillation (student) from the same init."""
    cfg = config(
        data={"dataset": "mnist1d", "n_train": 1000, "n_test": 1000, "n_unlabeled": 0, "noise": 0.4},
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
