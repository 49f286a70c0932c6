"""Datasets: shapes, reproducibility, measured noise rates and validation of user files."""

import h5py
import numpy as np
import pytest

from engine.config import DataConfig
from engine.datasets import DATASETS, build_dataset, transition_matrix
from engine.datasets.gaussian_mixture import bayes_optimal_error
from engine.datasets.noise import corrupt_labels, pair_target
from engine.errors import DataFileError


def small(dataset: str, **kw) -> DataConfig:
    base = {"dataset": dataset, "n_train": 200, "n_test": 100, "n_unlabeled": 300, "noise": 0.2, "dim": 20}
    return DataConfig(**(base | kw))


@pytest.mark.parametrize(
    "name", ["clusters", "gaussian_mixture", "linear_regression", "mnist1d", "moons", "spirals", "two_scales"]
)
def test_generated_datasets_have_requested_sizes_and_are_reproducible(name):
    data = build_dataset(small(name), seed=3)
    assert (len(data.x_train), len(data.x_test), len(data.x_pool)) == (200, 100, 300)
    assert data.x_train.shape[1] == data.x_test.shape[1] == data.x_pool.shape[1] == data.dim
    assert data.x_train.dtype == np.float32 and np.isfinite(data.x_train).all()
    assert set(np.unique(data.y_test)) <= set(range(data.n_classes))
    again = build_dataset(small(name), seed=3)
    assert np.array_equal(again.x_train, data.x_train) and np.array_equal(again.y_train, data.y_train)
    other = build_dataset(small(name), seed=4)
    assert not np.array_equal(other.x_train, data.x_train)


def test_growing_the_pool_leaves_train_and_test_unchanged():
    a, b = build_dataset(small("moons"), 0), build_dataset(small("moons", n_unlabeled=900), 0)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.x_test, b.x_test)


def test_noise_touches_training_labels_only_and_keeps_clean_ones():
    data = build_dataset(small("spirals", n_train=2000, noise=0.3), 0)
    rate = data.noisy_mask.mean()
    assert 0.26 < rate < 0.34
    assert data.y_train_clean.shape == data.y_train.shape


@pytest.mark.parametrize("kind", ["symmetric", "pairflip"])
@pytest.mark.parametrize("rate", [0.0, 0.15, 0.4])
def test_measured_noise_matches_the_transition_matrix(kind, rate):
    classes = 5
    clean = np.repeat(np.arange(classes), 8000)
    noisy = corrupt_labels(clean, classes, rate, kind, np.random.default_rng(1))
    measured = np.zeros((classes, classes))
    np.add.at(measured, (clean, noisy), 1)
    measured /= measured.sum(1, keepdims=True)
    expected = transition_matrix(classes, rate, kind)
    assert np.allclose(expected.sum(1), 1)
    assert np.abs(measured - expected).max() < 0.015
    assert abs((noisy != clean).mean() - rate) < 0.01
    if kind == "pairflip" and rate > 0:
        flipped = noisy != clean
        assert np.array_equal(noisy[flipped], pair_target(classes)[clean[flipped]])


GENERATED = ["clusters", "gaussian_mixture", "linear_regression", "mnist1d", "moons", "spirals", "two_scales"]
SIGMAS = 4.5  # a binomial or correlation check at 4.5 standard errors fails by chance about once in 150 000


def noisy_splits(name: str, rate: float, kind: str):
    """A large dataset's (clean labels, noisy labels, inputs) for its training and validation splits."""
    n = 4000 if name == "mnist1d" else 20_000
    cfg = small(name, n_train=n, n_val=n, n_test=1, n_unlabeled=0, noise=rate, noise_kind=kind, dim=10)
    data = build_dataset(cfg, seed=7)
    return [
        (data.y_train_clean, data.y_train, data.x_train, data.transition),
        (data.y_val_clean, data.y_val, data.x_val, data.transition),
    ]


@pytest.mark.parametrize("kind", ["symmetric", "pairflip"])
@pytest.mark.parametrize("rate", [0.1, 0.3])
@pytest.mark.parametrize("name", GENERATED)
def test_label_noise_flips_each_class_at_the_rate_of_the_transition_matrix(name, rate, kind):
    """Per class, the given labels follow T's row within binomial error, on S and on the validation split."""
    for clean, noisy, _, transition in noisy_splits(name, rate, kind):
        for c in np.unique(clean):
            given = noisy[clean == c]
            measured = np.bincount(given, minlength=len(transition)) / len(given)
            error = np.sqrt(transition[c] * (1 - transition[c]) / len(given))
            assert np.all(np.abs(measured - transition[c]) <= SIGMAS * error + 1e-12), (c, measured, transition[c])


@pytest.mark.parametrize("kind", ["symmetric", "pairflip"])
@pytest.mark.parametrize("name", GENERATED)
def test_label_flips_are_independent_of_the_inputs_and_of_other_examples(name, kind):
    """Whether a label flips is uncorrelated with the example's own features and labels and its neighbours'."""
    for clean, noisy, x, _ in noisy_splits(name, 0.3, kind):
        flips = (noisy != clean).astype(float)
        n = len(flips)
        inputs = x / np.maximum(x.std(0), 1e-12)
        for lag in range(4):  # lag 0: the example itself; 1-3: the examples drawn just before it
            shifted = flips[lag:]
            drawn = np.column_stack([inputs[: n - lag], clean[: n - lag]])
            corr = np.array([np.corrcoef(shifted, column)[0, 1] for column in drawn.T if column.std() > 0])
            assert np.all(np.abs(corr) < SIGMAS / np.sqrt(n - lag)), (lag, np.abs(corr).max())


