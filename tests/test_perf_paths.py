"""The training step's fast paths give the plain paths' numbers, and float32 stays float32.

Covers the speed work of issue 14 around the convolution: the vectorised erf (against
math.erf), GELU's float32 passes (PyTorch's formula, against math.erf), the branch-free
zeroing behind relu/clamp backward (against np.where, bit for bit, NaN, inf and -0.0
included), relu's forward (PyTorch's clamp_min semantics), batch_norm's fused
forward/backward (against the textbook formulas in float64), the global average pool, the
in-place optimiser updates (against the textbook updates, and chunked against whole-array
expressions), and a float32 training step that never makes a float64 array in tinyconv's
NumPy calls; and that a step's memory stays in the heap from step to step
(kernels/memory.py).
"""

from __future__ import annotations

import collections
import math
import os
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyconv
import tinyconv.nn.functional as F
from tinyconv.autograd.ops import _zero_where
from tinyconv.autograd.ops_extra import erf_array
from tinyconv.kernels import channels, updates
from tinyconv.kernels import gelu as gelu_kernel
from tinyconv.kernels import pool as pool_k
from tinyconv.kernels import silu as silu_kernel
from tinyconv.kernels import softplus as softplus_kernel
from tinyconv.kernels.channels import channel_dot, channel_sum, channel_vector
from tinyconv.nn.functional import normalization

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0]


# -- erf --------------------------------------------------------------------------------------


def test_erf_matches_math_erf_to_double_precision():
    xs = np.concatenate(
        [
            np.linspace(-7, 7, 20001),
            np.geomspace(1e-300, 7, 3000),
            -np.geomspace(1e-300, 7, 3000),
            np.arange(-48, 49) / 8,  # the expansion nodes themselves
            np.arange(-48, 48) / 8 + 1 / 16,  # the midpoints, where |h| is largest
            [5e-324, -5e-324, 6.0, 5.9999999, 1e300, -1e300],
        ]
    )
    got = erf_array(xs)
    ref = np.array([math.erf(v) for v in xs.tolist()])
    assert got.dtype == np.float64 and got.shape == xs.shape
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)
    assert rel.max() <= 1e-15, (rel.max(), xs[rel.argmax()])
    assert np.array_equal(np.signbit(got), np.signbit(ref))  # erf(-0.0) = -0.0


def test_erf_special_values_shapes_and_dtypes():
    x = np.array(SPECIAL)
    got = erf_array(x)
    ref = np.array([math.erf(v) for v in SPECIAL])
    assert np.array_equal(got, ref, equal_nan=True)
    assert np.array_equal(np.signbit(got[:2]), [False, True])
    assert erf_array(np.array(0.5)).shape == () and isinstance(erf_array(np.array(0.5)), np.ndarray)
    assert erf_array(np.ones((2, 0, 3))).shape == (2, 0, 3)
    strided = np.linspace(-3, 3, 24).reshape(4, 6)[:, ::2]
    ref = [[math.erf(v) for v in r] for r in strided.tolist()]
    np.testing.assert_allclose(erf_array(strided), ref, rtol=1e-15, atol=0)
    f32 = np.linspace(-4, 4, 1001, dtype=np.float32)
    got32 = erf_array(f32)
    assert got32.dtype == np.float32  # evaluated in float64, rounded once
    ref32 = np.array([math.erf(v) for v in f32.tolist()], np.float32)  # correctly rounded
    np.testing.assert_array_max_ulp(got32, ref32, maxulp=1)
    assert np.mean(got32 == ref32) > 0.99


# -- GELU's float32 passes ---------------------------------------------------------------------


def _gelu_points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [
            np.linspace(-14, 14, 40001),
            rng.standard_normal(20000) * 3,
            np.geomspace(1e-38, 14, 2000),
            -np.geomspace(1e-38, 14, 2000),
            [0.0, -0.0, 0.75, -0.7517916, 1e20, -1e20, 3e38, -3e38],
        ]
    ).astype(np.float32)


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|got - ref| in units of float32's spacing at ref (ref in float64)."""
    return np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32))


def _gelu_one_plus_erf(x: np.ndarray) -> np.ndarray:
    """PyTorch's 1 + erf(x / sqrt 2) in float32 steps, erf correctly rounded (math.erf)."""
    z = (x * np.float32(math.sqrt(0.5))).astype(np.float64)
    erf = np.array([math.erf(v) for v in z.tolist()]).astype(np.float32)
    return np.float32(1) + erf


def test_fast_gelu_forward_is_pytorchs_formula_with_erf_within_3_ulps_of_1():
    """(x / 2) (1 + erf(x / sqrt 2)) as PyTorch rounds it: 1 + erf cancels for x < 0 (-0.0
    from x = -5.54 down), so the error is measured in ulps of x."""
    x = _gelu_points()
    got = gelu_kernel.gelu_forward(x)
    ref = (x * np.float32(0.5)) * _gelu_one_plus_erf(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    err = np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(x))
    assert err.max() <= 3, (err.max(), x[err.argmax()])  # (erf: within 3 ulps of 1)
    assert np.mean(got == ref) > 0.85
    assert np.array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))  # GELU(-0.0) = -0.0
    tail = x <= -5.55
    assert (got[tail] == 0).all() and np.signbit(got[tail]).all()  # -0.0, as PyTorch's


def test_fast_gelu_backward_is_pytorchs_formula_with_erf_within_3_ulps_of_1():
    x = _gelu_points()
    grad = np.random.default_rng(1).uniform(0.5, 2, x.shape).astype(np.float32)
    got = gelu_kernel.gelu_backward(x, grad)
    with np.errstate(over="ignore", under="ignore"):
        cdf = np.float32(0.5) * _gelu_one_plus_erf(x)
        pdf = np.float32(1 / math.sqrt(2 * math.pi)) * np.exp(x * x * np.float32(-0.5))
        ref = grad * (cdf + x * pdf)
    # (the error is measured against the size of the two terms, the cdf's as 1/2 + erf/2
    # is rounded: cdf + x pdf cancels near its zero at x = -0.75, and 1 + erf for x < 0)
    scale = (grad * (np.float32(0.5) + np.abs(x * pdf))).astype(np.float32)
    err = np.abs(got.astype(np.float64) - ref) / np.spacing(scale)
    # (erf's 3 ulps of 1 are up to 6 ulps of grad / 2)
    assert got.dtype == np.float32 and err.max() <= 6, (err.max(), x[err.argmax()])
    assert np.mean(got == ref) > 0.85


