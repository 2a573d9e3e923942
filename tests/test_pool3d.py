"""3-D pooling: the two-2-D-pools route (kernels/pool3d.py) against the 3-D loop references
(values, argmax indices with ties, NaN and windows in the padding), float64 gradients against
finite differences, bad arguments, and the modules; the comparisons with PyTorch are marked
`torch`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import pool3d_configs

import tinyconv as tc
import tinyconv.nn.functional as F
from tinyconv import nn
from tinyconv.autograd import gradcheck, gradgradcheck
from tinyconv.kernels import pool3d as p3

EXACT = {"rtol": 1e-12, "atol": 1e-12}
GRAD_TOL = {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-6}


def _t(a, grad=True):
    return tc.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _max_args(cfg):
    return (cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode)


def _avg_args(cfg):
    return (
        cfg.kernel_size,
        cfg.stride,
        cfg.padding,
        cfg.ceil_mode,
        cfg.count_include_pad,
        cfg.divisor_override,
    )


def _input(cfg, kind):
    """ "ties": values on a coarse lattice (equal maxima), "nan": ties and a NaN or two,
    "distinct": values 0.1 apart (finite differences never cross a tie)."""
    rng = np.random.default_rng(cfg.seed)
    n = int(np.prod(cfg.shape))
    if kind == "distinct":
        return rng.permutation(n).reshape(cfg.shape) * 0.1
    x = rng.integers(-2, 3, cfg.shape).astype(np.float64)
    if kind == "nan":
        x.reshape(-1)[rng.integers(0, n, 2)] = np.nan
    return x


def _no_empty_windows(cfg):
    out = p3.pool3d_output_size(cfg.shape[2:], *_max_args(cfg))
    empty = p3.max_pool3d_empty_windows(
        cfg.shape[2:], out, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation
    )
    return empty is None


adaptive_sizes = st.tuples(*(st.integers(1, 4),) * 3)
small_shapes = st.tuples(
    st.integers(1, 2), st.integers(1, 2), *(st.integers(1, 5),) * 3
)  # (N, C, D, H, W)


# -- kernels: the 2-D route equals the 3-D loops --------------------------------------------


@settings(max_examples=20, deadline=None)
@given(pool3d_configs(), st.sampled_from(["ties", "nan", "distinct"]))
def test_max_pool3d_kernel_matches_loops(cfg, kind):
    x = _input(cfg, kind)
    y, idx = p3.max_pool3d_forward(x, *_max_args(cfg))
    y_ref, idx_ref = p3.max_pool3d_reference(x, *_max_args(cfg))
    np.testing.assert_array_equal(y, y_ref)  # NaN == NaN here, as wanted
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.dtype == np.int64


@settings(max_examples=20, deadline=None)
@given(pool3d_configs(dilation=False))
def test_avg_pool3d_kernel_matches_loops(cfg):
    x = _input(cfg, "distinct")
    np.testing.assert_allclose(
        p3.avg_pool3d_forward(x, *_avg_args(cfg)),
        p3.avg_pool3d_reference(x, *_avg_args(cfg)),
        **EXACT,
    )


@settings(max_examples=20, deadline=None)
@given(small_shapes, adaptive_sizes, st.integers(0, 2**32 - 1))
def test_adaptive_pool3d_kernels_match_loops(shape, out, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(np.float64)  # ties
    y, idx = p3.adaptive_max_pool3d_forward(x, out)
    y_ref, idx_ref = p3.adaptive_max_pool3d_reference(x, out)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    np.testing.assert_allclose(
        p3.adaptive_avg_pool3d_forward(x, out), p3.adaptive_avg_pool3d_reference(x, out), **EXACT
    )


# -- gradients against finite differences (float64) ------------------------------------------


@settings(max_examples=10, deadline=None)
@given(pool3d_configs())
def test_max_pool3d_gradcheck(cfg):
    assume(_no_empty_windows(cfg))
    x = _t(_input(cfg, "distinct"))
    assert gradcheck(lambda x: F.max_pool3d(x, *_max_args(cfg)), (x,), **GRAD_TOL)


def _avg_fits(cfg):
    """PyTorch's avg_pool3d wants each input side to hold the kernel without the padding."""
    return all(n >= k for n, k in zip(cfg.shape[2:], cfg.kernel_size, strict=True))


@settings(max_examples=10, deadline=None)
@given(pool3d_configs(dilation=False))
def test_avg_pool3d_gradcheck(cfg):
    assume(_avg_fits(cfg))
    x = _t(_input(cfg, "distinct"))
    k, s, p, ceil, cip, div = _avg_args(cfg)
    assert gradcheck(lambda x: F.avg_pool3d(x, k, s, p, ceil, cip, div), (x,), **GRAD_TOL)


