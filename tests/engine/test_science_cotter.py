"""Model-wise double descent of ridgeless random-features teachers on noisy MNIST-1D (Cotter et al.)."""

import numpy as np
import torch

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


def mlp_student_error(pool: int, seed: int) -> float:
    """Test error of a width-32 student taught hard labels on `pool` inputs by a width-512 teacher."""
    cfg = config(
        data={"dataset": "mnist1d", "n_train": 500, "n_test": 1000, "n_unlabeled": pool, "noise": 0.2},
        teacher={"model": "mlp", "width": 512, "depth": 2},
        student={"model": "mlp", "width": 32, "depth": 2},
        distill={"mode": "hard"},
        train={"epochs": 100, "batch_size": 128, "lr": 3e-3},
    )
    return run_one(cfg, seed)[0]["student"]["test_error"]


def test_student_error_falls_as_the_teacher_labeled_pool_grows():
    small, large = np.mean([[mlp_student_error(pool, seed) for pool in (500, 5000)] for seed in range(2)], 0)
    assert large < small - 0.025


def test_student_of_an_interpolating_cnn_teacher_beats_the_baseline():
    """Cotter et al.'s claim (c): hard labels from a teacher that fits the noise still beat training on S."""
    margins = []
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the CNN pair is the heaviest science check; use both cores for it
    try:
        for seed in range(2):
            cfg = config(
                data={"dataset": "mnist1d", "n_train": 1000, "n_test": 1000, "n_unlabeled": 10000, "noise": 0.2},
                teacher={"model": "cnn", "width": 128},
                student={"model": "cnn", "width": 8},
                distill={"mode": "hard"},
                train={"epochs": 60, "batch_size": 128, "lr": 3e-3},
            )
            final, _ = run_one(cfg, seed)
            assert final["teacher"]["train_error"] == 0.0, "the teacher is past the interpolation threshold"
            margins.append(final["baseline"]["test_error"] - final["student"]["test_error"])
    finally:
        torch.set_num_threads(threads)
    assert min(margins) > 0 and sum(margins) / len(margins) > 0.03