@pytest.mark.parametrize("n", [1, 7, gelu_kernel.BLOCK - 1, gelu_kernel.BLOCK + 5])
def test_fast_gelu_blocks_give_each_number_its_own_value(n):
    """The block loop (and a last, shorter block) gives every number what it gets alone."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 4
    grad = np.random.default_rng(n + 1).standard_normal(n).astype(np.float32)
    head = min(n, 64)
    alone = np.array([gelu_kernel.gelu_forward(x[i : i + 1])[0] for i in range(head)])
    assert np.array_equal(gelu_kernel.gelu_forward(x)[:head], alone)
    tail = gelu_kernel.gelu_backward(x[-head:], grad[-head:])
    assert np.array_equal(gelu_kernel.gelu_backward(x, grad)[-head:], tail)
    shaped = x[: (n // 3) * 3].reshape(3, -1)
    assert np.array_equal(
        gelu_kernel.gelu_forward(shaped),
        gelu_kernel.gelu_forward(shaped.reshape(-1)).reshape(3, -1),
    )


def test_block_kernels_numbers_do_not_depend_on_the_thread_count():
    x = np.random.default_rng(5).standard_normal(3 * gelu_kernel.BLOCK + 11).astype(np.float32)
    grad = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    before = tinyconv.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            tinyconv.set_num_threads(n)
            results.append(
                (
                    gelu_kernel.gelu_forward(x),
                    gelu_kernel.gelu_backward(x, grad),
                    softplus_kernel.softplus_forward(x, 1.0, 20.0),  # (the same block loop)
                )
            )
    finally:
        tinyconv.set_num_threads(before)
    for outs in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(outs, results[0], strict=True))
    assert gelu_kernel.gelu_forward(np.empty((0, 3), np.float32)).shape == (0, 3)


def test_block_kernels_read_a_broadcast_gradient_as_the_dense_one():
    """y.sum()'s gradient (zero strides) is read as a view, with the dense gradient's numbers;
    a gradient broadcast along one axis only is copied."""
    x = np.random.default_rng(8).standard_normal((3, 1000)).astype(np.float32)
    for grad in (np.broadcast_to(np.float32(1.5), x.shape), np.broadcast_to(x[:1], x.shape)):
        dense = np.ascontiguousarray(grad)
        for backward in (
            gelu_kernel.gelu_backward,
            lambda a, g: softplus_kernel.softplus_backward(a, g, 1.0, 20.0),
            softplus_kernel.mish_backward,
            silu_kernel.silu_backward,
        ):
            assert np.array_equal(backward(x, grad), backward(x, dense))


def test_gelu_takes_the_fast_path_only_for_finite_float32(monkeypatch):
    """float32 without inf goes to kernels/gelu.py; inf, NaN-free or not, and other dtypes go
    through erf_array, and both give the reference formula's values."""
    calls = []
    forward, backward = gelu_kernel.gelu_forward, gelu_kernel.gelu_backward
    monkeypatch.setattr(gelu_kernel, "gelu_forward", lambda x: calls.append("f") or forward(x))
    monkeypatch.setattr(
        gelu_kernel, "gelu_backward", lambda x, g: calls.append("b") or backward(x, g)
    )
    values = [-3.0, -0.5, 0.0, 0.25, 2.0]
    for data, fast in (
        (values, True),
        (values + [np.inf, -np.inf], False),
        (values + [np.nan], False),
    ):
        calls.clear()
        x = tinyconv.tensor(np.array(data, np.float32), requires_grad=True)
        y = F.gelu(x)
        y.sum().backward()
        assert calls == (["f", "b"] if fast else [])
        x64 = np.array(data, np.float64)
        with np.errstate(invalid="ignore"):  # -inf * 0
            ref = 0.5 * x64 * (1 + erf_array(x64 / math.sqrt(2)))
        np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-6, atol=1e-7)
    calls.clear()
    F.gelu(tinyconv.tensor(values, dtype=tinyconv.float64))
    assert calls == []


@pytest.mark.parametrize(
    "shape, n_axes",
    [((4, 5, 6), 1), ((3, 4, 5, 6), 2), ((2, 3), 2), ((0, 4), 1), ((3, 0), 1), ((7,), 1)],
)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=str)
def test_layer_norm_trailing_mean_equals_the_mean(shape, n_axes, dtype):
    """layer_norm's row means (one BLAS matrix-vector product) are NumPy's means, up to the
    order of the float sums; shapes with no numbers take NumPy's mean itself."""
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype) + 3
    axes = tuple(range(x.ndim - n_axes, x.ndim))
    with np.errstate(invalid="ignore", divide="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing
            got = normalization._trailing_mean(x, axes)
            ref = x.mean(axis=axes, keepdims=True)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    tol = {np.float16: 1e-3, np.float32: 1e-6, np.float64: 1e-14}[dtype]
    np.testing.assert_allclose(got, ref, rtol=tol, atol=0)
    # with a weight (backward's mean(gh * xhat)): the mean of x * weight, in x's dtype
    w = np.random.default_rng(1).uniform(0.5, 2, shape[x.ndim - n_axes :]).astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = normalization._trailing_mean(x, axes, w)
            ref = (x.astype(np.float64) * w).mean(axis=axes, keepdims=True)
    assert got.dtype == x.dtype and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=4 * tol, atol=0)


# -- branch-free zeroing and relu -------------------------------------------------------------


