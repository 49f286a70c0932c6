"""Image datasets from torchvision's on-disk layouts, noisy-label files, augmentation and the tiny ResNet preset."""

import pickle

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.config import DataConfig
from engine.datasets import build_dataset
from engine.datasets.image_files import ArrayUnpickler
from engine.errors import ConfigError, DataFileError
from engine.models.augment import PADDING, Augment
from engine.models.resnet import ResNet18
from engine.presets import load_preset
from engine.runfile import load_run
from tests.engine.helpers import run_all, tiny_config
from tests.engine.image_fixtures import write_cifar10, write_cifar100, write_mnist

SIZES = {"n_train": 50, "n_val": 20, "n_unlabeled": 30, "n_test": 40, "noise": 0.2}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    write_cifar10(folder)
    write_cifar100(folder)
    write_mnist(folder, gz=True)
    write_mnist(folder, "FashionMNIST", gz=False)
    return folder


def rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


@pytest.mark.parametrize(
    ("name", "dim", "classes"),
    [("cifar10", 3072, 10), ("cifar100", 3072, 100), ("mnist", 784, 10), ("fashion_mnist", 784, 10)],
)
def test_each_layout_reads_into_disjoint_normalized_splits(root, name, dim, classes):
    data = build_dataset(DataConfig(dataset=name, root=str(root), **SIZES), seed=1)
    assert data.x_train.shape == (50, dim) and data.x_val.shape == (20, dim) and data.x_pool.shape == (30, dim)
    assert data.x_test.shape == (40, dim) and data.n_classes == classes and data.x_train.dtype == np.float32
    assert abs(float(data.x_train.mean())) < 1.5 and 0.3 < float(data.x_train.std()) < 2, "standardized per channel"
    train, val, pool = rows(data.x_train), rows(data.x_val), rows(data.x_pool)
    assert not (train & val or train & pool or val & pool), "S, validation and pool are different training images"
    again = build_dataset(DataConfig(dataset=name, root=str(root), **(SIZES | {"n_val": 5, "n_unlabeled": 0})), 1)
    assert np.array_equal(again.x_train, data.x_train), "S does not change with n_val or n_unlabeled"


