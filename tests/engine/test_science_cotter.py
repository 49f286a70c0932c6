"""Model-wise double descent of ridgeless random-features teachers on noisy MNIST-1D (Cotter et al.)."""

import numpy as np

from tests.engine.science import config, run_one

N_TRAIN = 200


def teacher_error(width: int, seed: int) -> float:
    cfg = config(
        data={"dataset": "mnist1d", "n_train": N_TRAIN, "n_test": 1000, "n_unlabeled": 0, "noise": 0.15},
        teacher={"model": "random_features", "width": width, "ridge": 0.0},
        student={"model": "random_features", "width": 10, "ridge": 1e-2},
        distill={"mode": "none"},
    )
    return run_one(cfg, seed)[0]["teacher"]["test_error"]


def test_teacher_error_peaks_at_the_interpolation_threshold_and_falls_beyond_it():
    widths = (50, N_TRAIN, 2 * N_TRAIN, 20 * N_TRAIN)
    errors = np.mean([[teacher_error(w, seed) for w in widths] for seed in range(2)], 0)
    small, peak, past, widest = errors
    assert peak > past + 0.03 and peak > widest + 0.05 and peak > small