def _arrays(dtype):
    values = st.one_of(
        st.sampled_from(SPECIAL),
        st.floats(-1e3, 1e3, allow_nan=False, width=16 * dtype.itemsize // 2),
    )
    return st.integers(0, 40).flatmap(
        lambda n: st.tuples(
            st.lists(values, min_size=n, max_size=n),
            st.lists(st.booleans(), min_size=n, max_size=n),
        )
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=str)
@settings(max_examples=40)
@given(data=st.data())
def test_zero_where_is_np_where_bit_for_bit(dtype, data):
    values, mask = data.draw(_arrays(np.dtype(dtype)))
    x = np.array(values, dtype=dtype)
    m = np.array(mask, dtype=bool)
    for xs, ms in ((x, m), (x[::2], m[::2]), (x.reshape(1, -1)[:, ::-1], m.reshape(1, -1))):
        got = _zero_where(ms, xs)
        ref = np.where(ms, np.zeros((), dtype), xs)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        assert np.array_equal(got.view(np.uint8), ref.view(np.uint8))  # same bits (+0, NaN)


def test_zero_where_0d_and_fallbacks():
    assert _zero_where(np.array(True), np.array(-2.0)) == 0.0
    assert np.signbit(_zero_where(np.array(False), np.array(-0.0)))
    ints = _zero_where(np.array([True, False]), np.array([3, 4]))
    assert ints.tolist() == [0, 4]
    broadcast = _zero_where(np.array([[True], [False]]), np.array([1.0, 2.0]))
    assert broadcast.tolist() == [[0.0, 0.0], [1.0, 2.0]]
    not_bool = _zero_where(np.array([2, 0]), np.array([3.0, -4.0]))  # any non-zero selects
    assert not_bool.tolist() == [0.0, -4.0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_relu_is_clamp_min_bit_for_bit(dtype):
    x = np.array(SPECIAL + [-2.5, 3.5, -1e-30, 1e-30], dtype=dtype)
    t = tinyconv.tensor(x, requires_grad=True)
    y = t.relu()
    ref = np.where(x < 0, np.zeros((), x.dtype), x)  # NaN stays, -0.0 stays
    assert np.array_equal(y.detach().numpy().view(np.uint8), ref.view(np.uint8))
    g = np.array([np.inf, -np.inf, 1.0, np.nan, 2.0, 3.0, -4.0, 5, 6, 7, 8], dtype=dtype)
    y.backward(tinyconv.tensor(g))
    ref_g = np.where(ref <= 0, np.zeros((), x.dtype), g)
    assert np.array_equal(t.grad.numpy().view(np.uint8), ref_g.view(np.uint8))
    # relu_ zeroes a C-contiguous tensor's own array (ReluInplace), the same bits and gradient
    t2 = tinyconv.tensor(x, requires_grad=True)
    y2 = t2 * 1
    data = y2._data
    y2.relu_()
    assert y2._data is data and np.array_equal(data.view(np.uint8), ref.view(np.uint8))
    y2.backward(tinyconv.tensor(g))
    assert np.array_equal(t2.grad.numpy().view(np.uint8), ref_g.view(np.uint8))
    strided = tinyconv.tensor(np.stack([x, x], 1))[:, 0]  # (relu's new array, copied back)
    got = np.ascontiguousarray(strided.relu_().numpy())
    assert np.array_equal(got.view(np.uint8), ref.view(np.uint8))


# -- batch_norm -------------------------------------------------------------------------------


def _batch_norm_reference(x, w, b, g, eps):
    """Textbook training-mode batch norm and its gradients, float64, over axes (0, 2, ...)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    m = x.size // x.shape[1]
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    y = xhat * w.reshape(shape) + b.reshape(shape)
    gh = g * w.reshape(shape)
    gx = (
        (
            m * gh
            - gh.sum(axis=axes, keepdims=True)
            - xhat * (gh * xhat).sum(axis=axes, keepdims=True)
        )
        / m
        / np.sqrt(var + eps)
    )
    return y, gx, (g * xhat).sum(axis=axes), g.sum(axis=axes)


@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (2, 5, 7), (8, 4), (3, 2, 2, 3, 2), (2, 3, 9, 10)])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_batch_norm_fused_math_equals_textbook(shape, layout):
    rng = np.random.default_rng(sum(shape))
    big = rng.standard_normal(shape[:-1] + (2 * shape[-1],)) * 3 + 1
    x = big[..., ::2] if layout == "strided" else np.ascontiguousarray(big[..., ::2])
    w, b = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    g = rng.standard_normal(shape)
    xt = tinyconv.tensor(x, requires_grad=True)
    wt, bt = tinyconv.tensor(w, requires_grad=True), tinyconv.tensor(b, requires_grad=True)
    y = F.batch_norm(xt, None, None, wt, bt, training=True, eps=1e-5)
    y.backward(tinyconv.tensor(g))
    ry, rgx, rgw, rgb = _batch_norm_reference(x, w, b, g, 1e-5)
    for got, ref in ((y, ry), (xt.grad, rgx), (wt.grad, rgw), (bt.grad, rgb)):
        np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "shape",
    [
        # up to channels.SMALL_ROWS rows and SMALL_SIZE values: one np.add.reduce
        (5, 3),
        (4, 3, 2, 2),
        (2, 3, 8, 8),
        (2, 3, 9, 10),
        (3, 2, 4, 5, 6),
        (1, 2, 70),
        # past it: one value per row, short rows (batch first), long rows (one GEMV)
        (70, 3),
        (16, 8, 4, 4),
        (2, 40, 9, 10),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
def test_channel_sums_equal_np_sum(shape, dtype):
    """batch_norm's per-channel sums (one reduce for small arrays, batch first for short rows,
    one GEMV or batched dot product per row for long ones) give np.sum's numbers on every
    path."""
    rng = np.random.default_rng(len(shape))
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    axes = (0,) + tuple(range(2, a.ndim))
    tol = 1e-5 if dtype == np.float32 else 1e-13
    for x, y in ((a, b), (a[:, ::-1], b), (a, b[::-1])):  # contiguous, and the np.sum fallback
        got_sum, got_dot = channel_sum(x), channel_dot(x, y)
        assert got_sum.dtype == got_dot.dtype == dtype and got_sum.shape == (shape[1],)
        ref_sum = np.sum(x.astype(np.float64), axis=axes)
        ref_dot = np.sum(x.astype(np.float64) * y, axis=axes)
        np.testing.assert_allclose(got_sum, ref_sum, rtol=tol, atol=tol * x.shape[0])
        np.testing.assert_allclose(got_dot, ref_dot, rtol=tol, atol=tol * x.shape[0])


@pytest.mark.parametrize(
    "shape", [(2, 3), (4, 3, 2, 2), (2, 3, 9, 10), (1, 3, 9, 10), (3, 2, 4, 5, 6), (2, 2, 1030)]
)
@pytest.mark.parametrize("repeat_max", [None, 1])
def test_channel_vector_broadcasts_as_the_reshaped_vector(shape, repeat_max, monkeypatch):
    """batch_norm's per-channel vectors, repeated out to a whole sample, give the very
    products of the plain (1, C, 1, ...) broadcast."""
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    v = rng.standard_normal(shape[1]).astype(np.float32)
    plain = v.reshape((1, -1) + (1,) * (len(shape) - 2))
    if repeat_max is not None:  # samples past channels.REPEAT_MAX keep the plain broadcast
        monkeypatch.setattr(channels, "REPEAT_MAX", repeat_max)
    for xs in (x, x[:, ::-1]):  # contiguous, and the plain fallback
        got = channel_vector(v, xs)
        assert got.ndim == xs.ndim and got.dtype == v.dtype
        for op in (np.multiply, np.add, np.subtract):
            assert np.array_equal(op(xs, got), op(xs, plain))


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (16, 4, 32, 32), (1, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=str)
def test_global_average_pool_fast_path_equals_the_mean(shape, dtype):
    """adaptive_avg_pool2d to (1, 1) (one GEMV with ones; float16 and non-contiguous inputs
    keep the slice-sums): the mean over H and W, NaN and inf only in their own rows; its
    backward is grad / (H*W) on every pixel, bit for bit."""
    rng = np.random.default_rng(shape[2])
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[0], x.reshape(-1)[-1] = np.nan, np.inf
    ref = np.mean(x.astype(np.float64), axis=(2, 3), keepdims=True)
    tol = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-14}[dtype]
    for xs in (x, np.asfortranarray(x)):
        got = pool_k.adaptive_avg_pool2d_forward(xs, (1, 1))
        assert got.dtype == dtype and got.shape == shape[:2] + (1, 1)
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    g = rng.standard_normal(shape[:2] + (1, 1)).astype(dtype)
    grad = pool_k.adaptive_avg_pool2d_backward(g, shape)
    assert grad.dtype == dtype and grad.flags.c_contiguous
    h_w = np.array(shape[2] * shape[3], dtype)
    assert np.array_equal(grad, np.broadcast_to(g / h_w, shape))


def test_leaf_grad_has_the_leafs_layout():
    """.grad is laid out like its leaf (PyTorch's layout contract), whatever layout the op's
    backward made: conv's weight gradient comes out transposed, and an optimiser mixing
    layouts runs ~4x slower. Values and dtype as the op's gradient."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    t = rng.standard_normal((5, 3))  # a transposed leaf: its grad keeps the transposed strides
    grads = []
    for lib in (tinyconv, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        tt = lib.tensor(t).t().detach().requires_grad_()
        lib.nn.functional.conv2d(xt, wt, padding=1).square().sum().backward()
        (tt * 2).sum().backward()
        grads.append([(g.grad.stride(), g.grad.dtype, g.grad.detach().numpy()) for g in (wt, tt)])
    for (stride, dtype, got), (t_stride, t_dtype, ref) in zip(*grads, strict=True):
        assert stride == t_stride and str(dtype).split(".")[-1] == str(t_dtype).split(".")[-1]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert grads[0][0][2].flags.c_contiguous


def test_leaf_grad_copy_fast_path_equals_general():
    """_grad_like's plain copy (gradient and leaf both C-ordered, same dtype and shape) gives
    what the general path (empty_like the leaf, copyto) gives: values, dtype, strides; the
    other cases (a cast, a transposed gradient or leaf, a scalar) take the general path."""
    from tinyconv.autograd.engine import _grad_like

    rng = np.random.default_rng(2)
    g = rng.standard_normal((4, 3, 2)).astype(np.float32)
    leaf = np.zeros((4, 3, 2), np.float32)
    cases = [
        (g, leaf),  # fast path
        (g.astype(np.float64), leaf),  # a cast
        (np.asfortranarray(g), leaf),  # a gradient in another layout
        (g, np.asfortranarray(leaf)),  # a leaf in another layout
        (np.float32(1.5), np.zeros((), np.float32)),  # a NumPy scalar
    ]
    for grad, data in cases:
        got = _grad_like(grad, data)
        ref = np.empty_like(data)
        np.copyto(ref, grad, casting="unsafe")
        assert got.dtype == ref.dtype and got.strides == ref.strides
        np.testing.assert_array_equal(got, ref)
        assert not np.shares_memory(got, grad)


@pytest.mark.parametrize(
    "shape, kw",
    [
        ((2, 3, 4), {}),  # a 0-d gradient filled in (Sum.backward's fill)
        ((2, 3, 4), {"dim": (0, 1, 2)}),  # every axis named: 0-d too
        ((2, 3, 4), {"dim": (0, 1, 2), "keepdim": True}),  # (1, 1, 1): the general path
        ((2, 3, 4), {"dim": 1}),  # the general path
        ((2, 3, 4), {"dtype": tinyconv.float64}),  # a float64 gradient cast to float32
        ((), {}),
        ((0, 3), {}),
        ((70, 70), {}),  # past _SMALL_GRAD: a broadcast view
    ],
)
def test_sum_gradient_fill_equals_the_broadcast(shape, kw):
    """Sum's backward (a 0-d gradient filled into a new array for small inputs, else spread
    from its kept axes) gives the output gradient broadcast to the input, in its dtype."""
    x = tinyconv.zeros(shape, requires_grad=True)
    y = x.sum(**kw)
    g = np.random.default_rng(5).standard_normal(y.shape).astype(y.detach().numpy().dtype)
    y.backward(tinyconv.tensor(g))
    axes = kw.get("dim", tuple(range(len(shape))))
    want = g if kw.get("keepdim") else np.expand_dims(g, axes)
    want = np.broadcast_to(want, shape).astype(np.float32)
    assert x.grad.dtype == tinyconv.float32 and x.grad.shape == shape
    np.testing.assert_array_equal(x.grad.numpy(), want)


# -- optimisers -------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [None, 5], ids=["whole", "chunked"])
def test_in_place_optimiser_updates_equal_the_textbook_updates(chunk, monkeypatch):
    if chunk is not None:  # SGD's (3, 4) parameter goes through kernels/updates.py in chunks
        monkeypatch.setattr(updates, "CHUNK", chunk)
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(3)]
    for name, kw in (
        ("sgd", {"lr": 0.1, "momentum": 0.9}),
        ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
        ("adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6}),
        ("adam", {"lr": 0.01, "amsgrad": True}),
    ):
        p = tinyconv.tensor(p0.copy(), requires_grad=True)
        opt = (tinyconv.optim.SGD if name == "sgd" else tinyconv.optim.Adam)([p], **kw)
        ref, buf, m, v, vmax = p0.copy(), None, 0.0, 0.0, 0.0
        for t, g in enumerate(grads, 1):
            p.grad = tinyconv.tensor(g)
            opt.step()
            if name == "sgd":
                buf = (
                    g.copy()
                    if buf is None
                    else kw["momentum"] * buf + (1 - kw.get("dampening", 0)) * g
                )
                ref = ref - kw["lr"] * buf
            else:
                b1, b2 = kw.get("betas", (0.9, 0.999))
                m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
                vmax = np.maximum(vmax, v) if kw.get("amsgrad") else v
                denom = np.sqrt(vmax) / math.sqrt(1 - b2**t) + kw.get("eps", 1e-8)
                ref = ref - kw["lr"] / (1 - b1**t) * (m / denom)
            np.testing.assert_allclose(
                p.detach().numpy(), ref, rtol=1e-12, atol=1e-14, err_msg=f"{name} {kw}"
            )


@pytest.mark.parametrize("chunk", [4, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
@pytest.mark.parametrize(
    "kw",
    [
        {"momentum": 0.9, "dampening": 0, "nesterov": False},
        {"momentum": 0.9, "dampening": 0.3, "nesterov": False},
        {"momentum": 0.8, "dampening": 0, "nesterov": True},
        {"momentum": 0, "dampening": 0, "nesterov": False},
    ],
    ids=["momentum", "dampening", "nesterov", "plain"],
)
def test_chunked_sgd_update_equals_the_whole_array_expressions(chunk, dtype, kw, monkeypatch):
    """kernels/updates.sgd_update_ runs SGD's update chunk by chunk: the same numbers, bit
    for bit, as the whole-array expressions, over sizes that end mid-chunk."""
    monkeypatch.setattr(updates, "CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    for shape in ((3, 4, 5), (13,), (2, 2), (1,)):
        p = rng.standard_normal(shape).astype(dtype)
        d = rng.standard_normal(shape).astype(dtype)
        buf = rng.standard_normal(shape).astype(dtype) if kw["momentum"] else None
        ref_p, ref_buf, lr, m = p.copy(), None if buf is None else buf.copy(), 0.1, kw["momentum"]
        step = d
        if m:
            ref_buf *= m
            ref_buf += (1 - kw["dampening"]) * d if kw["dampening"] else d
            step = d + m * ref_buf if kw["nesterov"] else ref_buf
        ref_p -= lr * step
        # (one chunk or less is left to the plain expressions)
        assert updates.sgd_update_(p, d, buf, lr, **kw) == (p.size > chunk)
        if p.size <= chunk:
            continue
        assert np.array_equal(p, ref_p) and (buf is None or np.array_equal(buf, ref_buf))


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=str)
def test_chunked_adam_update_equals_the_whole_array_expressions(amsgrad, dtype, monkeypatch):
    """kernels/updates.adam_update_: optim/adam.py's whole-array expressions (one scratch
    array), chunk by chunk: the same numbers bit for bit, over three steps."""
    monkeypatch.setattr(updates, "CHUNK", 7)
    rng = np.random.default_rng(3)
    shape, lr, b1, b2, eps = (5, 6), 0.01, 0.8, 0.95, 1e-6
    p = rng.standard_normal(shape).astype(dtype)
    m, v = np.zeros(shape, dtype), np.zeros(shape, dtype)
    vmax = np.zeros(shape, dtype) if amsgrad else None
    rp, rm, rv = p.copy(), m.copy(), v.copy()
    rvmax = None if vmax is None else vmax.copy()
    for t in (1, 2, 3):
        g = rng.standard_normal(shape).astype(dtype)
        tmp = np.multiply(g, 1 - b1, dtype=dtype)
        rm *= b1
        rm += tmp
        np.multiply(g, 1 - b2, out=tmp)
        tmp *= g
        rv *= b2
        rv += tmp
        denom_v = rv
        if amsgrad:
            np.maximum(rvmax, rv, out=rvmax)
            denom_v = rvmax
        np.sqrt(denom_v, out=tmp)
        tmp /= math.sqrt(1 - b2**t)
        tmp += eps
        np.divide(rm, tmp, out=tmp)
        tmp *= lr / (1 - b1**t)
        rp -= tmp
        assert updates.adam_update_(p, g, m, v, vmax, lr, b1, b2, eps, t)
        for got, ref in ((p, rp), (m, rm), (v, rv), (vmax, rvmax)):
            assert got is None or np.array_equal(got, ref)


def test_chunked_sgd_update_declines_what_it_cannot_do(monkeypatch):
    """Mixed dtypes, non-contiguous arrays, overlapping arrays and a tensor lr are left to the
    plain expressions (the kernel returns False and changes nothing)."""
    p = np.ones(6, np.float32)
    d = np.full(6, 2.0, np.float32)
    buf = np.full(6, 3.0, np.float32)
    monkeypatch.setattr(updates, "CHUNK", 2)  # (arrays of one chunk are always declined)
    for args in (
        (p, d.astype(np.float64), buf, 0.1),
        (p, np.full(12, 2.0, np.float32)[::2], buf, 0.1),
        (p, d, p, 0.1),
        (p, d, buf, np.float32(0.1)),
        (p.astype(np.int64), d.astype(np.int64), None, 1),
    ):
        before = [None if a is None else a.copy() for a in args[:3]]
        assert not updates.sgd_update_(*args, 0.9, 0, False)
        for a, b in zip(args[:3], before, strict=True):
            assert a is None or np.array_equal(a, b)
    assert np.array_equal(p, np.ones(6, np.float32)) and np.array_equal(buf, np.full(6, 3.0))
    assert updates.sgd_update_(p, d, buf, 0.1, 0.9, 0, False)  # (and does what it can)


@pytest.mark.parametrize("how", ["method", "functional", "module"])
def test_in_place_relu_without_a_copy_keeps_pytorchs_graph(how):
    """relu_ reads its input's array directly (relu saves only its output): values, the
    gradient, the node, the version and the in-place error after it are PyTorch's."""
    torch = pytest.importorskip("torch")
    x0 = np.array([[-1.5, -0.0, 0.0, 2.0], [np.nan, -np.inf, np.inf, 0.5]], np.float32)
    got = []
    for lib in (tinyconv, torch):
        fns = {
            "method": lambda t: t.relu_(),
            "functional": lambda t, lib=lib: lib.nn.functional.relu(t, inplace=True),
            "module": lambda t, lib=lib: lib.nn.ReLU(inplace=True)(t),
        }
        x = lib.tensor(x0, requires_grad=True)
        y = x * 2
        v0 = y._version
        z = fns[how](y)
        assert z is y and y._version == v0 + 1
        name = type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name()
        (z * lib.tensor(np.arange(8, dtype=np.float32).reshape(2, 4))).sum().backward(
            retain_graph=True
        )
        z.add_(1)  # the node saved its output, now changed: backward must refuse
        with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place"):
            z.sum().backward()
        got.append((name, y, x.grad))
    (name, y, g), (t_name, t_y, t_g) = got
    assert name == t_name
    np.testing.assert_array_equal(y.detach().numpy(), t_y.detach().numpy())
    np.testing.assert_array_equal(g.numpy(), t_g.numpy())
    assert np.array_equal(np.signbit(y.detach().numpy()), np.signbit(t_y.detach().numpy()))


# -- float32 throughout -----------------------------------------------------------------------


class _Float64Spy:
    """Stands in for the `np` of tinyconv's modules: every NumPy function call goes through,
    and each float64 array (or scalar) it returns is counted by (function, caller line)."""

    def __init__(self, seen: collections.Counter) -> None:
        self._seen, self._wrapped = seen, {}

    def __getattr__(self, name):
        attr = getattr(np, name)
        if not callable(attr) or isinstance(attr, type):
            return attr
        if name not in self._wrapped:
            self._wrapped[name] = _Watched(attr, name, self._seen)
        return self._wrapped[name]


class _Watched:
    def __init__(self, fn, name, seen):
        self._fn, self._name, self._seen = fn, name, seen

    def __call__(self, *args, **kwargs):
        result = self._fn(*args, **kwargs)
        for r in result if isinstance(result, tuple) else (result,):
            if isinstance(r, (np.ndarray, np.generic)) and r.dtype == np.float64:
                caller = sys._getframe(1)
                code = caller.f_code
                where = f"{code.co_filename.split('tinyconv')[-1]}:{caller.f_lineno} {code.co_name}"
                self._seen[(self._name, where)] += 1
        return result

    def __getattr__(self, name):  # np.add.at, np.maximum.reduce, ...
        return getattr(self._fn, name)


def test_float32_training_step_makes_no_float64_arrays(monkeypatch):
    """Conv (dense and depthwise), BatchNorm, relu, relu6, max/avg pooling, linear, gelu,
    cross-entropy, backward, and SGD-momentum and Adam steps, all in float32: no NumPy call
    in tinyconv returns a float64 array, and every output, gradient and optimiser buffer is
    float32. (GELU runs in float32 passes, kernels/gelu.py. erf is evaluated in float64 on
    purpose, to round once, and so are the random stream's float32 fma and Box-Muller steps,
    which emulate PyTorch's rounding; they are listed.)"""
    seen: collections.Counter = collections.Counter()
    spy = _Float64Spy(seen)
    for name, module in list(sys.modules.items()):
        if name.startswith("tinyconv") and getattr(module, "np", None) is np:
            monkeypatch.setattr(module, "np", spy)
    nn = tinyconv.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
            self.c2, self.bn2 = (
                nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                nn.BatchNorm2d(8),
            )
            self.fc1, self.fc2 = nn.Linear(8 * 4 * 4, 10), nn.Linear(10, 10)

        def forward(self, x):
            y = F.max_pool2d(tinyconv.relu(self.bn1(self.c1(x))), 2)
            y = F.avg_pool2d(F.relu6(self.bn2(self.c2(y))) + y, 2)
            return self.fc2(F.gelu(self.fc1(tinyconv.flatten(y, 1))))

    net = Net()
    x, target = tinyconv.randn(4, 3, 16, 16), tinyconv.tensor([1, 2, 3, 4])
    for opt in (
        tinyconv.optim.SGD(net.parameters(), lr=0.1, momentum=0.9),
        tinyconv.optim.Adam(net.parameters(), lr=1e-3),
    ):
        for _ in range(2):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), target)
            loss.backward()
            opt.step()
            assert loss.dtype == tinyconv.float32
            for p in net.parameters():
                assert p.dtype == tinyconv.float32 and p.grad.dtype == tinyconv.float32
        for state in opt.state.values():
            for v in state.values():
                assert not isinstance(v, np.ndarray) or v.dtype == np.float32
    leaks = {
        k: n
        for k, n in seen.items()
        if not k[1].endswith(
            (" erf_array", " _erf_coefficients", " _fma32", " _to_odd", " _box_muller16")
        )
    }
    assert not leaks, f"float64 arrays made in a float32 step: {leaks}"
    assert seen, "the spy saw no float64 at all: randn's deliberate float64 should show"


# -- row scatter-add (embedding's backward) ---------------------------------------------------


@pytest.mark.parametrize(
    "n,num,width,heavy",
    [
        (0, 5, 3, False),
        (1, 1, 1, False),
        (300, 7, 1, True),
        (500, 40, 9, False),
        (2000, 3, 4, True),
        (2000, 80, 3, False),  # 80 indices past the 16 rank passes: more passes, not accumulates
        (3000, 100, 2, True),
    ],
)
def test_add_rows_is_np_add_at_bit_for_bit(n, num, width, heavy):
    """Sums in np.add.at's order, so bit-equal: duplicates past the rank passes (one index many
    times), width 1 (where a pairwise reduce would differ), -0.0 alone in a row, non-contiguous
    rows, float32 and float64."""
    from tinyconv.kernels.scatter import add_rows

    rng = np.random.default_rng(n + num)
    for dtype in (np.float32, np.float64):
        idx = rng.integers(0, num, n)
        if heavy:
            idx[: n // 2] = 0  # one index far more often than the 16 rank passes
        scale = 10.0 ** rng.integers(-3, 4, (n, 1))
        big = (rng.standard_normal((n, 2 * width)) * scale).astype(dtype)
        rows = big[:, ::2]  # (non-contiguous)
        if n:
            rows[idx == num - 1] = -0.0
        want = rng.standard_normal((num, width)).astype(dtype)
        want[-1] = 0.0
        got = want.copy()
        np.add.at(want, idx, rows)
        add_rows(got, idx, rows)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        assert got.dtype == dtype


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_add_of_whole_slices_is_np_add_at_bit_for_bit(dim):
    """index_add (a broadcast index), scatter_add with that index written out and index_put_
    with accumulate add whole slices by add_rows: np.add.at's sums bit for bit, in its order
    (values over 7 decades, one index past the rank passes); the source's gradient is the
    plain gather. A narrower index (not whole slices) still takes np.add.at."""
    rng = np.random.default_rng(11 + dim)
    shape = (6, 5, 4)
    d = dim % 3
    n = 70
    idx = rng.integers(0, shape[d], n)
    idx[:30] = 1
    src_shape = shape[:d] + (n,) + shape[d + 1 :]
    x = rng.standard_normal(shape).astype(np.float32)
    s = (rng.standard_normal(src_shape) * 10.0 ** rng.integers(-3, 4, src_shape)).astype(np.float32)
    view = [1, 1, 1]
    view[d] = -1
    full = np.broadcast_to(idx.reshape(view), src_shape).copy()
    grids = list(np.indices(src_shape, sparse=True))
    grids[d] = full
    want = x.copy()
    np.add.at(want, tuple(grids), s)
    xt = tinyconv.tensor(x, requires_grad=True)
    st_ = tinyconv.tensor(s, requires_grad=True)
    out = xt.index_add(dim, tinyconv.tensor(idx), st_)
    np.testing.assert_array_equal(out.detach().numpy(), want)
    g = rng.standard_normal(shape).astype(np.float32)
    (out * tinyconv.tensor(g)).sum().backward()
    np.testing.assert_array_equal(st_.grad.numpy(), g[tuple(grids)])
    np.testing.assert_array_equal(xt.grad.numpy(), g)
    got = tinyconv.tensor(x).scatter_add(dim, tinyconv.tensor(full), tinyconv.tensor(s))
    np.testing.assert_array_equal(got.numpy(), want)
    if d == 0:
        put = tinyconv.tensor(x).index_put_((tinyconv.tensor(idx),), tinyconv.tensor(s), True)
        np.testing.assert_array_equal(put.numpy(), want)
    narrow = [slice(None)] * 3
    narrow[(d + 1) % 3] = slice(0, 2)  # index narrower than self in another dim
    grids_n = list(np.indices(full[tuple(narrow)].shape, sparse=True))
    grids_n[d] = full[tuple(narrow)]
    want_n = x.copy()
    np.add.at(want_n, tuple(grids_n), s[tuple(narrow)])
    got_n = tinyconv.tensor(x).scatter_add(
        dim, tinyconv.tensor(full[tuple(narrow)].copy()), tinyconv.tensor(s)
    )
    np.testing.assert_array_equal(got_n.numpy(), want_n)


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_backward_equals_the_add_at_reference(padding_idx, scale):
    rng = np.random.default_rng(5)
    idx = rng.integers(0, 30, (6, 50))
    idx[0] = 2  # padding row many times
    w = tinyconv.tensor(rng.standard_normal((30, 8)).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((6, 50, 8)).astype(np.float32)
    out = F.embedding(tinyconv.tensor(idx), w, padding_idx=padding_idx, scale_grad_by_freq=scale)
    (out * tinyconv.tensor(g)).sum().backward()
    flat, gg = idx.ravel(), g.reshape(-1, 8)
    if scale:
        inv = np.float32(1) / np.bincount(flat, minlength=30)[flat].astype(np.float32)
        gg = gg * inv[:, None]  # (the factor 1 / count, then a product, as PyTorch)
    if padding_idx is not None:
        gg = gg * (flat != padding_idx).astype(np.float32)[:, None]
    want = np.zeros((30, 8), np.float32)
    np.add.at(want, flat, gg)
    assert w.grad.dtype == tinyconv.float32
    np.testing.assert_array_equal(w.grad.numpy(), want)


# -- dropout's draw, activations' fast paths ----------------------------------------------------


@pytest.mark.parametrize(
    "p", [0.5, 0.0, 1.0, 0.3, 1 - 0.7, 0.9999999999999999, 2.0**-53, 3 * 2.0**-54, 1e-300, 0.1]
)
def test_bernoulli_integer_compare_equals_the_float64_uniform(p):
    from tinyconv import _rng

    g = _rng.Generator()
    for seed in (0, 7):
        g.manual_seed(seed)
        got, after = _rng.bernoulli(g, (3, 1001), p), g._words(3)
        g.manual_seed(seed)
        want, after_want = _rng.uniform(g, (3, 1001), np.float64) < p, g._words(3)
        assert got.dtype == np.bool_ and got.shape == (3, 1001)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(after, after_want)  # the same words consumed


def test_bernoulli_at_a_drawn_value_is_strict():
    from tinyconv import _rng

    g = _rng.Generator().manual_seed(3)
    u = _rng.uniform(g, (40,), np.float64)
    for v in u:  # p equal to one of the uniforms: that element is not < p
        g.manual_seed(3)
        np.testing.assert_array_equal(_rng.bernoulli(g, (40,), float(v)), u < v)


@pytest.mark.parametrize("r", [1.0, 0.75, 3.0, -2.5])
@pytest.mark.parametrize("c", [0.0, -0.0])
def test_fma64_zero_addend_is_the_rounded_product(r, c):
    from tinyconv import _rng

    x = np.array([0.0, 0.3, 1 - 2.0**-53, 2.0**-1074, 1 / 3, 0.7])
    got = _rng._fma64(x, r, c)
    want = np.array([float(Fraction(v) * Fraction(r)) for v in x])  # exact, rounded once
    # a zero product: +-0 + c, which is -0 only when both are -0 (IEEE's exact-zero sums)
    negative_zero = r < 0 and math.copysign(1, c) < 0  # (the zero x is +0)
    want[want == 0] = -0.0 if negative_zero else 0.0
    np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dropout_noise_equals_the_cast_mask_divided(dtype):
    from tinyconv import _rng

    dropout_mod = sys.modules["tinyconv.nn.functional.dropout"]  # (F.dropout is the function)
    tinyconv.manual_seed(11)
    got = dropout_mod._noise((5, 301), 0.3, np.dtype(dtype))
    tinyconv.manual_seed(11)
    keep = _rng.uniform(_rng._rng(), (5, 301), np.float64) < 1.0 - 0.3
    want = keep.astype(dtype) / np.dtype(dtype).type(1.0 - 0.3)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)


def _act_inputs(dtype) -> np.ndarray:
    """Random values, and the special ones each activation's selects and joins turn on."""
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 3.0, -3.0, 6.0, -6.0, 20.0]
    special += [np.nextafter(v, w) for v in (3.0, -3.0, 20.0) for w in (-np.inf, np.inf)]
    special += [1e-40, -1e-40, 88.0, -88.0, -89.0, -104.0, 0.5, -0.5]
    rng = np.random.default_rng(3)
    with np.errstate(over="ignore"):
        return np.concatenate([special, rng.standard_normal(3000) * 5]).astype(dtype)


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    both_nan = np.isnan(got) & np.isnan(want)
    it = f"u{got.dtype.itemsize}"
    assert ((got.view(it) == want.view(it)) | both_nan).all()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_where_is_np_where_bit_for_bit(dtype):
    from tinyconv.autograd.ops import _where

    a = _act_inputs(dtype)
    b = np.random.default_rng(4).permutation(a)
    mask = np.random.default_rng(5).random(a.shape) < 0.5
    for args in ((a, b), (a, 0), (0, b), (a, -0.0), (1, b), (a, 0.5), (a[::-1], b)):
        _same_bits(_where(mask, *args), np.where(mask, *args))
    for lhs, rhs in ((a.copy(), 0), (0, b.copy())):  # zero on either side, written in place
        out = lhs if isinstance(lhs, np.ndarray) else rhs
        want = np.where(mask, lhs, rhs)
        assert _where(mask, lhs, rhs, out=out) is out
        _same_bits(out, want)
    a2, b2 = a.copy(), b.copy()
    assert _where(mask, a2, b, out=a2) is a2
    assert _where(mask, a, b2, out=b2) is b2
    _same_bits(a2, np.where(mask, a, b))
    _same_bits(b2, np.where(mask, a, b))
    _same_bits(_where(np.bool_(True), a[:1].reshape(()), b[:1].reshape(())), a[:1].reshape(()))


def _reference_act(name: str, x: np.ndarray, g: np.ndarray, arg: float) -> tuple:
    """The activations' plain forms (np.where selects, one expression each), as they were
    before their in-place, select-free paths: (forward, backward)."""
    dt = x.dtype
    if dt == np.float16:  # PyTorch computes half in float32 and rounds once
        if name == "sigmoid":  # ... but its backward rounds each product: (g (1 - s)) s
            f = _reference_act(name, x.astype(np.float32), g, arg)[0].astype(dt)
            return f, g * (1 - f) * f
        f, b = _reference_act(name, x.astype(np.float32), g.astype(np.float32), arg)
        return f.astype(dt), b.astype(dt)
    with np.errstate(all="ignore"):
        if name == "leaky_relu":
            f = np.where(x > 0, x, x * arg)
            b = np.where(x > 0, g, g * arg)
        elif name == "elu":
            f = np.where(x > 0, x, np.expm1(np.minimum(x, 0)) * arg)
            b = np.where(x <= 0, g * arg * np.exp(np.minimum(x, 0)), g)
        elif name == "hardswish":
            f = x * np.clip(x + 3, 0, 6) / 6
            b = g * np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))
        elif name == "hardsigmoid":
            f = np.clip(x + 3, 0, 6) / 6
            b = np.where((x > -3) & (x < 3), g * float(np.float32(1 / 6)), 0)
        elif name == "sigmoid":
            f = np.asarray(1 / (1 + np.exp(-x)))  # (0 where e^-x overflows, as PyTorch)
            b = g * f * (1 - f)
        elif name == "silu":
            s = _reference_act("sigmoid", x, g, arg)[0]
            f = x / (1 + np.exp(-x))  # PyTorch's form (-0 where e^-x overflows)
            b = (g * s) * (1 + x * (1 - s))  # (PyTorch's order)
    return f.astype(dt), b.astype(dt)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    "name, arg",
    [
        ("leaky_relu", 0.01),
        ("leaky_relu", 1.0),
        ("leaky_relu", 0.0),
        ("leaky_relu", -0.3),
        ("leaky_relu", 1.5),
        ("elu", 1.0),
        ("elu", 0.4),
        ("hardswish", 0),
        ("hardsigmoid", 0),
        ("sigmoid", 0),
        ("silu", 0),
    ],
)
def test_activation_fast_paths_equal_the_plain_selects(name, arg, dtype):
    x = _act_inputs(dtype)
    g = np.random.default_rng(6).permutation(_act_inputs(dtype))
    g[:5] = [np.inf, -np.inf, np.nan, 0.0, -0.0]
    want_f, want_b = _reference_act(name, x, g, arg)

    def act(t):
        if name == "sigmoid":
            return t.sigmoid()
        return getattr(F, name)(t, arg) if name in ("leaky_relu", "elu") else getattr(F, name)(t)

    t = tinyconv.tensor(x, requires_grad=True)
    y = act(t)
    y.backward(tinyconv.tensor(g))
    _same_bits(y.detach().numpy(), want_f)
    _same_bits(t.grad.numpy(), want_b)
    # a strided input takes the same path
    _same_bits(act(tinyconv.tensor(np.stack([x, x], 1))[:, 0]).numpy(), want_f)