def test_a_missing_folder_names_the_path_and_files_and_the_cli_exits_2(tmp_path, capsys, monkeypatch):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"")
    with pytest.raises(
        DataFileError, match="missing: data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch"
    ):
        build_dataset(DataConfig(dataset="cifar10", root=str(tmp_path), **SIZES), 0)
    monkeypatch.setenv("DDX_DATA_ROOT", str(tmp_path / "nowhere"))
    argv = ["run", "resnet-mnist-tiny", "--out", str(tmp_path / "r.h5"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in err and "train-images-idx3-ubyte" in err


def test_a_truncated_idx_file_says_what_its_header_promised_and_the_cli_exits_2(tmp_path, capsys, monkeypatch):
    raw = write_mnist(tmp_path, n_train=200, gz=False)
    images = raw / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-1000])
    held = 200 * 28 * 28 - 1000
    message = f"{images}: header promises (200, 28, 28) values, the file holds {held}"
    with pytest.raises(DataFileError) as err:
        build_dataset(DataConfig(dataset="mnist", root=str(tmp_path), **SIZES), 0)
    assert str(err.value) == message
    monkeypatch.setenv("DDX_DATA_ROOT", str(tmp_path))
    assert main(["run", "resnet-mnist-tiny", "--out", str(tmp_path / "r.h5"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "np.int" not in err and "Traceback" not in err


@pytest.mark.parametrize(("name", "write"), [("cifar10", write_cifar10), ("cifar100", write_cifar100)])
def test_cifar_batches_pickled_by_python_2_as_the_real_files_read_like_python_3_ones(tmp_path, name, write):
    import pickletools

    folder = write(tmp_path / "py2", python2=True)
    write(tmp_path / "py3")
    first = next(p for p in sorted(folder.iterdir()))
    ops = {(op.name, arg if "GLOBAL" in op.name else None) for op, arg, _ in pickletools.genops(first.read_bytes())}
    assert ("SHORT_BINSTRING", None) in ops and ("BINSTRING", None) in ops, "keys and image data as Python 2 str"
    assert not any("UNICODE" in op or "BYTES" in op for op, _ in ops) and ("GLOBAL", "_codecs encode") not in ops
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops
    old, new = (build_dataset(DataConfig(dataset=name, root=str(tmp_path / v), **SIZES), 0) for v in ("py2", "py3"))
    for split in ("x_train", "y_train", "x_val", "x_pool", "x_test", "y_test"):
        assert np.array_equal(getattr(old, split), getattr(new, split)), split


def test_the_unpickler_admits_numpy_arrays_only(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    for protocol in (2, 4, 5):
        loaded = ArrayUnpickler(_bytes_io({b"data": np.arange(4, dtype=np.uint8)}, protocol), encoding="bytes").load()
        assert loaded[b"data"].tolist() == [0, 1, 2, 3]
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load .*print: only numpy arrays"):
        ArrayUnpickler(_bytes_io(Payload(), 2), encoding="bytes").load()


def _bytes_io(obj, protocol):
    import io

    return io.BytesIO(pickle.dumps(obj, protocol=protocol))


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_user_pool_file_supplies_the_pool(root, tmp_path, suffix):
    images = np.random.default_rng(0).integers(0, 256, size=(70, 32, 32, 3), dtype=np.uint8)  # CIFAR-5m's (n, H, W, C)
    path = tmp_path / f"pool{suffix}"
    np.save(path, images) if suffix == ".npy" else np.savez(path, X=images)
    data = build_dataset(DataConfig(dataset="cifar10", root=str(root), pool_file=str(path), **SIZES), 0)
    plain = build_dataset(DataConfig(dataset="cifar10", root=str(root), **SIZES), 0)
    assert data.x_pool.shape == (30, 3072) and np.array_equal(data.x_train, plain.x_train)
    red = (images[:, :, :, 0] / 255.0 - 0.4914) / 0.2470
    assert rows(data.x_pool[:, :1024].round(4)) <= rows(red.reshape(70, -1).astype(np.float32).round(4))
    with pytest.raises(DataFileError, match=r"uint8 of shape \(n, 32, 32, 3\)"):
        np.save(tmp_path / "bad.npy", images[:, :16])
        build_dataset(DataConfig(dataset="cifar10", root=str(root), pool_file=str(tmp_path / "bad.npy"), **SIZES), 0)


def test_a_noise_file_gives_the_labels_and_its_measured_transition_matrix(root, tmp_path):
    clean = np.concatenate(
        [
            np.asarray(pickle.loads((root / "cifar-10-batches-py" / f"data_batch_{i}").read_bytes())[b"labels"])
            for i in range(1, 6)
        ]
    )
    noisy = np.where(clean % 2 == 0, (clean + 1) % 10, clean)  # every even class flipped to the next
    np.save(tmp_path / "labels.npy", noisy)
    cfg = DataConfig(
        dataset="cifar10", root=str(root), noise_file=str(tmp_path / "labels.npy"), **(SIZES | {"noise": 0})
    )
    data = build_dataset(cfg, 0)
    assert np.array_equal(
        data.y_train, np.where(data.y_train_clean % 2 == 0, (data.y_train_clean + 1) % 10, data.y_train_clean)
    )
    expected = np.eye(10)[np.where(np.arange(10) % 2 == 0, (np.arange(10) + 1) % 10, np.arange(10))]
    np.testing.assert_array_equal(data.transition, expected)
    with pytest.raises(ConfigError, match="set data.noise = 0"):
        tiny_config(data={"dataset": "cifar10", "noise_file": "x.npy", "noise": 0.2})
    np.save(tmp_path / "short.npy", noisy[:10])
    with pytest.raises(DataFileError, match="holds 10 labels; the training set has 200 images"):
        build_dataset(cfg.model_copy(update={"noise_file": str(tmp_path / "short.npy")}), 0)


def test_relative_pool_and_noise_files_are_read_under_the_data_root_not_the_working_directory(tmp_path, monkeypatch):
    data_root = tmp_path / "data"
    clean = np.concatenate(
        [pickle.loads(path.read_bytes())[b"labels"] for path in sorted(write_cifar10(data_root).glob("data_batch_*"))]
    )
    images = np.random.default_rng(0).integers(0, 256, size=(70, 32, 32, 3), dtype=np.uint8)
    (data_root / "cifar5m").mkdir()
    np.save(data_root / "cifar5m" / "part0.npy", images)
    np.save(data_root / "noisy.npy", (clean + 1) % 10)
    elsewhere = tmp_path / "cwd"
    (elsewhere / "cifar5m").mkdir(parents=True)
    np.save(elsewhere / "cifar5m" / "part0.npy", 255 - images)  # a decoy where the old code looked
    np.save(elsewhere / "noisy.npy", clean)
    monkeypatch.chdir(elsewhere)
    relative = {"pool_file": "cifar5m/part0.npy", "noise_file": "noisy.npy"} | SIZES | {"noise": 0}
    explicit = build_dataset(DataConfig(dataset="cifar10", root=str(data_root), **relative), 0)
    monkeypatch.setenv("DDX_DATA_ROOT", str(data_root))
    from_env = build_dataset(DataConfig(dataset="cifar10", **relative), 0)
    absolute = relative | {"pool_file": str(data_root / "cifar5m" / "part0.npy")}
    expected = build_dataset(DataConfig(dataset="cifar10", root=str(data_root), **absolute), 0)
    for data in (explicit, from_env):
        assert np.array_equal(data.x_pool, expected.x_pool), "the pool is the data root's file, not the decoy"
        assert np.array_equal(data.y_train, (data.y_train_clean + 1) % 10), "labels from the data root's file"
    with pytest.raises(DataFileError, match=f"data.pool_file {data_root / 'cifar5m' / 'gone.npy'} does not exist"):
        build_dataset(DataConfig(dataset="cifar10", **(relative | {"pool_file": "cifar5m/gone.npy"})), 0)


def test_augmentation_crops_and_flips_each_image_and_models_draw_independently():
    class Learner:
        def __init__(self, seed):
            self.seed, self.train = (
                seed,
                tiny_config(train={"augment": False}).train.model_copy(update={"augment": True}),
            )

    x = torch.randn(2, 6, 3 * 8 * 8)
    out = Augment.of([Learner(0), Learner(1)], x.shape[-1])(x)
    padded = torch.nn.functional.pad(x.reshape(12, 3, 8, 8), (PADDING,) * 4)
    crops = [padded[:, :, i : i + 8, j : j + 8] for i in range(2 * PADDING + 1) for j in range(2 * PADDING + 1)]
    for image, augmented in enumerate(out.reshape(12, 3, 8, 8)):
        candidates = [c[image] for c in crops] + [c[image].flip(-1) for c in crops]
        assert any(torch.equal(augmented, c) for c in candidates), "a shifted, maybe mirrored, copy of its image"
    same = Augment.of([Learner(0), Learner(0)], x.shape[-1])(x[:1].expand(2, -1, -1))
    assert torch.equal(same[0], same[1]) and not torch.equal(out[0], Augment.of([Learner(1)], 192)(x[:1])[0])


def test_the_tiny_resnet_preset_runs_on_a_fixture(root, tmp_path, monkeypatch):
    monkeypatch.setenv("DDX_DATA_ROOT", str(root))
    cfg = load_preset("resnet-mnist-tiny")
    events = run_all(cfg, tmp_path / "tiny.h5")
    assert events[-1].status == "complete"
    run = load_run(tmp_path / "tiny.h5")
    curves = run.points[0].curves["teacher"]
    assert len(curves["test_error"]) == cfg.train.epochs and np.isfinite(curves["train_loss"]).all()


@pytest.mark.parametrize(("stem", "n_in", "first"), [("cifar", 3072, (3, 3)), ("imagenet", 784, (7, 7))])
def test_a_width_k_resnet_has_stages_of_k_2k_4k_8k_channels(stem, n_in, first):
    net = ResNet18(n_in, 10, 3, stem)
    convs = [m for m in net.body.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].kernel_size == first and convs[0].in_channels == n_in // (32 * 32 if n_in == 3072 else 28 * 28)
    assert sorted({c.out_channels for c in convs}) == [3, 6, 12, 24] and net.head.in_features == 24
    assert net(torch.randn(5, n_in)).shape == (5, 10) and not net.mixed, "the CPU path stays float32"


@pytest.mark.parametrize("grouped", [False, True])
def test_the_mixed_precision_path_forced_on_the_cpu_stays_close_to_float32_and_trains(grouped):
    """CUDA's path (bfloat16 autocast, channels-last) forced on the CPU, alone and folded into one grouped
    network: the body really runs in bfloat16 on channels-last images, the logits stay float32 and within
    5% of the largest float32 logit (bfloat16 keeps 8 bits: seeds 0–4 of this test measured 0.8–1.6%), and
    backward gives finite gradients pointing where float32's do (cosine ≥ 0.9; seeds 0–4 measured 0.978–0.985, alone and grouped)."""
    import copy

    from engine.trainers.grouped import GroupedResNet

    torch.manual_seed(0)
    nets = [ResNet18(3072, 10, 4, "cifar") for _ in range(2 if grouped else 1)]
    mixed = copy.deepcopy(nets)
    for net in mixed:
        net.mixed = True
        net.to(memory_format=torch.channels_last)
    full, half = (GroupedResNet(n) if grouped else n[0] for n in (nets, mixed))
    x = torch.randn(2, 8, 3072) if grouped else torch.randn(8, 3072)
    seen = {}
    first_conv = next(m for m in half.body.modules() if isinstance(m, torch.nn.Conv2d))
    first_conv.register_forward_hook(
        lambda m, i, o: seen.update(channels_last=i[0].is_contiguous(memory_format=torch.channels_last))
    )
    half.body.register_forward_hook(lambda m, i, o: seen.update(body=o.dtype))
    reference, out = full(x), half(x)
    assert seen == {"channels_last": True, "body": torch.bfloat16} and out.dtype == torch.float32
    assert (out - reference).abs().max() <= 0.05 * reference.abs().max()
    labels = torch.randint(0, 10, x.shape[:-1])
    grads = []
    for model, logits in ((full, reference), (half, out)):
        torch.nn.functional.cross_entropy(logits.reshape(-1, 10), labels.reshape(-1)).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.isfinite(grads[1]).all() and grads[1].dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(*grads, dim=0) >= 0.9
