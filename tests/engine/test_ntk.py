"""The NTK diagnostic: the layer-wise Gram matrix equals autograd's, and the linearized residual is exact when it should be."""

import numpy as np
import pytest
import torch

from engine.diagnostics.ntk_gram import autograd_gram, is_relu_mlp, layerwise_gram, ntk_gram
from engine.models.neural import Conv1dNet, mlp
from engine.runfile import load_run
from tests.engine.helpers import run_all, tiny_config


@pytest.mark.parametrize(("depth", "classes"), [(1, 2), (2, 4), (3, 3)])
def test_layerwise_mlp_gram_equals_the_autograd_jacobian_gram(depth, classes):
    torch.manual_seed(depth)
    module = mlp(7, classes, 24, depth)
    x = torch.randn(30, 7)
    reference = autograd_gram(module, x)
    torch.testing.assert_close(
        layerwise_gram(module, x), reference, rtol=1e-5, atol=1e-5 * reference.abs().max().item()
    )


def test_other_architectures_fall_back_to_autograd():
    assert is_relu_mlp(mlp(3, 2, 4, 2)) and not is_relu_mlp(Conv1dNet(16, 2, 4))
    torch.manual_seed(0)
    net, x = Conv1dNet(16, 2, 3), torch.randn(5, 16)
    torch.testing.assert_close(ntk_gram(net, x), autograd_gram(net, x))


def linear_run(tmp_path, optimizer: str):
    """A wide MLP on 64 points, squared loss, full-batch steps, K on every training input."""
    cfg = tiny_config(
        data={"dataset": "clusters", "n_train": 64, "n_val": 0, "n_test": 50, "dim": 6, "noise": 0.2},
        student={"model": "mlp", "width": 1024, "depth": 1},
        distill={"mode": "none"},
        train={
            "epochs": 30,
            "batch_size": 64,
            "lr": 1e-3,
            "optimizer": optimizer,
            "momentum": 0.0,
            "loss": "mse",
            "ntk_points": 64,
        },
    )
    run_all(cfg, tmp_path / f"{optimizer}.h5")
    return load_run(tmp_path / f"{optimizer}.h5").points[0].arrays


def test_linearized_residual_matches_training_under_its_assumptions(tmp_path):
    """Full-batch SGD on squared loss from K₀ alone predicts each top eigen-direction's residual energy."""
    arrays = linear_run(tmp_path, "sgd")
    measured, predicted = arrays["ntk_residual_baseline"], arrays["ntk_linear_baseline"]
    assert measured.shape == predicted.shape == (31, 64)
    np.testing.assert_allclose(predicted[0], measured[0])
    top = slice(0, 8)
    assert (predicted[-1, :5] < 0.02 * predicted[0, :5]).all(), "the top directions do empty in the window tested"
    np.testing.assert_allclose(measured[:, top], predicted[:, top], rtol=0.02, atol=1e-4 * measured[0].sum())
    assert "ntk_linear_baseline" not in linear_run(tmp_path, "adam"), "no fixed kernel describes Adam"
