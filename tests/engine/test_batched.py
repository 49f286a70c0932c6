"""Training a sweep's models together gives what training each alone gives."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from engine.datasets import build_dataset
from engine.errors import ConfigError
from engine.events import PointFinished, RunFinished
from engine.metrics import DeviceData
from engine.models import Targets, build_learner
from engine.outcomes import Ledger
from engine.protocol import plan_groups
from engine.runfile import load_run
from engine.runner import expand_points, resume, run
from engine.trainers import Consumer, Job, Options, compiling
from engine.trainers.compiling import check_compile, compile_pays, compiler_available
from engine.trainers.jobs import TeacherDraws
from engine.trainers.stacked import plan_buckets, train_stacked
from engine.trainers.stacking import StackedMLP
from tests.engine.helpers import run_all, tiny_config

WIDTHS = [3, 8, 16, 40]


def jobs_for(cfg, seeds=(0, 1), widths=WIDTHS):
    """One teacher job per (seed, width); each seed has its own dataset."""
    jobs = []
    for seed in seeds:
        data = DeviceData.from_dataset(build_dataset(cfg.data, seed), torch.device("cpu"))
        for index, width in enumerate(widths):
            spec = cfg.teacher.model_copy(update={"width": width})
            n_in = data.x_train.shape[1]
            learner = build_learner(spec, cfg.train, n_in, data.n_classes, 1000 * seed + index, torch.device("cpu"))
            jobs.append(Job(learner, data, data.x_train, Targets(data.y_train), [Consumer(len(jobs), "teacher")]))
    return jobs


def train_alone(job):
    losses = list(job.learner.fit(job.x, job.targets))
    return losses, [p.detach().clone() for p in job.learner.module.parameters()]


SIGNALS = {"dataset": "gaussian_mixture", "dim": 24}  # 1-D inputs long enough for the CNN's three strided layers


@pytest.mark.parametrize(("optimizer", "family"), [("adam", "mlp"), ("sgd", "mlp"), ("adam", "cnn"), ("sgd", "cnn")])
def test_batched_training_matches_training_each_model_alone(optimizer, family):
    cfg = tiny_config(
        train={"epochs": 5, "optimizer": optimizer, "weight_decay": 1e-3, "lr": 0.02},
        teacher={"model": family},
        data=SIGNALS if family == "cnn" else {},
    )
    together, alone = jobs_for(cfg), jobs_for(cfg)
    fits = [fit for epoch in train_stacked(together, Options(), lambda: False) for fit in epoch]
    assert len(fits) == len(together) * cfg.train.epochs
    for job, reference in zip(together, alone, strict=True):
        losses, weights = train_alone(reference)
        mine = [fit.loss for fit in fits if fit.job is job]
        np.testing.assert_allclose(mine, losses, rtol=1e-4)
        for a, b in zip(job.learner.module.parameters(), weights, strict=True):
            # Adam divides by √v: where a weight's gradient is ~0, float summation order alone can move it
            # by ~1e-5 (seen once in 4800 CNN weights after 5 epochs), so atol allows a few times that
            torch.testing.assert_close(a, b, rtol=1e-4, atol=5e-5)


def test_padded_weights_stay_exactly_zero():
    cfg = tiny_config(train={"epochs": 3, "weight_decay": 1e-2})
    jobs = jobs_for(cfg, seeds=(0,))
    net = StackedMLP([j.learner.module for j in jobs])
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05, weight_decay=1e-2)
    x = jobs[0].data.x_train[:64].expand(len(jobs), -1, -1)
    for _ in range(20):
        optimizer.zero_grad()
        net(x).pow(2).mean().backward()
        optimizer.step()
    for m, width in enumerate(WIDTHS):
        assert not net.weights[0][m, :, width:].any() and not net.biases[0][m, :, width:].any()
        assert not net.weights[1][m, width:, :].any() and not net.weights[1][m, :, width:].any()
        assert not net.weights[2][m, width:, :].any()


def test_a_diverging_model_leaves_the_others_untouched():
    cfg = tiny_config(train={"epochs": 3})
    together, alone = jobs_for(cfg, seeds=(0,)), jobs_for(cfg, seeds=(0,))
    with torch.no_grad():
        next(together[1].learner.module.parameters()).fill_(math.nan)
    ledger = Ledger(list(range(len(together))), {})
    events = list(ledger.stage(together, Options(), lambda: False))
    diverged = ledger.results[1]["teacher"]
    assert diverged.diverged_at == 1 and diverged.learner is None
    assert [e.epoch for e in events if e.point == 1] == [1], "a diverged model is reported once, then dropped"
    assert math.isnan(diverged.curves["test_error"][0]) and diverged.curves["steps"] == [diverged.curves["steps"][0]]
    assert all(ledger.results[i]["teacher"].learner is together[i].learner for i in (0, 2, 3))
    for index in (0, 2, 3):
        _, weights = train_alone(alone[index])
        for a, b in zip(together[index].learner.module.parameters(), weights, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_buckets_share_small_widths_and_keep_the_widest_apart():
    cfg = tiny_config()
    jobs = jobs_for(cfg, seeds=(0,), widths=[2, 4, 8, 16, 512, 1024])
    buckets = plan_buckets(jobs, 128, torch.device("cpu"))
    widths = [[WIDTH for WIDTH in (layer_width(jobs[j]) for j in b)] for b in buckets]
    assert [2, 4, 8, 16] in widths and [1024] in widths
    assert sorted(j for b in buckets for j in b) == list(range(len(jobs)))


def layer_width(job):
    return job.learner.module[0].out_features


SWEEP = {"axis": "teacher.width", "values": [4, 8, 24], "seeds": [0, 1]}


STUDENT_SWEEP = {"axis": "student.width", "values": [4, 8, 24], "seeds": [0, 1]}
PROTOCOLS = {
    "hard": {"distill": {"mode": "hard"}},
    "soft": {"distill": {"mode": "soft", "temperature": 2.0, "chi": 0.5, "student_data": "both"}},
    "self": {"distill": {"mode": "self", "alpha": 0.5, "refine": "cumulative"}, "sweep": STUDENT_SWEEP},
    "self-ntk": {"distill": {"mode": "self", "alpha": 0.3}, "train": {"ntk_points": 40}, "sweep": STUDENT_SWEEP},
    "bootstrap-teachers": {"distill": {"teachers": 3, "teacher_data": "bootstrap", "pool_labels": "random"}},
    "split-teachers": {"distill": {"teachers": 2, "teacher_data": "split", "pool_labels": "ensemble"}},
    "best-teacher": {"distill": {"teacher_checkpoint": "best"}, "train": {"epochs": 6, "lr": 0.05}},
    "per-batch-teachers": {
        "distill": {"mode": "soft", "teachers": 3, "pool_labels": "per_batch", "chi": 0.5, "student_data": "both"}
    },
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_batched_run_equals_the_one_by_one_run(tmp_path, protocol):
    sections = {"sweep": SWEEP} | PROTOCOLS[protocol]
    train = {**tiny_config().train.model_dump(), **sections.pop("train", {})}
    cfg = tiny_config(train=train, **sections)
    assert len(plan_groups(expand_points(cfg))[0]) == 6, "the sweep's points train as one group"
    together = run_all(cfg, tmp_path / "together.h5")
    alone = run_all(tiny_config(train=train, run={"batch_models": False}, **sections), tmp_path / "a.h5")
    assert together[-1].status == alone[-1].status == "complete"
    a, b = load_run(tmp_path / "together.h5"), load_run(tmp_path / "a.h5")
    n_test = tiny_config().data.n_test
    for pa, pb in zip(a.points, b.points, strict=True):
        assert (pa.index, pa.seed, pa.values) == (pb.index, pb.seed, pb.values)
        assert pa.curves.keys() == pb.curves.keys() and {"student", "baseline"} <= pb.curves.keys()
        for role, curves in pb.curves.items():
            np.testing.assert_allclose(pa.curves[role]["train_loss"], curves["train_loss"], rtol=1e-3)
            np.testing.assert_allclose(pa.curves[role]["test_error"], curves["test_error"], atol=2.5 / n_test)
            np.testing.assert_allclose(
                pa.curves[role]["agreement"], curves["agreement"], atol=2.5 / n_test, equal_nan=True
            )
        assert pa.arrays.keys() == pb.arrays.keys()
        for name in (n for n in pb.arrays if n.startswith("ntk_")):
            np.testing.assert_allclose(pa.arrays[name], pb.arrays[name], rtol=1e-3, atol=1e-6)


def teachers_drawn(seed: int, batches: int = 300) -> list[int]:
    draws, idx = TeacherDraws(3, 10, seed), torch.arange(7)
    blocks = [draws.rows(idx) // 10 for _ in range(batches)]
    assert all(len(set(b.tolist())) == 1 for b in blocks), "a mini-batch's rows lie in one teacher's block"
    return [int(b[0]) for b in blocks]


def test_per_batch_teachers_label_each_mini_batch_with_one_teacher_from_their_own_stream():
    assert teachers_drawn(4) == teachers_drawn(4) != teachers_drawn(5)
    counts = np.bincount(teachers_drawn(4), minlength=3)
    assert counts.min() > 70, f"every teacher is drawn about a third of the time: {counts}"


def test_a_width_sweep_shares_each_seeds_baseline(tmp_path):
    run_all(tiny_config(distill={"mode": "hard"}, sweep=SWEEP), tmp_path / "shared.h5")
    points = load_run(tmp_path / "shared.h5").points
    for seed in (0, 1):
        mine = [p for p in points if p.seed == seed]
        losses = {tuple(p.curves["baseline"]["train_loss"]) for p in mine}
        assert len(losses) == 1, "one baseline per seed, whatever the teacher width"
        agreements = {tuple(p.curves["baseline"]["agreement"]) for p in mine}
        assert len(agreements) > 1, "agreement is measured against each point's own teacher"


def test_points_group_when_their_families_train_together():
    cfg = tiny_config(sweep={"axis": "teacher.width", "values": [4, 8], "axis2": "train.lr", "values2": [0.01, 0.02]})
    groups = plan_groups(expand_points(cfg))
    assert [[p.index for p in g] for g in groups] == [[0, 2], [1, 3]]
    widths = {"axis": "student.width", "values": [4, 8]}
    for modes in ({"mode": "self"}, {"teacher_data": "bootstrap", "teachers": 3}):
        assert [len(g) for g in plan_groups(expand_points(tiny_config(distill=modes, sweep=widths)))] == [2]
    alone = tiny_config(
        teacher={"model": "knn"}, student={"model": "knn"}, sweep={"axis": "data.noise", "values": [0, 0.1]}
    )
    assert [len(g) for g in plan_groups(expand_points(alone))] == [1, 1], "k-NN gains nothing from a group"
    off = tiny_config(sweep=widths, run={"batch_models": False})
    assert [len(g) for g in plan_groups(expand_points(off))] == [1, 1]


def test_a_stop_inside_a_group_keeps_no_half_trained_point_and_resume_completes_it(tmp_path):
    path = tmp_path / "stopped.h5"
    seen = []
    for event in run(tiny_config(sweep=SWEEP), path, stop=lambda: len(seen) > 10):
        seen.append(event)
    assert isinstance(seen[-1], RunFinished) and seen[-1].status == "stopped"
    assert not any(isinstance(e, PointFinished) for e in seen)
    assert load_run(path).points == []
    list(resume(path))
    done = load_run(path)
    assert done.status == "complete" and len(done.points) == 6


@pytest.mark.skipif(not compiler_available(torch.device("cpu")), reason="torch.compile needs a C++ compiler on the CPU")
def test_a_compiled_stacked_step_equals_training_alone(tmp_path):
    """One part, no smaller last batch: a single compile (about 20 s on 2 cores) covers the teacher stage."""
    sections = {
        "data": {"n_train": 128, "n_unlabeled": 256},
        "distill": {"mode": "none"},
        "sweep": {"axis": "teacher.width", "values": [4, 8], "seeds": [0]},
    }
    run_all(tiny_config(run={"compile": "on"}, **sections), tmp_path / "compiled.h5")
    run_all(tiny_config(run={"batch_models": False}, **sections), tmp_path / "alone.h5")
    a, b = load_run(tmp_path / "compiled.h5"), load_run(tmp_path / "alone.h5")
    n_test = tiny_config().data.n_test
    for pa, pb in zip(a.points, b.points, strict=True):
        for role, curves in pb.curves.items():
            np.testing.assert_allclose(pa.curves[role]["train_loss"], curves["train_loss"], rtol=1e-3)
            np.testing.assert_allclose(pa.curves[role]["test_error"], curves["test_error"], atol=2.5 / n_test)


def test_auto_compiles_only_long_cuda_runs_where_a_compiler_exists(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not compile_pays("off", 1e6, cpu) and compile_pays("on", 1.0, cpu)
    assert not compile_pays("auto", 1e6, cpu), "a compiled step saved nothing on the CPU: auto stays eager"
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(ConfigError, match="needs a C\\+\\+ compiler"):
        check_compile("on", cpu)
    monkeypatch.setattr(compiling.importlib.util, "find_spec", lambda name: object())  # Triton present
    assert compile_pays("auto", 1e6, cuda) and not compile_pays("auto", 5.0, cuda)
    monkeypatch.setattr(compiling.importlib.util, "find_spec", lambda name: None)
    assert not compile_pays("auto", 1e6, cuda), "no Triton: auto stays eager"


@pytest.fixture
def float64():
    """Double precision: the folded and the separate convolutions then sum in the same order."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_grouped_resnets_match_training_each_alone(tmp_path, optimizer, float64):
    """Same-width ResNets folded into one network's channels (per-model BatchNorm) train as they do alone.

    In float32, grouped and dense convolutions sum in different orders and BatchNorm amplifies the
    difference (8e-5 after two SGD steps on a fixture); in float64 the two agree to rounding.
    """
    from engine.trainers.grouped import train_folded
    from tests.engine.image_fixtures import write_mnist

    write_mnist(tmp_path, n_train=48, n_test=16)
    cfg = tiny_config(
        data={"dataset": "mnist", "root": str(tmp_path), "n_train": 32, "n_val": 8, "n_test": 16, "n_unlabeled": 8},
        teacher={"model": "resnet18", "width": 2},
        train={"epochs": 2, "batch_size": 16, "augment": True, "optimizer": optimizer, "weight_decay": 1e-3},
    )

    def jobs():
        data = DeviceData.from_dataset(build_dataset(cfg.data, 0), torch.device("cpu"))
        data = dataclasses.replace(data, **{k: getattr(data, k).double() for k in ("x_train", "x_val", "x_test")})
        learners = [build_learner(cfg.teacher, cfg.train, 784, 10, seed, torch.device("cpu")) for seed in (5, 6)]
        return [
            Job(lr, data, data.x_train, Targets(data.y_train), [Consumer(m, "teacher")])
            for m, lr in enumerate(learners)
        ]

    together, alone = jobs(), jobs()
    fits = [fit for epoch in train_folded(together, Options(), lambda: False) for fit in epoch]
    for job, reference in zip(together, alone, strict=True):
        losses = list(reference.learner.fit(reference.x, reference.targets))
        np.testing.assert_allclose([fit.loss for fit in fits if fit.job is job], losses, rtol=1e-9)
        mine, theirs = job.learner.module.state_dict(), reference.learner.module.state_dict()
        for name, value in theirs.items():
            torch.testing.assert_close(mine[name], value, rtol=1e-9, atol=1e-9, msg=name)
