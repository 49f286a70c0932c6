"""The analysis of finished points: means over seeds per swept value, the second axis, the interpolation
threshold, the two-axis grid, and what a loaded run file adds (best epochs, Bayes error, references)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import Axis
from engine.results import PointResult, Results, interpolation_threshold
from engine.runfile import PointRecord, RunData


def point(index: int, seed: int, values: dict, teacher: float, train: float = 0.1, **roles) -> PointResult:
    """A point whose teacher has test error `teacher` and train error `train`; other roles' test errors."""
    final = {"teacher": {"test_error": teacher, "train_error": train}}
    final |= {role: {"test_error": error} for role, error in roles.items()}
    return PointResult(index, seed, values, final)


def width_sweep(dataset: str = "moons", axis: str = "teacher.width") -> Results:
    """Widths 4, 8, 16 over seeds 0 and 1; the teacher fits its labels from width 8 on."""
    points = [
        point(2 * i + seed, seed, {axis: w}, teacher=0.1 * (i + 1) + 0.02 * seed, train=0.0 if w >= 8 else 0.2)
        for i, w in enumerate((4, 8, 16))
        for seed in (0, 1)
    ]
    return Results([Axis(axis, (4.0, 8.0, 16.0))], dataset, points)


def noise_grid() -> Results:
    """Widths 4 and 8 × noise 0 and 0.2, two seeds; the cell (8, 0.2) has not finished yet."""
    cells = [(4, 0.0), (4, 0.2), (8, 0.0)]
    points = [
        point(len(cells) * seed + i, seed, {"teacher.width": w, "data.noise": n}, teacher=w / 100 + n + 0.01 * seed)
        for seed in (0, 1)
        for i, (w, n) in enumerate(cells)
    ]
    return Results([Axis("teacher.width", (4.0, 8.0)), Axis("data.noise", (0.0, 0.2))], "moons", points)


def test_the_threshold_is_the_first_size_that_fits_all_but_one_example_in_500():
    sizes = [4, 8, 16, 32, 64]
    assert interpolation_threshold(sizes, [0.3, 0.1, 0.005, 0.001, 0.0]) == 32, "2 misfits in 400 do not count"
    assert interpolation_threshold(sizes[::-1], [0.0, 0.001, 0.005, 0.1, 0.3]) == 32, "order does not matter"
    assert interpolation_threshold(sizes, [0.3] * 5) is None


def test_sweep_stats_are_the_mean_and_std_over_seeds_per_value_sorted():
    results = width_sweep()
    results.points.reverse()
    xs, mean, std = results.sweep_stats("teacher")
    assert list(xs) == [4, 8, 16]
    assert mean == pytest.approx([0.11, 0.21, 0.31])
    assert std == pytest.approx([0.01, 0.01, 0.01])


def test_non_finite_values_and_missing_roles_are_left_out():
    results = width_sweep()
    results.points.append(point(6, 2, {"teacher.width": 4}, teacher=math.nan, theory=0.5))
    xs, mean, _ = results.sweep_stats("teacher")
    assert mean[0] == pytest.approx(0.11), "a NaN does not spoil the mean of its value"
    xs, mean, _ = results.sweep_stats("theory")
    assert list(xs) == [4] and list(mean) == [0.5], "a role draws only the values it has"
    assert [len(a) for a in results.sweep_stats("student")] == [0, 0, 0]


def test_a_second_axis_splits_the_points_or_pools_them():
    results = noise_grid()
    assert results.second_values() == [0.0, 0.2]
    xs, mean, std = results.sweep_stats("teacher", second=0.2)
    assert list(xs) == [4] and mean == pytest.approx([0.245]) and std == pytest.approx([0.005])
    xs, mean, _ = results.sweep_stats("teacher")
    assert list(xs) == [4, 8] and mean[0] == pytest.approx(np.mean([0.04, 0.05, 0.24, 0.25])), "pooled"


def test_one_second_axis_value_draws_one_curve():
    results = noise_grid()
    results.axes[1] = Axis("data.noise", (0.2,))
    assert results.second_values() == [None]
    assert width_sweep().second_values() == [None]


@pytest.mark.parametrize(
    ("axis", "dataset", "threshold"),
    [
        ("teacher.width", "moons", 8.0),
        ("data.dim", "linear_regression", 8.0),
        ("data.dim", "gaussian_mixture", None),
        ("data.n_unlabeled", "moons", None),
        ("distill.alpha", "moons", None),
    ],
)
def test_the_threshold_is_only_read_on_an_axis_that_sizes_the_teacher(axis, dataset, threshold):
    assert width_sweep(dataset, axis).interpolation_threshold() == threshold


