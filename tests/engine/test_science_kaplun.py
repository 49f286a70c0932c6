"""Interpolating teachers are conditional samplers, yet good teachers on a large pool (Kaplun et al.)."""

import itertools

import numpy as np
import pytest

from tests.engine.science import config, run_one

NOISE = 0.3


def spirals_point(pool: int, teacher: dict, kind: str, **distill):
    """Three spirals, 500 noisy labels; the k-NN student and baseline both use k = √n of their own data."""
    return config(
        data={
            "dataset": "spirals",
            "n_classes": 3,
            "input_noise": 0.02,
            "n_train": 500,
            "n_test": 2000,
            "n_unlabeled": pool,
            "n_val": 200,
            "noise": NOISE,
            "noise_kind": kind,
        },
        teacher=teacher,
        student={"model": "knn", "k": 0},
        distill={"mode": "hard", **distill},
    )


ONE_NN = {"model": "knn", "k": 1}
LAPLACE = {"model": "kernel", "kernel": "laplace", "width": 500, "bandwidth": 0.1, "ridge": 0.0}
SEEDS = range(5)


@pytest.mark.parametrize(("teacher", "kind"), [(ONE_NN, "pairflip"), (LAPLACE, "symmetric")], ids=["1nn", "laplace"])
def test_interpolating_teachers_sample_the_noise_and_their_students_beat_them(teacher, kind):
    for seed in SEEDS:
        small, _ = run_one(spirals_point(250, teacher, kind), seed)
        large, outcome = run_one(spirals_point(4000, teacher, kind), seed)
        error = large["teacher"]["test_error"]
        assert abs(error - NOISE) < 0.08, "a sampler's clean test error is close to the noise rate"
        assert large["teacher"]["sampler_distance"] < 0.1, "its confusion matrix is close to T"
        confusion = outcome.record.arrays["confusion_teacher"]
        assert confusion.shape == (3, 3) and np.allclose(confusion.sum(1), 1)
        assert large["student"]["test_error"] < error - 0.08
        assert large["student"]["test_error"] < small["student"]["test_error"] - 0.05


def test_the_student_of_a_one_nn_sampler_beats_the_same_rule_trained_on_the_noisy_labels():
    """Fair: student and baseline are k-NN with k = √n of their own data (no k tuned on the test set).

    Measured (5 seeds): margin 0.125 ± 0.013 (9 standard errors) at a 4000-example pool. The Laplace
    teacher's student wins by 0.075 ± 0.030 (2.5 standard errors), too few to assert (docs/science.md).
    """
    margins = []
    for seed in SEEDS:
        final, _ = run_one(spirals_point(4000, ONE_NN, "pairflip"), seed)
        margins.append(final["baseline"]["test_error"] - final["student"]["test_error"])
    assert np.mean(margins) > 3 * np.std(margins, ddof=1) / np.sqrt(len(margins)) > 0


def test_a_pool_of_bootstrap_teachers_are_distinct_samplers():
    roles = ("teacher", "teacher_2", "teacher_3", "teacher_4")
    final, outcome = run_one(spirals_point(2000, ONE_NN, "symmetric", teachers=4, teacher_data="bootstrap"))
    for a, b in itertools.combinations(roles, 2):
        disagree = float((outcome.roles[a].test_pred != outcome.roles[b].test_pred).float().mean())
        # two samplers of 30% noise from resamples sharing ~40% of S disagree on roughly a third of inputs
        assert disagree > 0.15, f"{a} and {b} train on their own resamples, so they are not copies"
    assert all(final[r]["sampler_distance"] < 0.15 for r in roles)
    assert final["student"]["test_error"] < min(final[r]["test_error"] for r in roles) - 0.05
