"""Interpolating teachers are conditional samplers, yet good teachers on a large pool (Kaplun et al.)."""

import numpy as np
import pytest

from tests.engine.science import config, run_one

NOISE = 0.3


def spirals_point(pool: int, teacher: dict, kind: str, **distill):
    return config(
        data={
            "dataset": "spirals",
            "n_classes": 3,
            "input_noise": 0.02,
            "n_train": 500,
            "n_test": 2000,
            "n_unlabeled": pool,
            "noise": NOISE,
            "noise_kind": kind,
        },
        teacher=teacher,
        student={"model": "knn", "k": 51},
        distill={"mode": "hard", **distill},
    )


ONE_NN = {"model": "knn", "k": 1}
LAPLACE = {"model": "kernel", "kernel": "laplace", "width": 500, "bandwidth": 0.1, "ridge": 0.0}


@pytest.mark.parametrize(("teacher", "kind"), [(ONE_NN, "pairflip"), (LAPLACE, "symmetric")], ids=["1nn", "laplace"])
def test_interpolating_teacher_samples_the_noise_and_its_student_on_a_large_pool_beats_it(teacher, kind):
    # 2000 pool points: the student's 51 neighbours still span several teacher cells (see docs/science.md)
    for seed in range(2):
        small, _ = run_one(spirals_point(250, teacher, kind), seed)
        large, outcome = run_one(spirals_point(2000, teacher, kind), seed)
        error = large["teacher"]["test_error"]
        assert abs(error - NOISE) < 0.08, "a sampler's clean test error is close to the noise rate"
        assert large["teacher"]["sampler_distance"] < 0.1, "its confusion matrix is close to T"
        confusion = outcome.arrays["confusion_teacher"]
        assert confusion.shape == (3, 3) and np.allclose(confusion.sum(1), 1)
        assert large["student"]["test_error"] < error - 0.08
        assert large["student"]["test_error"] < small["student"]["test_error"] - 0.05


def test_a_pool_of_bootstrap_teachers_are_distinct_samplers():
    final, _ = run_one(spirals_point(2000, ONE_NN, "symmetric", teachers=4, teacher_data="bootstrap"))
    errors = [final[r]["test_error"] for r in ("teacher", "teacher_2", "teacher_3", "teacher_4")]
    assert len(set(errors)) > 1, "each teacher trains on its own resample, so they are not copies"
    assert all(final[r]["sampler_distance"] < 0.15 for r in ("teacher", "teacher_2", "teacher_3", "teacher_4"))
    assert final["student"]["test_error"] < min(errors) - 0.05
