"""A width sweep's random-features fits from one factorization equal the fits done one by one."""

import pytest
import torch

from engine.config import ModelConfig, TrainConfig
from engine.metrics import DeviceData
from engine.models import Targets, build_learner
from engine.models.closed_form import ridge_solve
from engine.trainers import Consumer, Job, Options
from engine.trainers.nested import nested_solve, train_nested

WIDTHS = [5, 20, 59, 60, 61, 90, 300]


def problem(n=60, d=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    return x, torch.randint(3, (n,), generator=gen)


@pytest.mark.parametrize("ridge", [0.0, 1e-3])
def test_nested_solutions_match_each_width_solved_alone(ridge):
    x, _ = problem()
    gen = torch.Generator().manual_seed(1)
    features = torch.relu(x @ torch.randn(7, max(WIDTHS), generator=gen, dtype=torch.float64) + 0.3)
    y = torch.randn(len(x), 4, generator=gen, dtype=torch.float64)
    betas = nested_solve(features, y, WIDTHS, dict.fromkeys(WIDTHS, ridge))
    for p in WIDTHS:
        alone = ridge_solve(features[:, :p], y, ridge)
        # predictions are what a user sees; near p = n the coefficients themselves are ill-conditioned
        torch.testing.assert_close(features[:, :p] @ betas[p], features[:, :p] @ alone, rtol=1e-6, atol=1e-6)


def test_rank_deficient_widths_fall_back_to_the_pseudo_inverse():
    x, _ = problem()
    features = torch.relu(torch.cat([x, x, -x], 1))  # repeated columns: F[:, :14] has rank 7
    y = torch.randn(len(x), 2, dtype=torch.float64)
    betas = nested_solve(features, y, [3, 14, 21], {3: 0.0, 14: 0.0, 21: 0.0})
    for p in (3, 14, 21):
        torch.testing.assert_close(betas[p], ridge_solve(features[:, :p], y, 0.0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ridge", [0.0, 1e-2])
def test_a_random_features_sweep_solved_together_predicts_like_each_model_fit_alone(ridge):
    x, labels = problem()
    x32 = x.float()
    data = DeviceData(x32, labels, labels, x32, labels, x32[:0], x32[:5], labels[:5], 3)
    together, alone = [], []
    for width in WIDTHS:
        spec = ModelConfig(model="random_features", width=width, ridge=ridge)
        together.append(build_learner(spec, TrainConfig(), 7, 3, 42, torch.device("cpu")))
        alone.append(build_learner(spec, TrainConfig(), 7, 3, 42, torch.device("cpu")))
    targets = Targets(labels)
    jobs = [Job(learner, data, x32, targets, [Consumer(i, "teacher")]) for i, learner in enumerate(together)]
    (fits,) = list(train_nested(jobs, Options(), lambda: False))
    assert [fit.job for fit in fits] == jobs, "one factorization: every width reported in one batch"
    for fit, a, b in zip(fits, together, alone, strict=True):
        loss = next(b.fit(x32, targets))
        torch.testing.assert_close(a.predict_logits(x32), b.predict_logits(x32), rtol=1e-4, atol=1e-4)
        assert fit.loss == pytest.approx(loss, rel=1e-4, abs=1e-6)


def test_random_features_are_nested_across_widths():
    spec = ModelConfig(model="random_features", width=700)
    wide = build_learner(spec, TrainConfig(), 7, 3, 5, torch.device("cpu"))
    narrow = build_learner(spec.model_copy(update={"width": 300}), TrainConfig(), 7, 3, 5, torch.device("cpu"))
    x, _ = problem()
    wide.prepare(x)
    narrow.prepare(x)
    assert torch.equal(wide.raw_features(x)[:, :300], narrow.raw_features(x))


def test_dead_features_get_zero_weight_without_spoiling_wider_fits():
    x, _ = problem()
    features = torch.relu(x @ torch.randn(7, 30, dtype=torch.float64))
    features[:, 3] = 0  # a feature that no training input activates
    y = torch.randn(len(x), 2, dtype=torch.float64)
    betas = nested_solve(features, y, [2, 10, 30], dict.fromkeys([2, 10, 30], 0.0))
    for p in (2, 10, 30):
        torch.testing.assert_close(betas[p], ridge_solve(features[:, :p], y, 0.0), rtol=1e-6, atol=1e-8)
    assert betas[30][3].abs().max() == 0


def test_a_nearly_singular_wide_fit_keeps_the_directions_a_fit_alone_keeps():
    gen = torch.Generator().manual_seed(0)
    n, p = 40, 60
    u, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(p, n, generator=gen, dtype=torch.float64))
    features = u @ torch.diag(torch.logspace(0, -12, n, dtype=torch.float64)) @ v.T  # singular values 1 … 1e-12
    y = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    beta = nested_solve(features, y, [p], {p: 0.0})[p]
    alone = ridge_solve(features, y, 0.0)
    torch.testing.assert_close(features @ beta, features @ alone, rtol=1e-6, atol=1e-6)


def test_a_random_features_width_sweep_solves_each_seeds_teachers_together(tmp_path, monkeypatch):
    import engine.trainers.nested as nested
    from engine.runner import run
    from tests.engine.helpers import tiny_config

    sizes, solve = [], nested.solved_fits
    monkeypatch.setattr(nested, "solved_fits", lambda jobs: sizes.append(len(jobs)) or solve(jobs))
    cfg = tiny_config(
        teacher={"model": "random_features", "width": 10},
        student={"model": "knn", "k": 3},
        sweep={"axis": "teacher.width", "values": [5, 20, 80], "seeds": [0, 1]},
    )
    list(run(cfg, tmp_path / "rf.h5"))
    assert sizes == [3, 3], "one factorization per seed for its three teacher widths"