@settings(max_examples=8, deadline=None)
@given(small_shapes, adaptive_sizes, st.integers(0, 2**32 - 1))
def test_adaptive_pool3d_gradcheck(shape, out, seed):
    x = _t(np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1)
    assert gradcheck(lambda x: F.adaptive_avg_pool3d(x, out), (x,), **GRAD_TOL)
    assert gradcheck(lambda x: F.adaptive_max_pool3d(x, out), (x,), **GRAD_TOL)


def test_pool3d_gradgradcheck():
    # the pools are linear in x once the argmax is fixed: their create_graph backward is a
    # pool (or a gather) of the incoming gradient
    x = _t(np.random.default_rng(0).permutation(2 * 4 * 5 * 3).reshape(1, 2, 4, 5, 3) * 0.1)
    for f in (
        lambda x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True).pow(2),
        lambda x: F.avg_pool3d(x, (2, 3, 1), padding=(1, 1, 0), count_include_pad=False).pow(2),
        lambda x: F.adaptive_avg_pool3d(x, (3, 2, 2)).pow(2),
        lambda x: F.adaptive_max_pool3d(x, (3, 2, 2)).pow(2),
    ):
        assert gradgradcheck(f, (x,), **GRAD_TOL)


def test_unbatched_and_indices():
    x = _t(np.random.default_rng(1).standard_normal((2, 4, 5, 3)))  # (C, D, H, W)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    yb, idxb = F.max_pool3d_with_indices(x.unsqueeze(0), 2)
    assert y.shape == idx.shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(y.detach().numpy(), yb[0].detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), idxb[0].numpy())
    flat = x.detach().numpy().reshape(2, -1)
    np.testing.assert_array_equal(  # the index names the element that won, in its volume
        np.take_along_axis(flat, idx.numpy().reshape(2, -1), 1), y.detach().numpy().reshape(2, -1)
    )
    y, idx = F.adaptive_max_pool3d_with_indices(x, (1, 2, 2))
    assert y.shape == idx.shape == (2, 1, 2, 2)
    assert F.avg_pool3d(x, 2).shape == (2, 2, 2, 1)
    assert F.adaptive_avg_pool3d(x, (3, None, 2)).shape == (2, 3, 5, 2)


def test_gradient_into_a_window_in_the_padding_raises():
    # D = 1, kernel 2 with dilation 2 and padding 1: the depth taps are -1 and 1, both outside
    x = _t(np.ones((1, 1, 1, 3, 3)))
    y = F.max_pool3d(x, 2, 1, 1, dilation=2)
    assert np.isneginf(y.detach().numpy()).all()
    with pytest.raises(RuntimeError, match=r"max_pool3d: output window \(0, 0, 0\) lies"):
        y.sum().backward()


def test_node_names_and_saved_input():
    x = _t(np.ones((1, 1, 2, 2, 2)))
    assert F.max_pool3d(x, 2).grad_fn.name() == "MaxPool3DWithIndicesBackward0"
    assert F.avg_pool3d(x, 2).grad_fn.name() == "AvgPool3DBackward0"
    assert F.adaptive_avg_pool3d(x, 1).grad_fn.name() == "MeanBackward1"
    assert F.adaptive_max_pool3d(x, 1).grad_fn.name() == "AdaptiveMaxPool3DBackward0"
    h = x * 1
    y = F.adaptive_avg_pool3d(h, (2, 1, 1))
    assert y.grad_fn.name() == "AdaptiveAvgPool3DBackward0"
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def _x(*shape):
    return tc.randn(*(shape or (1, 2, 4, 4, 4)))


BAD = [
    (
        lambda: F.max_pool3d(_x(4, 4, 4), 2),
        ValueError,
        r"max_pool3d: expected a 4-D \(C, D, H, W\)",
    ),
    (lambda: F.max_pool3d(_x(), (2, 2)), ValueError, r"kernel_size must be an int or a triple"),
    (lambda: F.max_pool3d(_x(), 2, 0), ValueError, r"max_pool3d: stride must be positive"),
    (lambda: F.max_pool3d(_x(), 3, padding=2), ValueError, r"padding \(2, 2, 2\) should be at"),
    (
        lambda: F.max_pool3d(_x(1, 2, 1, 4, 4), 3),
        ValueError,
        r"output would be empty \(0 x 1 x 1\)",
    ),
    (lambda: F.max_pool3d(_x(1, 0, 4, 4, 4), 2), RuntimeError, r"empty in a dim other than"),
    (lambda: F.max_pool3d(_x().numpy(), 2), TypeError, r"input must be a Tensor"),
    (lambda: F.avg_pool3d(_x().long(), 2), TypeError, r"avg_pool3d: input must be a floating"),
    (lambda: F.avg_pool3d(_x(), 2, divisor_override=0), ValueError, r"divisor_override must"),
    (lambda: F.avg_pool3d(_x(1, 1, 2, 2, 1), (1, 1, 2), 1, (0, 0, 1)), ValueError, r"smaller than"),
    (
        lambda: F.adaptive_avg_pool3d(_x(1, 2, 0, 4, 4), 2),
        RuntimeError,
        r"adaptive_avg_pool3d: .* empty depth, height or width",
    ),
    (lambda: F.adaptive_max_pool3d(_x(), (2, 2)), ValueError, r"output_size must be an int or"),
    (lambda: F.adaptive_max_pool3d(_x().long(), 2), TypeError, r"must be a floating point"),
    (lambda: nn.MaxPool3d(2)(_x(4, 4)), ValueError, r"max_pool3d: expected a 4-D"),
]


