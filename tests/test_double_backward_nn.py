"""Double backward (create_graph=True) of every op in tinyconv.nn.functional: gradgradcheck in
float64 (second derivatives against finite differences of the create_graph gradient), the
convolution's backward as tinyconv.nn.grad.conv2d_input / conv2d_weight (against torch.nn.grad
too), and a gradient penalty through a small CNN against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import conv2d_configs

import tinyconv as tc
import tinyconv.nn.functional as F
from tinyconv.autograd import gradgradcheck
from tinyconv.nn.grad import conv2d_input, conv2d_weight

TOL = {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-6}


def _t(a, grad=True):
    return tc.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _sq(t):
    """t * t: a second derivative that is not zero (x * x has a double backward in the engine)."""
    return t * t


def _ggc(fn, *inputs, **kw):
    assert gradgradcheck(fn, inputs, **{**TOL, **kw})


# -- convolution ------------------------------------------------------------------------


def _conv_case(cfg, bias=True):
    rng = np.random.default_rng(cfg.seed)
    x = _t(rng.standard_normal(cfg.shape))
    w = _t(rng.standard_normal(cfg.weight_shape))
    b = _t(rng.standard_normal(cfg.out_channels)) if bias else None
    return x, w, b


@settings(max_examples=6, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2))
def test_conv2d_gradgradcheck(cfg):
    x, w, b = _conv_case(cfg)
    stride, pads, dil, groups = cfg.args
    (t, bo), (le, r) = pads
    # asymmetric padding reaches conv2d as an explicit F.pad (conv2d takes symmetric padding)
    _ggc(lambda x, w, b: F.conv2d(F.pad(x, (le, r, t, bo)), w, b, stride, 0, dil, groups), x, w, b)


@settings(max_examples=4, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2, symmetric_padding=True))
def test_conv2d_symmetric_padding_gradgradcheck(cfg):
    x, w, b = _conv_case(cfg)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    _ggc(lambda x, w, b: F.conv2d(x, w, b, stride, p, dil, groups), x, w, b)


def test_conv2d_same_padding_even_kernel_gradgradcheck():
    rng = np.random.default_rng(1)
    x, w = _t(rng.standard_normal((1, 2, 4, 5))), _t(rng.standard_normal((2, 2, 2, 4)))
    _ggc(lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)), x, w)


@settings(max_examples=5, deadline=None)
@given(conv2d_configs(max_batch=2, max_kernel=3, max_extra=2, symmetric_padding=True))
def test_conv_transpose2d_gradgradcheck(cfg):
    rng = np.random.default_rng(cfg.seed)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    # conv2d's output as the transposed convolution's input, conv2d's weight as its weight
    N, C = cfg.shape[:2]
    oh = (cfg.shape[2] + 2 * p[0] - dil[0] * (cfg.kernel_size[0] - 1) - 1) // stride[0] + 1
    ow = (cfg.shape[3] + 2 * p[1] - dil[1] * (cfg.kernel_size[1] - 1) - 1) // stride[1] + 1
    x = _t(rng.standard_normal((N, cfg.out_channels, oh, ow)))
    w = _t(rng.standard_normal(cfg.weight_shape))
    b = _t(rng.standard_normal(C))
    out_pad = tuple(max(s, d) - 1 for s, d in zip(stride, dil, strict=True))
    _ggc(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, p, out_pad, groups, dil), x, w, b)


@settings(max_examples=25, deadline=None)
@given(conv2d_configs())
def test_conv2d_backward_is_nn_grad(cfg):
    """conv2d's (NumPy) backward equals conv2d_input and conv2d_weight, on random strided,
    dilated, grouped and (asymmetrically) padded configurations."""
    x, w, b = _conv_case(cfg, bias=False)
    stride, pads, dil, groups = cfg.args
    (t, bo), (le, r) = pads
    y = F.conv2d(F.pad(x, (le, r, t, bo)), w, None, stride, 0, dil, groups)
    g = np.random.default_rng(cfg.seed + 1).standard_normal(y.shape)
    y.backward(tc.tensor(g))
    gx = conv2d_input(x.shape, w.detach(), tc.tensor(g), stride, pads, dil, groups)
    gw = conv2d_weight(x.detach(), w.shape, tc.tensor(g), stride, pads, dil, groups)
    np.testing.assert_allclose(gx.numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.numpy(), w.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_create_graph_runs_nn_grad(monkeypatch):
    """The create_graph backward of conv2d is conv2d_input and conv2d_weight (called, not
    merely equal)."""
    from tinyconv.nn.functional import conv as conv_mod

    calls = []
    real_in, real_w = conv_mod.conv2d_input, conv_mod.conv2d_weight
    monkeypatch.setattr(
        conv_mod, "conv2d_input", lambda *a, **k: calls.append("input") or real_in(*a, **k)
    )
    monkeypatch.setattr(
        conv_mod, "conv2d_weight", lambda *a, **k: calls.append("weight") or real_w(*a, **k)
    )
    rng = np.random.default_rng(2)
    x, w = _t(rng.standard_normal((1, 2, 5, 5))), _t(rng.standard_normal((3, 2, 3, 3)))
    gx, gw = tc.autograd.grad(F.conv2d(x, w, stride=2).sum(), (x, w), create_graph=True)
    assert calls == ["input", "weight"]
    assert gx.requires_grad and gw.requires_grad


@pytest.mark.torch
@settings(max_examples=10, deadline=None)
@given(conv2d_configs(symmetric_padding=True))
def test_nn_grad_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(cfg.seed)
    x, w = rng.standard_normal(cfg.shape), rng.standard_normal(cfg.weight_shape)
    stride, pads, dil, groups = cfg.args
    p = (pads[0][0], pads[1][0])
    y = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), None, stride, p, dil, groups)
    g = rng.standard_normal(tuple(y.shape))
    want_x = torch.nn.grad.conv2d_input(
        x.shape, torch.tensor(w), torch.tensor(g), stride, p, dil, groups
    )
    want_w = torch.nn.grad.conv2d_weight(
        torch.tensor(x), w.shape, torch.tensor(g), stride, p, dil, groups
    )
    got_x = conv2d_input(x.shape, tc.tensor(w), tc.tensor(g), stride, p, dil, groups)
    got_w = conv2d_weight(tc.tensor(x), w.shape, tc.tensor(g), stride, p, dil, groups)
    np.testing.assert_allclose(got_x.numpy(), want_x.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_w.numpy(), want_w.numpy(), rtol=1e-12, atol=1e-12)


def test_nn_grad_bad_input():
    w = tc.zeros(4, 2, 3, 3)
    g = tc.zeros(1, 4, 3, 3)
    with pytest.raises(ValueError, match="grad_output has 3"):
        conv2d_input((1, 2, 6, 6), w, g)  # a 6x6 input gives a 4x4 output
    with pytest.raises(ValueError, match="input_size"):
        conv2d_input((1, 2, 5), w, g)
    with pytest.raises(ValueError, match="channels"):
        conv2d_weight(tc.zeros(1, 2, 5, 5), (3, 2, 3, 3), g)
    with pytest.raises(ValueError, match="padding"):
        conv2d_weight(tc.zeros(1, 2, 5, 5), (4, 2, 3, 3), g, padding=((1, -1), (0, 0)))


# -- linear ops: padding, pooling, interpolation -----------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradgradcheck(mode):
    x = _t(np.random.default_rng(3).standard_normal((2, 2, 4, 5)))
    pads = (2, 1, 0, 3) if mode != "reflect" else (2, 1, 0, 3)
    value = 1.5 if mode == "constant" else 0.0
    _ggc(lambda x: _sq(F.pad(x, pads, mode, value)), x)


def test_pad_negative_crop_gradgradcheck():
    x = _t(np.random.default_rng(4).standard_normal((1, 2, 5, 5)))
    _ggc(lambda x: _sq(F.pad(x, (-1, 2, 1, -2))), x)


def _distinct(shape, seed):
    """Values 0.1 apart (shuffled): max pooling's argmax is stable under the check's eps."""
    rng = np.random.default_rng(seed)
    return _t(rng.permutation(np.arange(np.prod(shape))).reshape(shape) * 0.1)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "dilation": 2, "ceil_mode": True},
        {"kernel_size": 2, "stride": 3, "padding": 1, "ceil_mode": True},
    ],
)
def test_max_pool2d_gradgradcheck(kw):
    x = _distinct((1, 2, 6, 7), 5)
    _ggc(lambda x: _sq(F.max_pool2d(x, **kw)), x)


def test_max_pool2d_double_backward_is_a_gather():
    # the gradient of max pooling is linear in the incoming gradient: its derivative sends
    # each window's gradient-of-gradient back to where the window's argmax was
    x = _distinct((1, 1, 4, 4), 6)
    y = F.max_pool2d(x, 2)
    v = _t(np.arange(4.0).reshape(1, 1, 2, 2))
    (gx,) = tc.autograd.grad(y, x, v, create_graph=True)
    (gv,) = tc.autograd.grad((gx * x).sum(), v)
    np.testing.assert_array_equal(gv.numpy(), y.detach().numpy())


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"kernel_size": (2, 3), "divisor_override": 4},
    ],
)
def test_avg_pool2d_gradgradcheck(kw):
    x = _t(np.random.default_rng(7).standard_normal((1, 2, 6, 7)))
    _ggc(lambda x: _sq(F.avg_pool2d(x, **kw)), x)


@pytest.mark.parametrize("size", [(3, 2), (4, 5), 1])
def test_adaptive_pools_gradgradcheck(size):
    x = _distinct((1, 2, 5, 7), 8)
    _ggc(lambda x: _sq(F.adaptive_avg_pool2d(x, size)), x)
    _ggc(lambda x: _sq(F.adaptive_max_pool2d(x, size)), x)


@pytest.mark.parametrize(
    "kw",
    [
        {"scale_factor": 2, "mode": "nearest"},
        {"size": (5, 7), "mode": "bilinear", "align_corners": True},
        {"size": (3, 7), "mode": "bilinear"},
    ],
)
def test_interpolate_gradgradcheck(kw):
    x = _t(np.random.default_rng(9).standard_normal((1, 2, 4, 5)))
    _ggc(lambda x: _sq(F.interpolate(x, **kw)), x)