@pytest.mark.parametrize("threads", [1, 2])
def test_silu_blocks_equal_the_whole_array_form(threads):
    """kernels/silu.py's blocks (C-contiguous float32 of a block or more) give the numbers of
    Silu's whole-array form (a strided input takes it), with a broadcast gradient too."""
    n = silu_kernel.BLOCK + 37
    x = np.resize(_act_inputs(np.float32), n)
    x[-40:] = [-np.inf, np.nan, -100.0, -88.0] * 10  # specials in the last, short block
    g = np.random.default_rng(7).standard_normal(n).astype(np.float32)
    strided = np.stack([x, x], 1)[:, 0]
    old = tinyconv.get_num_threads()
    tinyconv.set_num_threads(threads)
    try:
        for grad in (g, np.broadcast_to(np.float32(1.5), (n,))):
            got = tinyconv.tensor(x, requires_grad=True)
            want = tinyconv.tensor(strided, requires_grad=True)
            for t in (got, want):
                F.silu(t).backward(tinyconv.tensor(grad))
            _same_bits(F.silu(tinyconv.tensor(x)).numpy(), F.silu(tinyconv.tensor(strided)).numpy())
            _same_bits(got.grad.numpy(), want.grad.numpy())
    finally:
        tinyconv.set_num_threads(old)


