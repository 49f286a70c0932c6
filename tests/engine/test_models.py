"""Each model family learns an easy task; closed-form ridgeless fits interpolate."""

import numpy as np
import pytest
import torch

from engine.config import DataConfig, ModelConfig, TrainConfig
from engine.datasets import build_dataset
from engine.models import FAMILIES, Targets, build_learner
from engine.models.base import Refinement

CPU = torch.device("cpu")


def tensors(data):
    return [torch.from_numpy(a) for a in (data.x_train, data.y_train, data.x_test, data.y_test)]


def fit_and_test(spec: ModelConfig, data, train: TrainConfig | None = None) -> tuple[float, float]:
    train = train or TrainConfig(epochs=40, lr=0.01, batch_size=32)
    x, y, xt, yt = tensors(data)
    learner = build_learner(spec, train, x.shape[1], data.n_classes, seed=0, device=CPU)
    losses = list(learner.fit(x, Targets(y)))
    assert len(losses) == (train.epochs if learner.iterative else 1) and np.isfinite(losses).all()
    train_error = float((learner.predict_logits(x).argmax(1) != y).float().mean())
    return train_error, float((learner.predict_logits(xt).argmax(1) != yt).float().mean())


MOONS = DataConfig(dataset="moons", n_train=300, n_test=500, n_unlabeled=0, noise=0.0, input_noise=0.1)


@pytest.mark.parametrize(
    "spec",
    [
        ModelConfig(model="mlp", width=32, depth=2),
        ModelConfig(model="random_features", width=500, ridge=1e-3),
        ModelConfig(model="kernel", width=300, kernel="rbf", bandwidth=0.3, ridge=1e-3),
        ModelConfig(model="kernel", width=300, kernel="laplace", ridge=0.0),
        ModelConfig(model="knn", k=5),
    ],
    ids=lambda s: f"{s.model}-{s.kernel if s.model == 'kernel' else s.width}",
)
def test_family_learns_two_moons(spec):
    _, test_error = fit_and_test(spec, build_dataset(MOONS, 0))
    assert test_error < 0.08


def test_linear_logistic_approaches_the_bayes_error_of_a_gaussian_mixture():
    cfg = DataConfig(dataset="gaussian_mixture", dim=20, n_train=4000, n_test=4000, noise=0.0, rho=0.3, delta=0.5)
    data = build_dataset(cfg, 0)
    _, test_error = fit_and_test(ModelConfig(model="linear", ridge=1e-3), data)
    assert test_error < data.bayes_error + 0.02


def test_linear_least_squares_and_frozen_weights():
    cfg = DataConfig(dataset="gaussian_mixture", dim=40, n_train=2000, n_test=2000, noise=0.0)
    data = build_dataset(cfg, 0)
    _, test_error = fit_and_test(ModelConfig(model="linear", ridge=1.0), data, TrainConfig(loss="mse"))
    assert test_error < data.bayes_error + 0.05
    x, y, *_ = tensors(data)
    half = build_learner(ModelConfig(model="linear", trainable_fraction=0.5), TrainConfig(), 40, 2, 0, CPU)
    list(half.fit(x, Targets(y)))
    assert half.w.shape[0] == 20, "only η·d weights train; the rest are fixed at 0"


def test_cnn_learns_mnist1d_well_above_chance():
    data = build_dataset(DataConfig(dataset="mnist1d", n_train=1000, n_test=500, n_unlabeled=0, noise=0.0), 0)
    _, test_error = fit_and_test(ModelConfig(model="cnn", width=32), data, TrainConfig(epochs=15, lr=3e-3))
    assert test_error < 0.6  # chance is 0.9


@pytest.mark.parametrize(
    "spec",
    [
        ModelConfig(model="random_features", width=600, ridge=0.0),
        ModelConfig(model="kernel", width=200, kernel="laplace"),
    ],
)
def test_ridgeless_closed_form_interpolates_noisy_labels(spec):
    data = build_dataset(MOONS.model_copy(update={"n_train": 200, "noise": 0.3}), 0)
    train_error, _ = fit_and_test(spec, data)
    assert train_error == 0.0


def test_one_nearest_neighbour_memorizes_its_training_labels():
    data = build_dataset(MOONS.model_copy(update={"noise": 0.3}), 0)
    train_error, test_error = fit_and_test(ModelConfig(model="knn", k=1), data)
    assert train_error == 0.0 and test_error > 0.2  # a sampler: it reproduces the noise on fresh inputs


def test_soft_targets_are_fit_by_gradient_families():
    data = build_dataset(MOONS, 0)
    x, y, xt, yt = tensors(data)
    soft = torch.nn.functional.one_hot(y, 2).double() * 0.8 + 0.1
    targets = Targets(torch.full_like(y, -1), soft, torch.ones(len(y)), temperature=2.0)
    learner = build_learner(
        ModelConfig(model="mlp", width=32), TrainConfig(epochs=40, lr=0.01, batch_size=32), 2, 2, 0, CPU
    )
    list(learner.fit(x, targets))
    assert float((learner.predict_logits(xt).argmax(1) != yt).float().mean()) < 0.08


def test_same_seed_gives_the_same_model():
    data = build_dataset(MOONS, 0)
    x, y, xt, _ = tensors(data)
    outputs = []
    for _ in range(2):
        learner = build_learner(ModelConfig(model="mlp", width=16), TrainConfig(epochs=3), 2, 2, 7, CPU)
        list(learner.fit(x, Targets(y)))
        outputs.append(learner.predict_logits(xt))
    assert torch.equal(*outputs)


def test_every_family_is_tested():
    # resnet18: tests/engine/test_images.py and the grouped agreement test in test_batched.py
    assert set(FAMILIES.names()) == {"mlp", "cnn", "random_features", "kernel", "knn", "linear", "resnet18"}


def test_cumulative_refinement_lets_the_given_labels_fade_while_fixed_keeps_them():
    data = build_dataset(MOONS, 0)
    x, y, *_ = tensors(data)
    learner = build_learner(ModelConfig(model="mlp", width=8), TrainConfig(epochs=1), 2, 2, 0, CPU)
    onehot = torch.nn.functional.one_hot(y, 2).double()
    logits = learner.predict_logits(x)
    probs = torch.softmax(logits.double(), 1)
    for rule, kept in (("fixed", [0.8, 0.8]), ("cumulative", [0.8, 0.64])):
        refine, targets = Refinement(0.2, 1.0, rule), Targets(y)
        for share in kept:
            targets = refine.next(targets, logits)
            expected = share * onehot + (1 - share) * probs
            assert torch.allclose(targets.distribution(2), expected, atol=1e-6), rule