def test_grid_values_are_means_over_seeds_with_nan_where_no_point_finished():
    grid = noise_grid().grid_values("teacher")
    assert grid.shape == (2, 2)
    assert grid[0] == pytest.approx([0.045, 0.245])
    assert grid[1, 0] == pytest.approx(0.085) and math.isnan(grid[1, 1])
    assert np.isnan(noise_grid().grid_values("student")).all()
    assert width_sweep().grid_values("teacher").shape == (0, 0), "one axis has no grid"


def test_points_group_by_their_swept_values_seeds_together():
    groups = noise_grid().by_value()
    assert list(groups) == [(4, 0.0), (4, 0.2), (8, 0.0)]
    assert [p.seed for p in groups[4, 0.2]] == [0, 1]


def curves(test_error: list[float], val_error: list[float] | None = None) -> dict[str, np.ndarray]:
    epochs = len(test_error)
    val = val_error if val_error is not None else [math.nan] * epochs
    return {"epoch": np.arange(1.0, epochs + 1), "test_error": np.array(test_error), "val_error": np.array(val)}


def test_a_run_file_gives_best_epochs_roles_in_order_bayes_error_and_the_references_metric():
    sweep = {"axis": "data.dim", "values": [2, 4], "axis2": "", "values2": [], "seeds": [0]}
    config = {"run": {"name": "r"}, "data": {"dataset": "gaussian_mixture"}, "sweep": sweep}
    records = [
        PointRecord(
            i,
            0,
            {"data.dim": dim},
            {
                "student": curves([0.4, 0.3]),
                "teacher": curves([0.3, 0.2, 0.25], [0.3, 0.1, 0.2]),
                "bayes_teacher": {"epoch": np.ones(1), "test_error": np.full(1, 0.05), "test_loss": np.full(1, np.nan)},
            },
            attrs={"bayes_error": bayes},
        )
        for i, (dim, bayes) in enumerate(((2, 0.1), (4, 0.2)))
    ]
    results = Results.from_run(RunData("r.h5", {}, config, "complete", records))
    assert results.keys == ["data.dim"] and results.axes[0].values == (2.0, 4.0)
    assert results.roles == ["teacher", "student", "bayes_teacher"]
    assert results.bayes_error == pytest.approx(0.15)
    assert results.reference_metric() == "test_error"
    assert results.points[0].final_value("teacher", "best_test_error") == pytest.approx(0.2)
    assert "best_test_error" in results.metrics and results.metrics[0] == "test_error"
    assert results.interpolation_threshold() is None, "the mixture's dimension does not size its teacher"


def test_the_references_metric_is_the_one_most_references_predict_not_a_fits_train_loss():
    """Hastie's theory predicts excess_risk; the ridgeless fit beside it also records a train loss."""
    sweep = {"axis": "data.dim", "values": [10], "axis2": "", "values2": [], "seeds": [0]}
    config = {"run": {"name": "r"}, "data": {"dataset": "linear_regression"}, "sweep": sweep}
    one = np.ones(1)
    roles = {
        "ridgeless": {"epoch": one, "train_loss": 0.1 * one, "excess_risk": 0.3 * one},
        "theory": {"epoch": one, "excess_risk": 0.25 * one},
        "teacher": curves([0.2]),
    }
    records = [PointRecord(0, 0, {"data.dim": 10}, roles, attrs={})]
    assert Results.from_run(RunData("r.h5", {}, config, "complete", records)).reference_metric() == "excess_risk"


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(
        st.tuples(st.sampled_from([1.0, 2.0, 5.0]), st.sampled_from([0.0, 0.5]), st.floats(0, 1) | st.just(math.nan)),
        max_size=40,
    )
)
def test_columnar_means_equal_a_plain_average_of_the_points(cells):
    """sweep_stats and grid_values (numpy over columns) give what averaging the points one by one gives."""
    points = [point(i, i % 3, {"teacher.width": w, "data.noise": n}, teacher=e) for i, (w, n, e) in enumerate(cells)]
    results = Results([Axis("teacher.width", (1.0, 2.0, 5.0)), Axis("data.noise", (0.0, 0.5))], "moons", [])
    for p in points:  # points arrive one at a time, as in a live run
        results.points.append(p)
        results.columns()
    for second in (None, 0.0, 0.5):
        xs, mean, std = results.sweep_stats("teacher", "test_error", second)
        for x, m, s in zip(xs, mean, std, strict=True):
            plain = [e for w, n, e in cells if w == x and (second is None or n == second) and np.isfinite(e)]
            assert m == pytest.approx(np.mean(plain)) and s == pytest.approx(np.std(plain), abs=1e-12)
        assert len(xs) == len({w for w, n, e in cells if (second is None or n == second) and np.isfinite(e)})
    grid = results.grid_values("teacher")
    for i, w in enumerate((1.0, 2.0, 5.0)):
        for j, n in enumerate((0.0, 0.5)):
            plain = [e for x, y, e in cells if (x, y) == (w, n) and np.isfinite(e)]
            assert grid[i, j] == pytest.approx(np.mean(plain)) if plain else np.isnan(grid[i, j])