# -- softplus and mish in float32 (kernels/softplus.py) -----------------------------------------


def _rounded(fn, a: np.ndarray) -> np.ndarray:
    """fn in float64, rounded once to float32: the plain form of the kernel's steps."""
    with np.errstate(all="ignore"):
        return fn(a.astype(np.float64)).astype(np.float32)


def _softplus_plain(x, g, beta, threshold):
    b, thr = np.float32(beta), np.float32(threshold)
    with np.errstate(all="ignore"):
        bx = x * b
        z = _rounded(np.exp, bx)
        f = np.where(bx > thr, x, _rounded(np.log1p, z) / b)
        d = np.where(bx > thr, g, g * z / (z + np.float32(1)))
    return f, d


def _mish_plain(x, g):
    with np.errstate(all="ignore"):
        t = _rounded(np.tanh, _rounded(np.log1p, _rounded(np.exp, x)))
        s = np.float32(1) / (np.float32(1) + _rounded(np.exp, -x))
        return x * t, g * (t + x * s * (np.float32(1) - t * t))


@pytest.mark.parametrize("block", [7, 1 << 15])
@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 10.0), (0.5, 20.0), (1.0, 80.0)])
def test_softplus_float32_kernel_equals_its_plain_form(beta, threshold, block, monkeypatch):
    monkeypatch.setattr(softplus_kernel, "BLOCK", block)  # block edges inside the data
    x = _act_inputs(np.float32)
    x = np.concatenate([x, [threshold / beta, np.nextafter(np.float32(threshold / beta), 0)]])
    x = x.astype(np.float32)
    g = np.random.default_rng(8).permutation(x)
    want_f, want_d = _softplus_plain(x, g, beta, threshold)
    t = tinyconv.tensor(x, requires_grad=True)
    y = F.softplus(t, beta, threshold)
    y.backward(tinyconv.tensor(g))
    _same_bits(y.detach().numpy(), want_f)
    _same_bits(t.grad.numpy(), want_d)
    # and within 2 float32 ulps of the logaddexp reference (which float64 still takes)
    ref = F.softplus(tinyconv.tensor(x.astype(np.float64)), beta, threshold).numpy()
    fin = np.isfinite(ref) & (np.abs(x) < 1e30)
    np.testing.assert_allclose(want_f[fin], ref[fin], rtol=2.5e-7, atol=1e-44)