@pytest.mark.parametrize("call, exc, match", BAD)
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- against PyTorch --------------------------------------------------------------------------


def _torch():
    return pytest.importorskip("torch")


def _check_against_torch(fn, fn_torch, x, dtype):
    """Values (and indices), dtype, and the gradient of a random projection."""
    torch = _torch()
    xt = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    xx = tc.tensor(x, dtype=getattr(tc, dtype), requires_grad=True)
    y, yt = fn(xx), fn_torch(xt)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(y[1].numpy(), yt[1].numpy())
        y, yt = y[0], yt[0]
    tol = EXACT if dtype == "float64" else {"rtol": 1e-6, "atol": 1e-6}
    assert tuple(y.shape) == tuple(yt.shape) and str(y.dtype).endswith(dtype)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    g = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    y.backward(tc.tensor(g, dtype=getattr(tc, dtype)))
    yt.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(xx.grad.numpy(), xt.grad.numpy(), **tol)


@pytest.mark.torch
@settings(max_examples=15, deadline=None)
@given(pool3d_configs(), st.sampled_from(["float64", "float32"]), st.booleans())
def test_max_and_avg_pool3d_match_torch(cfg, dtype, unbatched):
    TF = _torch().nn.functional
    x = _input(cfg, "ties")  # ties: the index rule is PyTorch's
    if unbatched:
        x = x[0]
    if _no_empty_windows(cfg):
        m = _max_args(cfg)
        _check_against_torch(
            lambda t: F.max_pool3d(t, *m, return_indices=True),
            lambda t: TF.max_pool3d(t, *m, return_indices=True),
            x,
            dtype,
        )
    if cfg.dilation == (1, 1, 1) and _avg_fits(cfg):
        a = _avg_args(cfg)
        _check_against_torch(
            lambda t: F.avg_pool3d(t, *a), lambda t: TF.avg_pool3d(t, *a), x, dtype
        )


@pytest.mark.torch
@settings(max_examples=10, deadline=None)
@given(small_shapes, adaptive_sizes, st.sampled_from(["float64", "float32"]))
def test_adaptive_pool3d_match_torch(shape, out, dtype):
    TF = _torch().nn.functional
    x = np.random.default_rng(sum(shape)).integers(-2, 3, shape).astype(np.float64)
    _check_against_torch(
        lambda t: F.adaptive_max_pool3d(t, out, True),
        lambda t: TF.adaptive_max_pool3d(t, out, True),
        x,
        dtype,
    )
    _check_against_torch(
        lambda t: F.adaptive_avg_pool3d(t, out), lambda t: TF.adaptive_avg_pool3d(t, out), x, dtype
    )


@pytest.mark.torch
def test_max_pool3d_nan_and_padding_indices_match_torch():
    torch = _torch()
    x = np.random.default_rng(2).integers(-1, 2, (1, 2, 3, 4, 5)).astype(np.float64)
    x[0, 0, 1, 2, 2] = x[0, 1, 0, 0, 0] = np.nan
    x[0, 1, 2] = -np.inf  # a slice of -inf: the window's first in-range tap is its index
    for args in (((2, 3, 2), 1, 1, 1, True), (3, 2, (1, 1, 0), (1, 2, 2), True)):
        y, i = F.max_pool3d(tc.tensor(x), *args, return_indices=True)
        yt, it = torch.nn.functional.max_pool3d(torch.tensor(x), *args, return_indices=True)
        np.testing.assert_array_equal(y.numpy(), yt.numpy())
        np.testing.assert_array_equal(i.numpy(), it.numpy())


@pytest.mark.torch
def test_pool3d_modules_match_torch():
    torch = _torch()
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 6, 4))
    for name, args, kw in (
        ("MaxPool3d", (3,), {"stride": 2, "padding": 1, "dilation": (1, 2, 1), "ceil_mode": True}),
        ("MaxPool3d", (2,), {"return_indices": True}),
        ("AvgPool3d", ((2, 3, 2),), {"stride": 1, "padding": 1, "count_include_pad": False}),
        ("AvgPool3d", (2,), {"ceil_mode": True, "divisor_override": 3}),
        ("AdaptiveAvgPool3d", ((2, None, 3),), {}),
        ("AdaptiveMaxPool3d", (2,), {"return_indices": True}),
    ):
        m, mt = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        assert repr(m) == repr(mt)
        _check_against_torch(m, mt, x, "float64")
