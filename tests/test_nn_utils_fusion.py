"""torch.nn.utils.fusion: Conv/Linear + eval-mode BatchNorm folded into one layer, compared with
PyTorch's fused weights and with the unfused pair."""

from __future__ import annotations

import numpy as np
import pytest

import tinyconv
from tinyconv import nn

pytestmark = pytest.mark.torch


def _pair(lib, kind: str, bias: bool, affine: bool):
    """A layer and its BatchNorm with seeded weights and non-trivial running statistics."""
    lib.manual_seed(0)
    if kind == "conv2d":
        layer, bn = lib.nn.Conv2d(3, 4, 3, bias=bias), lib.nn.BatchNorm2d(4, affine=affine)
    elif kind == "conv1d":
        layer, bn = lib.nn.Conv1d(3, 4, 3, bias=bias), lib.nn.BatchNorm1d(4, affine=affine)
    elif kind == "convt2d":
        layer = lib.nn.ConvTranspose2d(3, 4, 3, stride=2, bias=bias)
        bn = lib.nn.BatchNorm2d(4, affine=affine)
    else:
        layer, bn = lib.nn.Linear(5, 4, bias=bias), lib.nn.BatchNorm1d(4, affine=affine)
    rng = np.random.default_rng(1)
    with lib.no_grad():
        bn.running_mean.copy_(lib.tensor(rng.standard_normal(4).astype(np.float32)))
        bn.running_var.copy_(lib.tensor(rng.uniform(0.5, 2, 4).astype(np.float32)))
        if affine:
            bn.weight.copy_(lib.tensor(rng.standard_normal(4).astype(np.float32)))
            bn.bias.copy_(lib.tensor(rng.standard_normal(4).astype(np.float32)))
    return layer.eval(), bn.eval()


def _input(kind: str) -> np.ndarray:
    shape = {"conv2d": (2, 3, 6, 6), "conv1d": (2, 3, 7), "convt2d": (2, 3, 4, 4)}
    return np.random.default_rng(2).standard_normal(shape.get(kind, (6, 5))).astype(np.float32)


# (a Linear needs an affine BatchNorm: test_fuse_linear_needs_affine_batchnorm)
CASES = [
    (kind, bias, affine)
    for kind in ("conv2d", "conv1d", "convt2d", "linear")
    for bias in (True, False)
    for affine in (True, False)
    if affine or kind != "linear"
]


@pytest.mark.parametrize(("kind", "bias", "affine"), CASES)
def test_fused_layer_matches_torch_and_the_pair(kind, bias, affine):
    torch = pytest.importorskip("torch")
    fused = {}
    for lib in (tinyconv, torch):
        layer, bn = _pair(lib, kind, bias, affine)
        if kind == "linear":
            f = lib.nn.utils.fuse_linear_bn_eval(layer, bn)
        else:
            f = lib.nn.utils.fuse_conv_bn_eval(layer, bn, transpose=kind == "convt2d")
        x = lib.tensor(_input(kind))
        with lib.no_grad():
            np.testing.assert_allclose(f(x).numpy(), bn(layer(x)).numpy(), rtol=1e-5, atol=1e-5)
        assert type(f) is type(layer) and f is not layer
        assert layer.weight is not f.weight  # the original layer is left alone
        fused[lib] = f
    mine, theirs = fused[tinyconv], fused[torch]
    for name in ("weight", "bias"):
        a, b = getattr(mine, name), getattr(theirs, name)
        assert isinstance(a, nn.Parameter) and a.requires_grad == b.requires_grad
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1] and a.shape == tuple(
            b.shape
        )
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_fuse_weights_functions_match_torch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in [(4, 2, 3, 3), (4,), (4,), (4,), (4,), (4,)]]
    arrays[3] = np.abs(arrays[3]) + 0.1  # a variance
    out = {}
    for lib in (tinyconv, torch):
        w, b, rm, rv, g, beta = (lib.tensor(a, requires_grad=i != 2) for i, a in enumerate(arrays))
        rm.requires_grad_(False), rv.requires_grad_(False)
        conv = lib.nn.utils.fuse_conv_bn_weights(w, b, rm, rv, 1e-5, g, beta)
        convt = lib.nn.utils.fuse_conv_bn_weights(
            w.transpose(0, 1), None, rm, rv, 1e-3, None, None, True
        )
        lin = lib.nn.utils.fuse_linear_bn_weights(w[:, :, 0, 0], b, rm, rv, 1e-5, g, beta)
        out[lib] = [t for pair in (conv, convt, lin) for t in pair]
    for a, b in zip(out[tinyconv], out[torch], strict=True):
        assert (
            str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            and a.requires_grad == b.requires_grad
        )
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


def test_fuse_refuses_training_mode_and_missing_statistics():
    conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    with pytest.raises(AssertionError, match="eval mode"):
        nn.utils.fuse_conv_bn_eval(conv, bn.eval())
    with pytest.raises(RuntimeError, match="running statistics"):
        nn.utils.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4, track_running_stats=False).eval())
    with pytest.raises(RuntimeError, match="out_features=3, num_features=4"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(4).eval())


def test_fuse_linear_needs_affine_batchnorm():
    torch = pytest.importorskip("torch")
    for lib in (tinyconv, torch):
        with pytest.raises(TypeError):
            lib.nn.utils.fuse_linear_bn_eval(
                lib.nn.Linear(2, 4).eval(), lib.nn.BatchNorm1d(4, affine=False).eval()
            )