@pytest.mark.parametrize("block", [7, 1 << 15])
def test_mish_float32_kernel_equals_its_plain_form(block, monkeypatch):
    monkeypatch.setattr(softplus_kernel, "BLOCK", block)
    x = _act_inputs(np.float32)
    g = np.random.default_rng(9).permutation(x)
    g[:3] = [np.inf, np.nan, -0.0]
    want_f, want_d = _mish_plain(x, g)
    t = tinyconv.tensor(x, requires_grad=True)
    y = F.mish(t)
    y.backward(tinyconv.tensor(g))
    _same_bits(y.detach().numpy(), want_f)
    _same_bits(t.grad.numpy(), want_d)
    ref = F.mish(tinyconv.tensor(x.astype(np.float64))).numpy()
    fin = np.isfinite(ref) & (np.abs(x) < 1e30) & (np.abs(ref) > 1e-30)
    np.testing.assert_allclose(want_f[fin], ref[fin], rtol=5e-7)


def test_softplus_kernel_declines_large_thresholds_and_other_dtypes():
    # mish's double backward asks softplus for threshold inf: the logaddexp reference, which
    # does not overflow (the kernel's e^x would, past 88)
    x = tinyconv.tensor(np.array([100.0, -3.0, 0.5], np.float32))
    np.testing.assert_array_equal(F.softplus(x, 1.0, math.inf).numpy()[0], np.float32(100.0))
    for dtype in (np.float16, np.float64):
        xd = _act_inputs(dtype)
        with np.errstate(all="ignore"):
            want = np.where(xd > 20, xd, np.logaddexp(0, xd)).astype(dtype)
        _same_bits(F.softplus(tinyconv.tensor(xd)).numpy(), want)