def test_gaussian_mixture_bayes_error_matches_monte_carlo_of_the_bayes_classifier():
    cfg = small("gaussian_mixture", n_train=10, n_test=200_000, dim=50, rho=0.2, delta=1.0, noise=0.0)
    data = build_dataset(cfg, 0)
    v = data.x_test[data.y_test == 1].mean(0) - data.x_test[data.y_test == 0].mean(0)  # ≈ 2v/√d
    score = data.x_test @ (v / 2)
    bias = 0.5 * np.log(0.2 / 0.8)
    error = ((score + bias > 0).astype(int) != data.y_test).mean()
    assert data.bayes_error == pytest.approx(bayes_optimal_error(0.2, 1.0))
    assert abs(error - data.bayes_error) < 0.01


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def good_arrays(n=400, dim=3):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return {"X": x, "y": (x[:, 0] > 0).astype(np.int64)}


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_user_file_is_split_into_train_test_and_pool(tmp_path, suffix):
    path = tmp_path / f"mine{suffix}"
    if suffix == ".npz":
        write_npz(path, **good_arrays())
    else:
        with h5py.File(path, "w") as f:
            for k, v in good_arrays().items():
                f[k] = v
    cfg = small("file", path=str(path), n_train=100, n_test=100, n_unlabeled=150, n_val=50, noise=0.1)
    data = build_dataset(cfg, 0)
    sizes = (len(data.x_train), len(data.x_val), len(data.x_test), len(data.x_pool), data.n_classes)
    assert sizes == (100, 50, 100, 150, 2)
    rows = {tuple(x) for part in (data.x_train, data.x_val, data.x_test, data.x_pool) for x in part.tolist()}
    assert len(rows) == 400, "S, validation, test and pool are disjoint parts of the file"
    smaller_val = build_dataset(cfg.model_copy(update={"n_val": 10}), 0)
    assert np.array_equal(smaller_val.x_train, data.x_train), "S does not depend on the validation size"


def test_a_folder_given_as_data_file_is_named_as_a_folder(tmp_path):
    with pytest.raises(DataFileError, match="is a folder; name an .npz or .h5 file"):
        build_dataset(small("file", path=str(tmp_path)), 0)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.zeros((10, 2))}, "missing array 'y'"),
        ({"X": np.full((400, 2), np.nan), "y": np.zeros(400, int) + np.arange(400) % 2}, "NaN"),
        ({"X": np.zeros(400), "y": np.arange(400) % 2}, "shape (n, features)"),
        ({"X": np.zeros((400, 2)), "y": np.arange(399) % 2}, "one label per example"),
        ({"X": np.zeros((400, 2)), "y": np.arange(400) % 2 - 1}, "outside the allowed range"),
        ({"X": np.zeros((400, 2)), "y": np.zeros(400, int)}, "single class"),
        ({"X": np.zeros((400, 2)), "y": np.arange(400) * 0.5}, "integer class labels"),
        ({"X": np.zeros((50, 2)), "y": np.arange(50) % 2}, "too few"),
    ],
)
def test_broken_user_files_get_one_clear_message(tmp_path, arrays, message):
    path = write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataFileError) as err:
        build_dataset(small("file", path=str(path), n_train=100, n_test=100, n_unlabeled=150), 0)
    assert message in str(err.value) and "bad.npz" in str(err.value)


def test_unreadable_and_missing_files_are_reported(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    with pytest.raises(DataFileError, match="could not be read"):
        build_dataset(small("file", path=str(garbage)), 0)
    with pytest.raises(DataFileError, match="does not exist"):
        build_dataset(small("file", path=str(tmp_path / "nope.npz")), 0)


def test_two_scales_slow_block_is_scaled_and_holds_its_share_of_the_class_mean():
    cfg = small("two_scales", n_train=20_000, noise=0.0, dim=30, slow_dim=5, slow_scale=0.1, slow_share=0.8, signal=3.0)
    data = build_dataset(cfg, seed=1)
    x, sign = data.x_train.astype(np.float64), 2.0 * data.y_train - 1
    mean = (sign[:, None] * x).mean(0)  # estimates μ ⊙ scale
    assert np.allclose(x[:, :25].std(0) ** 2 - mean[:25] ** 2, 1, atol=0.05)
    assert np.allclose(x[:, 25:].std(0) ** 2 - mean[25:] ** 2, 0.01, atol=0.0005)
    assert np.sum((mean[25:] / 0.1) ** 2) == pytest.approx(0.8 * 9, rel=0.05)
    assert data.bayes_error == pytest.approx(0.00135, abs=1e-5)


def test_every_registered_dataset_is_tested():
    from engine.config import IMAGE_DATASETS  # read from disk: tests/engine/test_images.py

    assert set(DATASETS.names()) == {*GENERATED, "file", *IMAGE_DATASETS}


def test_named_random_streams_differ_even_where_their_names_byte_sums_collide():
    from engine.seeds import stream_rng, stream_seed

    assert sum(b"noise") == sum(b"train"), "the pair that once shared a stream"
    assert stream_rng(0, "data/noise").random() != stream_rng(0, "data/train").random()
    seeds = {stream_seed(seed, name) for seed in range(50) for name in ("a", "b", "ab", "ba", "role/teacher")}
    assert len(seeds) == 250
    assert stream_seed(2**31 - 1, "mnist1d/train", bits=32) < 2**32, "large seeds stay within numpy's legacy range"