# -- var / std of all elements: float64 squares in blocks -------------------------------------


@pytest.mark.parametrize("shape", [(7,), (3, 5, 4), (70_001,), (2, 40_000)])
def test_blocked_var_std_equal_the_float64_reference(shape):
    """var/std of all float32 elements (and float16) come from float64 squares summed block by
    block: equal to casting the whole array to float64 first and rounding once, also for
    non-contiguous input, with NaN and inf, and keepdim; the gradient too."""
    rng = np.random.default_rng(len(shape))
    base = (rng.standard_normal(shape) * 3 + 100).astype(np.float32)
    views = [base, base[..., ::-1]] + ([base.T] if base.ndim > 1 else [])
    for a in views:
        for dtype in (np.float32, np.float16):
            arr = a.astype(dtype)
            x64 = arr.astype(np.float64)
            for correction in (0, 1):
                var = np.sum((x64 - x64.mean()) ** 2) / (x64.size - correction)
                t = tinyconv.tensor(arr)
                got = t.var(correction=correction)
                assert got.dtype == t.dtype
                np.testing.assert_array_equal(got.numpy(), np.asarray(var).astype(dtype))
                np.testing.assert_array_equal(
                    t.std(correction=correction).numpy(), np.sqrt(var).astype(dtype)
                )
                kept = t.var(dim=tuple(range(arr.ndim)), correction=correction, keepdim=True)
                assert kept.shape == (1,) * arr.ndim
                np.testing.assert_array_equal(kept.numpy().ravel(), [np.asarray(var).astype(dtype)])
    for special in (np.nan, np.inf):
        b = base.copy()
        b.flat[3] = special
        assert np.isnan(tinyconv.tensor(b).var().item())
    x = tinyconv.tensor(base, requires_grad=True)
    x.std().backward()
    centered = base - np.add.reduce(base, axis=None, keepdims=True) / base.size
    g = np.float32(1) / (2 * x.std().detach().numpy())
    want = (np.float32(g * np.float32(2 / (base.size - 1)))) * centered
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert x.grad.dtype == tinyconv.float32


# -- softmax / log_softmax in place ------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_in_place_equal_the_plain_expressions(dim):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((6, 9, 5)) * 30).astype(np.float32)
    x[0, 0, 0], x[1, 1, 1], x[2, 2, 2], x[3, 3, :] = np.inf, -np.inf, np.nan, -3e38
    for arr in (x, x.transpose(2, 0, 1), x[:, ::-2]):
        g = rng.standard_normal(arr.shape).astype(np.float32)
        arr = np.ascontiguousarray(arr)  # (the ops reduce in C order, whatever the layout)
        with np.errstate(all="ignore"):
            sh = arr - arr.max(dim, keepdims=True)
            e = np.exp(sh)
            sm = e / e.sum(dim, keepdims=True)
            lsm = sh - np.log(np.exp(sh).sum(dim, keepdims=True))
            sm_g = sm * (g - (g * sm).sum(dim, keepdims=True))
            lsm_g = g - np.exp(lsm) * g.sum(dim, keepdims=True)
        for fn, want, want_g in ((F.softmax, sm, sm_g), (F.log_softmax, lsm, lsm_g)):
            t = tinyconv.tensor(arr, requires_grad=True)
            out = fn(t, dim)
            (out * tinyconv.tensor(g)).sum().backward()
            np.testing.assert_array_equal(out.detach().numpy(), want)
            np.testing.assert_array_equal(t.grad.numpy(), want_g)
            assert out.dtype == tinyconv.float32 and t.grad.dtype == tinyconv.float32


# -- adaptive average pool: slab adds -----------------------------------------------------------


def _adaptive_avg_backward_plain(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The slice-adds onto zeros (the plain backward)."""
    N, C, H, W = shape
    OH, OW = g.shape[2:]
    (hs, he), (ws, we) = pool_k.adaptive_windows(H, OH), pool_k.adaptive_windows(W, OW)
    g = g / ((he - hs)[:, None] * (we - ws)[None, :]).astype(g.dtype)
    cols = np.zeros((N, C, OH, W), dtype=g.dtype)
    for j in range(OW):
        cols[:, :, :, ws[j] : we[j]] += g[:, :, :, j : j + 1]
    grad = np.zeros(shape, dtype=g.dtype)
    for i in range(OH):
        grad[:, :, hs[i] : he[i], :] += cols[:, :, i : i + 1, :]
    return grad


@pytest.mark.parametrize(
    "shape,out",
    [
        ((2, 3, 32, 32), (7, 7)),
        ((1, 2, 5, 9), (3, 4)),
        ((2, 1, 4, 6), (4, 6)),
        ((1, 1, 3, 2), (5, 3)),
        ((2, 2, 10, 7), (1, 2)),
    ],
)
def test_adaptive_avg_pool2d_slab_adds_match_the_references(shape, out):
    """Overlapping, shrinking and growing windows: the forward equals the loop reference (to
    rounding; NaN/inf only in their windows), the backward the slice-adds onto zeros bit for
    bit (-0.0 included), float32 stays float32, non-contiguous input too."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, 0, 0], x[-1, -1, -1, -1] = np.nan, np.inf
    for arr in (x, x[:, :, :, ::-1], np.asfortranarray(x)):
        y = pool_k.adaptive_avg_pool2d_forward(arr, out)
        ref = pool_k.adaptive_avg_pool2d_reference(arr.astype(np.float64), out)
        assert y.dtype == np.float32 and y.flags.c_contiguous
        np.testing.assert_allclose(y, ref, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    g = rng.standard_normal(shape[:2] + out).astype(np.float32)
    g[0, 0, 0, :] = -0.0
    got = pool_k.adaptive_avg_pool2d_backward(g, shape)
    want = _adaptive_avg_backward_plain(g, shape)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=str)
def test_where_op_is_np_where_bit_for_bit(dtype):
    """tinyconv.where's forward and its two gradients (ops._where, branch-free) give np.where's
    bits: NaN, -0.0 and inf included, a broadcast condition and a scalar branch taking the
    np.where fallback."""
    rng = np.random.default_rng(7)
    values = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1.5, -2.25], dtype)
    a = rng.choice(values, (6, 7)).astype(dtype)
    b = rng.choice(values, (6, 7)).astype(dtype)
    grad = rng.choice(values, (6, 7)).astype(dtype)
    for cond in (rng.random((6, 7)) < 0.5, rng.random((1, 7)) < 0.5):
        x, y = tinyconv.tensor(a, requires_grad=True), tinyconv.tensor(b, requires_grad=True)
        out = tinyconv.where(tinyconv.tensor(cond), x, y)
        out.backward(tinyconv.tensor(grad))
        want = np.where(cond, a, b)
        assert np.array_equal(out.detach().numpy().view(np.uint8), want.view(np.uint8))
        zero = np.zeros((), dtype)
        for got, ref in (
            (x.grad, np.where(cond, grad, zero)),
            (y.grad, np.where(cond, zero, grad)),
        ):
            assert np.array_equal(got.numpy().view(np.uint8), ref.view(np.uint8))
    scalar = tinyconv.where(tinyconv.tensor(a > 0), tinyconv.tensor(a), 0.5)
    np.testing.assert_array_equal(scalar.numpy(), np.where(a > 0, a, dtype(0.5)))


# -- the heap keeps a step's memory (kernels/memory.py) ---------------------------------------

_STEP_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "1":
    import tinyconv
x = np.ones(1 << 19, np.float32)  # 2 MB, the residual block's activations


def step():  # ten activations kept until the end of the step, then all freed
    kept = [x + x for _ in range(10)]
    return len(kept)


for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_minflt page-fault counts")
def test_step_memory_stays_in_heap():
    """After ``import tinyconv`` a step-like pattern (20 MB of 2 MB arrays, all freed at its
    end) faults in no fresh pages once warm. Without the import (the control) glibc hands
    the memory back every step, which is what the test guards against; a C library that
    does not (the control faults little) skips it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def faults(with_tinyconv: bool) -> float:
        proc = subprocess.run(
            [sys.executable, "-c", _STEP_FAULTS, "1" if with_tinyconv else "0"],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return float(proc.stdout.split()[-1])

    control = faults(False)
    if control < 1000:  # 5120 pages a step when the memory goes back
        pytest.skip(f"this C library keeps the memory anyway ({control} faults a step)")
    assert faults(True) < 50


# -- linear on channels-last maps ---------------------------------------------------------------


@pytest.mark.parametrize("lead", [(3,), (2, 3), (2, 3, 4), (2, 0, 3), (1, 1, 1)])
@pytest.mark.parametrize("permuted", [False, True])
def test_linear_on_many_leading_dims_is_one_folded_gemm(lead, permuted):
    """linear folds a (*, K) input to (rows, K) for one GEMM (np.matmul would run one per
    leading index); output and all three gradients equal the float64 sums, for empty,
    contiguous and permuted (ConvNeXt's channels-last) inputs."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((*lead, 5)).astype(np.float32)
    w = rng.standard_normal((6, 5)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal((*lead, 6)).astype(np.float32)
    if permuted:  # the same values through a non-contiguous view, channels first in memory
        leaf = tinyconv.tensor(np.moveaxis(x, -1, 0).copy(), requires_grad=True)
        xin = leaf.permute(*range(1, x.ndim), 0)
        assert not xin.is_contiguous() or 0 in lead or 1 == math.prod(lead)
    else:
        leaf = xin = tinyconv.tensor(x, requires_grad=True)
    wt = tinyconv.tensor(w, requires_grad=True)
    bt = tinyconv.tensor(b, requires_grad=True)
    y = F.linear(xin, wt, bt)
    assert y.shape == (*lead, 6) and y.dtype == tinyconv.float32
    y.backward(tinyconv.tensor(g))
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    gx = leaf.grad.numpy()
    if permuted:
        gx = np.moveaxis(gx, 0, -1)
    tol = {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(y.detach().numpy(), np.einsum("...k,ok->...o", x64, w64) + b, **tol)
    np.testing.assert_allclose(gx, np.einsum("...o,ok->...k", g64, w64), **tol)
    np.testing.assert_allclose(wt.grad.numpy(), g64.reshape(-1, 6).T @ x64.reshape(-1, 5), **tol)
    np.testing.assert_allclose(bt.grad.numpy(), g64.reshape(-1, 6).sum(0), **tol)


@pytest.mark.torch
def test_silu_rounds_as_pytorchs_kernel_mostly():
    """SiLU in float32 follows PyTorch's operation order (forward x / (1 + e^-x), backward
    (grad s) (1 + x (1 - s))), so most results are PyTorch's bits; the rest differ by the last
    bits of exp (NumPy's against SLEEF's). Measured 83% and 71% on these inputs; grad (s (...))
    gave 47%."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(1 << 16) * 3).astype(np.float32)
    g = rng.standard_normal(1 << 16).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.silu(xt).backward(torch.tensor(g))
    t = tinyconv.tensor(x, requires_grad=True)
    y = F.silu(t)
    y.backward(tinyconv.tensor(g))
    assert (y.detach().numpy() == torch.nn.functional.silu(torch.tensor(x)).numpy()).mean() > 0.75
    assert (t.grad.numpy() == xt.grad.numpy()).mean() > 0.65
    np.testing.assert_allclose(t.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("repeated", [(0,), (2, 3), (0, 2, 3), (3,)])
def test_channel_sum_of_repeats_is_the_count_times_one(dtype, repeated):
    """channel_sum over axes an array only repeats (strides 0: the gradient of y.sum() or
    y.mean()) multiplies the sum of one repeat by their count: the float64 sum's value, in the
    array's dtype, and for a repeated scalar the count times it rounded once."""
    shape = (4, 3, 5, 6)
    rng = np.random.default_rng(len(repeated))
    one = rng.standard_normal([1 if i in repeated else n for i, n in enumerate(shape)]) * 10
    a = np.broadcast_to(one.astype(dtype), shape)
    assert all(a.strides[i] == 0 for i in repeated)
    got = channel_sum(a)
    assert got.dtype == a.dtype and got.shape == (3,)
    want = a.astype(np.float64).sum(axis=(0, 2, 3))
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=0 if dtype == np.int64 else tol)
    # the depthwise benchmark's bias gradient: 16384 repeats of 0.1 (np.sum: 1638.4003)
    g = np.broadcast_to(np.array(0.1, dtype), (16, 64, 32, 32))
    if dtype != np.int64:
        np.testing.assert_array_equal(channel_sum(g), np.array(0.1, dtype) * dtype(16384))
