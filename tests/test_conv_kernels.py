"""Tests for tinyconv.kernels.conv: the fast paths against the loop references,
the backward against finite differences and against the textbook identities,
and the transposed convolution as the adjoint of conv2d."""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import ConvConfig, conv2d_configs

from tinyconv.kernels import conv as K
from tinyconv.kernels import conv_fast as FAST
from tinyconv.kernels.algorithms import ALGORITHMS
from tinyconv.kernels.channels import channel_sum

# The fast path picks chunking, phase splitting, column keeping and scratch
# buffers by problem size. Small test problems would only ever see one choice,
# so each fast-path test also runs with the knobs set to force the others.
KNOBS = {
    "default": {},
    # the tiny-problem gathers for every problem
    "tiny": {"_TINY": 1 << 40},
    # the general path with its default tuning (for small problems: one strided
    # view and one copy), which the tiny path would otherwise take over
    "general": {"_TINY": 0},
    # depthwise.py's direct path, one image per chunk of copies, images as a leading axis
    "depthwise_chunked": {"_TINY": 0, "_DW_CHUNK_BYTES": 1, "_DW_BATCH_INSIDE": 0},
    # depthwise.py with the images side by side (_layout), in chunks of a few images
    "depthwise_inside": {"_TINY": 0, "_DW_CHUNK_BYTES": 2000, "_DW_BATCH_INSIDE": 1 << 30},
    # one image per chunk, columns rebuilt in the backward, the big-problem
    # layout (phase split, flat rows), every temporary a reused scratch buffer
    "forced": {
        "_CHUNK_BYTES": 1,
        "_KEEP_COLS_BYTES": 0,
        "_BIG_COLS": 0,
        "_FLAT_MAX_RUN": 1 << 30,
        "_FLAT_MAX_JUNK": 1 << 30,
        "_SCRATCH_MIN_BYTES": 0,
        "_TINY": 0,
        "_DEPTHWISE": False,  # depthwise problems through the im2col layouts too
        "_THIN_GEMM": 1 << 30,
        "_BLOCKS_MAX_THREADS": 1 << 30,  # every GEMM over column blocks, of 2 columns
        "_GEMM_COLS": 2,
    },
    # a few images per chunk (batch last with n > 1), phase split without flat
    # rows, columns kept when they take at most 2000 bytes (else rebuilt), GEMMs over
    # blocks of 3 columns (a tail when 3 does not divide them), col2im's slice-adds
    # for every input gradient ("general": thin stride-1 ones by kernel rows), 1x1
    # convolutions as one GEMM over all the images
    "mixed": {
        "_CHUNK_BYTES": 3000,
        "_KEEP_COLS_BYTES": 2000,
        "_BIG_COLS": 0,
        "_FLAT_MAX_RUN": 0,
        "_SCRATCH_MIN_BYTES": 0,
        "_TINY": 0,
        "_DEPTHWISE": False,  # depthwise problems through the im2col layouts too
        "_THIN_GEMM": 1 << 30,
        "_BLOCKS_MAX_THREADS": 1 << 30,
        "_GEMM_COLS": 3,
        "_ROWS_COL2IM": 0,
        "_PW_ONE_GEMM_RATIO": 0,  # 1x1 convs as one GEMM over all images
        "_PW_ONE_GEMM_W_BYTES": 0,
    },
    # every stride-1 input gradient that can run as a forward convolution does (whatever
    # its channels and size), with the forward's layouts in chunks of a few images
    "as_forward": {
        "_TINY": 0,
        "_AS_FORWARD_MIN_CHANNELS": 1,
        "_AS_FORWARD_MAX_PIXELS": 1 << 30,
        "_AS_FORWARD_MIN_WINDOWS": 0,
        "_CHUNK_BYTES": 3000,
    },
    # a few images per chunk with flat rows
    "mixed_flat": {
        "_CHUNK_BYTES": 3000,
        "_KEEP_COLS_BYTES": 0,
        "_BIG_COLS": 0,
        "_FLAT_MAX_RUN": 1 << 30,
        "_FLAT_MAX_JUNK": 1 << 30,
        "_SCRATCH_MIN_BYTES": 0,
        "_TINY": 0,
        "_DEPTHWISE": False,  # depthwise problems through the im2col layouts too
    },
}


# as_forward with no columns kept by the forward, flat rows and scratch buffers: the weight
# gradient then comes from the input gradient's columns (_weight_grad_beside)
KNOBS["as_forward_fused"] = {
    **KNOBS["as_forward"],
    "_KEEP_COLS_BYTES": 0,
    "_BIG_COLS": 0,
    "_FLAT_MAX_RUN": 1 << 30,
    "_FLAT_MAX_JUNK": 1 << 30,
    "_SCRATCH_MIN_BYTES": 0,
}

# Every test that takes a `path` also runs the other two algorithms: the plain
# im2col path of conv.py and the loop references (forward and backward).
PATHS = [*KNOBS, "im2col", "loops"]


@contextlib.contextmanager
def knobs(name: str):
    """Yield the kernels to test: conv_fast with the named knob settings, or another algorithm."""
    if name in ALGORITHMS and name != "fast":
        yield ALGORITHMS[name]
        return
    saved = {k: getattr(FAST, k) for k in KNOBS[name]}
    try:
        for k, v in KNOBS[name].items():
            setattr(FAST, k, v)
        yield ALGORITHMS["fast"]
    finally:
        for k, v in saved.items():
            setattr(FAST, k, v)


def make_arrays(cfg: ConvConfig, dtype=np.float64, bias: bool = True):
    rng = np.random.default_rng(cfg.seed)
    if np.issubdtype(dtype, np.integer):
        x = rng.integers(-5, 6, cfg.shape).astype(dtype)
        w = rng.integers(-5, 6, cfg.weight_shape).astype(dtype)
        b = rng.integers(-5, 6, cfg.out_channels).astype(dtype) if bias else None
    else:
        x = rng.standard_normal(cfg.shape).astype(dtype)
        w = rng.standard_normal(cfg.weight_shape).astype(dtype)
        b = rng.standard_normal(cfg.out_channels).astype(dtype) if bias else None
    return x, w, b


def output_shape(cfg: ConvConfig) -> tuple[int, int, int, int]:
    OH, OW = K.conv2d_output_size(
        cfg.shape[2], cfg.shape[3], cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation
    )
    return (cfg.shape[0], cfg.out_channels, OH, OW)


def numeric_grad(f, a: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() w.r.t. every element of a (perturbed in place)."""
    grad = np.empty_like(a)
    flat, gflat = a.reshape(-1), grad.reshape(-1)
    assert np.shares_memory(flat, a)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * h)
    return grad


# Transposed convolution cases come from a conv2d config with symmetric
# padding: the transpose maps conv2d's output shape back to its input shape.
def transpose_case(cfg: ConvConfig, output_padding=None, dtype=np.float64):
    """``(x_t, w, b, args)`` for conv_transpose2d: x_t has the shape of cfg's conv2d output,
    and with the default output_padding the result has the shape of cfg's input."""
    _, w, _ = make_arrays(cfg, dtype)
    N, C, H, W = cfg.shape
    _, O, OH, OW = output_shape(cfg)
    (ph, _), (pw, _) = cfg.padding
    (kh, kw), (sh, sw), (dh, dw) = cfg.kernel_size, cfg.stride, cfg.dilation
    if output_padding is None:  # the one that gives back exactly (H, W)
        output_padding = (
            (H + 2 * ph - dh * (kh - 1) - 1) % sh,
            (W + 2 * pw - dw * (kw - 1) - 1) % sw,
        )
    rng = np.random.default_rng(cfg.seed + 1)
    if np.issubdtype(dtype, np.integer):
        x_t = rng.integers(-5, 6, (N, O, OH, OW)).astype(dtype)
        b = rng.integers(-5, 6, C).astype(dtype)
    else:
        x_t = rng.standard_normal((N, O, OH, OW)).astype(dtype)
        b = rng.standard_normal(C).astype(dtype)
    args = (cfg.stride, (ph, pw), output_padding, cfg.dilation, cfg.groups)
    return x_t, w, b, args


# --------------------------------------------------------------------------
# Textbook examples
# --------------------------------------------------------------------------


def test_corr2d_textbook_example():
    Y = K.corr2d(np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), np.array([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(Y, [[19, 25], [37, 43]])


def test_corr2d_is_conv2d_reference_of_one_channel():
    rng = np.random.default_rng(0)
    X, Ker = rng.standard_normal((6, 8)), rng.standard_normal((3, 2))
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    y = K.conv2d_reference(X[None, None], Ker[None, None], None, *args)
    np.testing.assert_allclose(K.corr2d(X, Ker), y[0, 0], rtol=0, atol=1e-12)


THREE_CHANNEL_X = [
    [[0, 1, 1, 0, 2], [0, 2, 2, 1, 1], [0, 2, 1, 1, 2], [1, 0, 2, 1, 2], [0, 1, 1, 1, 1]],
    [[2, 2, 1, 0, 0], [2, 1, 0, 0, 1], [2, 2, 1, 2, 2], [1, 2, 0, 1, 2], [1, 2, 0, 2, 1]],
    [[0, 0, 1, 0, 2], [1, 1, 1, 1, 1], [2, 0, 2, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 1, 0]],
]
THREE_CHANNEL_W = [
    [
        [[-1, 0, 1], [-1, 0, 1], [0, 1, 0]],
        [[1, -1, 1], [1, 1, 0], [-1, 0, -1]],
        [[0, 1, 0], [-1, 0, 1], [-1, 0, 0]],
    ],
    [
        [[-1, 1, 0], [1, 0, -1], [-1, 0, 1]],
        [[0, 0, 1], [0, 1, 1], [1, 1, -1]],
        [[0, 1, 0], [-1, -1, 1], [1, -1, -1]],
    ],
]
THREE_CHANNEL_Y = [[[3, 3, 1], [6, 3, 3], [5, 9, 0]], [[4, 0, -2], [-1, 6, 4], [6, 7, 2]]]


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
@pytest.mark.parametrize("impl", ["fast", "reference"])
@pytest.mark.parametrize("path", PATHS)
def test_three_channel_example(dtype, impl, path):
    x = np.array([THREE_CHANNEL_X], dtype=dtype)
    w = np.array(THREE_CHANNEL_W, dtype=dtype)
    b = np.array([1, 0], dtype=dtype)
    args = ((2, 2), ((1, 1), (1, 1)), (1, 1), 1)
    with knobs(path) as A:
        if impl == "fast":
            y, _ = A.conv2d_forward(x, w, b, *args)
        else:
            y = K.conv2d_reference(x, w, b, *args)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, [THREE_CHANNEL_Y])


def test_output_sizes():
    # floor((H + pt + pb - d(k-1) - 1) / s) + 1, per axis
    assert K.conv2d_output_size(5, 5, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)) == (3, 3)
    assert K.conv2d_output_size(28, 28, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1)) == (24, 24)
    assert K.conv2d_output_size(7, 9, (3, 2), (3, 2), ((0, 1), (2, 0)), (2, 1)) == (2, 5)
    # padding='same' with an even kernel: total d(k-1), left total // 2, right the rest
    for k, d in [(2, 1), (4, 1), (4, 2), (3, 2)]:
        total = d * (k - 1)
        pad = ((total // 2, total - total // 2),) * 2
        assert K.conv2d_output_size(6, 8, (k, k), (1, 1), pad, (d, d)) == (6, 8)
    # transpose: (H-1)*s - 2p + d(k-1) + output_padding + 1
    assert K.conv_transpose2d_output_size(3, 3, (3, 3), (2, 2), (1, 1), (0, 0), (1, 1)) == (5, 5)
    assert K.conv_transpose2d_output_size(3, 4, (3, 2), (2, 3), (1, 0), (1, 2), (2, 1)) == (8, 13)


def test_tiny_convolutions_against_reference():
    rng = np.random.default_rng(1)
    for x_shape, w_shape, args in [
        ((1, 3, 5, 5), (2, 3, 3, 3), ((2, 2), ((1, 1), (1, 1)), (1, 1), 1)),
        ((1, 1, 6, 8), (1, 1, 1, 2), ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)),
    ]:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        y, _ = FAST.conv2d_forward(x, w, None, *args)
        np.testing.assert_allclose(y, K.conv2d_reference(x, w, None, *args), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize(
    "x_shape, w_shape, groups",
    [
        ((1, 3, 5, 5), (2, 3, 3, 3), 1),  # one image, one group: the 2-D np.dot products
        ((2, 3, 5, 5), (2, 3, 3, 3), 1),  # the batched np.matmul ones
        ((1, 4, 5, 5), (2, 2, 3, 3), 2),
    ],
)
def test_tiny_products_equal_the_plain_path(dtype, tol, x_shape, w_shape, groups):
    """conv_fast's tiny path (its GEMMs as 2-D np.dot for one image and one group, batched
    np.matmul otherwise) gives the plain im2col path's output and all three gradients,
    padded and strided."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    args = ((2, 2), ((1, 1), (1, 1)), (1, 1), groups)
    assert FAST._is_tiny(x_shape, w_shape, (3, 3))
    y, cols = FAST.conv2d_forward(x, w, b, *args)
    y_ref, cols_ref = K.conv2d_forward(x, w, b, *args)
    assert y.dtype == dtype and y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, rtol=tol, atol=tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    for c in (cols, None):  # the forward's columns, or rebuilt
        got = FAST.conv2d_backward(g, x, w, c, *args)
        want = K.conv2d_backward(g, x, w, cols_ref, *args)
        for gg, ww in zip(got, want, strict=True):
            assert gg.dtype == dtype and gg.shape == ww.shape
            np.testing.assert_allclose(gg, ww, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("groups", [1, 2])
def test_tiny_weight_gradient_over_images_with_one_window(dtype, tol, groups):
    """The tiny path's dW for several images is one GEMM per group over all their windows;
    with a 1x1 output (one window per image, InceptionAux's 5x5 head) it gives the plain
    path's dW and dX."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 5, 5)).astype(dtype)
    w = rng.standard_normal((6, 4 // groups, 5, 5)).astype(dtype)
    args = ((1, 1), ((0, 0), (0, 0)), (1, 1), groups)
    assert FAST._tiny_plan(x, w, *args) is not None
    y, cols = FAST.conv2d_forward(x, w, None, *args)
    assert y.shape == (3, 6, 1, 1)
    g = rng.standard_normal(y.shape).astype(dtype)
    got = FAST.conv2d_backward(g, x, w, cols, *args)
    want = K.conv2d_backward(g, x, w, K.conv2d_forward(x, w, None, *args)[1], *args)
    for gg, ww in zip(got[:2], want[:2], strict=True):
        assert gg.dtype == dtype and gg.shape == ww.shape
        np.testing.assert_allclose(gg, ww, rtol=tol, atol=tol)


# --------------------------------------------------------------------------
# conv2d forward
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@given(cfg=conv2d_configs(), bias=st.booleans())
def test_conv2d_forward_matches_reference(path, cfg, bias):
    x, w, b = make_arrays(cfg, bias=bias)
    with knobs(path) as A:
        y, _ = A.conv2d_forward(x, w, b, *cfg.args)
    assert y.shape == output_shape(cfg) and y.dtype == np.float64
    np.testing.assert_allclose(y, K.conv2d_reference(x, w, b, *cfg.args), rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", ["default", "tiny", "general", "mixed", "im2col", "loops"])
@given(cfg=conv2d_configs(pointwise=True))
def test_conv2d_pointwise_matches_reference(path, cfg):
    x, w, b = make_arrays(cfg)
    with knobs(path) as A:
        y, _ = A.conv2d_forward(x, w, b, *cfg.args)
    np.testing.assert_allclose(y, K.conv2d_reference(x, w, b, *cfg.args), rtol=0, atol=1e-10)
    g = np.random.default_rng(cfg.seed).standard_normal(y.shape)
    with knobs(path) as A:
        gx, gw, _ = A.conv2d_backward(g, x, w, None, *cfg.args)
    gx_ref, gw_ref = analytic_grads(g, x, w, cfg)
    np.testing.assert_allclose(gx, gx_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", PATHS)
@given(cfg=conv2d_configs())
def test_conv2d_forward_integer_is_exact(path, cfg):
    x, w, b = make_arrays(cfg, np.int64)
    with knobs(path) as A:
        y, _ = A.conv2d_forward(x, w, b, *cfg.args)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, K.conv2d_reference(x, w, b, *cfg.args))


@pytest.mark.parametrize("path", PATHS)
@given(cfg=conv2d_configs(max_batch=2))
def test_conv2d_accepts_non_contiguous_arrays(path, cfg):
    x, w, b = make_arrays(cfg)
    x_view = np.asfortranarray(x)[:, :, ::-1][:, :, ::-1]  # same values, odd strides
    w_view = np.asfortranarray(w)
    with knobs(path) as A:
        y, cols = A.conv2d_forward(x_view, w_view, b, *cfg.args)
    np.testing.assert_allclose(y, K.conv2d_reference(x, w, b, *cfg.args), rtol=0, atol=1e-10)
    # grad of y.sum() arrives as a broadcast (stride 0, read-only) array
    ones = np.broadcast_to(np.float64(1.0), y.shape)
    with knobs(path) as A:
        gx, gw, gb = A.conv2d_backward(ones, x_view, w_view, cols, *cfg.args)
    gx_ref, gw_ref = analytic_grads(np.ones(y.shape), x, w, cfg)
    np.testing.assert_allclose(gx, gx_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gb, np.full(cfg.out_channels, y[:, 0].size), rtol=0, atol=1e-10)


# --------------------------------------------------------------------------
# conv2d backward
# --------------------------------------------------------------------------


def analytic_grads(g, x, w, cfg: ConvConfig):
    """dL/dx and dL/dw for L = sum(y * g), from the textbook identities, via the references.

    - dL/dw is the correlation of the (padded) input with g: a conv2d of x_pad
      (images as channels) by g (images as channels) where g's taps sit
      ``stride`` apart (its dilation) and the result is sampled ``dilation``
      apart (its stride); one such correlation per group.
    - dL/dx is the transposed convolution of g with w (adjoint of conv2d),
      computed unpadded and then cropped by the padding.
    """
    H, W = x.shape[2:]
    O, C_g, kh, kw = w.shape
    G = cfg.groups
    (pt, pb), (pl, pr) = cfg.padding
    (sh, sw), (dh, dw) = cfg.stride, cfg.dilation
    x_pad = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    grad_w = np.empty(w.shape)
    for grp in range(G):
        xs = x_pad[:, grp * C_g : (grp + 1) * C_g].transpose(1, 0, 2, 3)  # (C_g, N, Hp, Wp)
        gs = g[:, grp * (O // G) : (grp + 1) * (O // G)].transpose(1, 0, 2, 3)  # (O_g, N, OH, OW)
        corr = K.conv2d_reference(xs, gs, None, (dh, dw), ((0, 0), (0, 0)), (sh, sw), 1)
        grad_w[grp * (O // G) : (grp + 1) * (O // G)] = corr[:, :, :kh, :kw].transpose(1, 0, 2, 3)
    full = K.conv_transpose2d_reference(g, w, None, cfg.stride, (0, 0), (0, 0), cfg.dilation, G)
    # rows/cols past the last window get no gradient: pad the scatter with zeros, then crop
    full = np.pad(
        full,
        ((0, 0), (0, 0), (0, max(0, pt + H - full.shape[2])), (0, max(0, pl + W - full.shape[3]))),
    )
    grad_x = full[:, :, pt : pt + H, pl : pl + W]
    return grad_x, grad_w


@pytest.mark.parametrize("path", PATHS)
@given(cfg=conv2d_configs())
def test_conv2d_backward_matches_identities(path, cfg):
    x, w, b = make_arrays(cfg)
    g = np.random.default_rng(cfg.seed + 7).standard_normal(output_shape(cfg))
    with knobs(path) as A:
        _, cols = A.conv2d_forward(x, w, b, *cfg.args)
        gx, gw, gb = A.conv2d_backward(g, x, w, cols, *cfg.args)
    gx_ref, gw_ref = analytic_grads(g, x, w, cfg)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == b.shape
    np.testing.assert_allclose(gx, gx_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=0, atol=1e-10)


# every element, two loop-reference passes each: smaller problems keep it quick
@pytest.mark.parametrize("path", ["default", "tiny", "general", "im2col", "loops"])
@given(cfg=conv2d_configs(max_batch=2, max_channels=3, max_extra=3))
def test_conv2d_backward_matches_finite_differences(path, cfg):
    x, w, b = make_arrays(cfg)
    g = np.random.default_rng(cfg.seed + 7).standard_normal(output_shape(cfg))

    def loss():  # a random linear functional of the reference's output
        return float((K.conv2d_reference(x, w, b, *cfg.args) * g).sum())

    with knobs(path) as A:
        _, cols = A.conv2d_forward(x, w, b, *cfg.args)
        gx, gw, gb = A.conv2d_backward(g, x, w, cols, *cfg.args)
    np.testing.assert_allclose(gx, numeric_grad(loss, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gw, numeric_grad(loss, w), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gb, numeric_grad(loss, b), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_non_finite_values_stay_in_their_windows(path):
    # an inf pixel (or an inf gradient entry) reaches only the outputs (pixels) that read it
    x = np.ones((1, 1, 6, 6))
    x[0, 0, 0, 0] = np.inf
    w = np.ones((1, 1, 3, 3))
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    with knobs(path) as A:
        y, _ = A.conv2d_forward(x, w, None, *args)
        g = np.zeros(y.shape)
        g[0, 0, 5, 5] = np.inf
        gx, _, _ = A.conv2d_backward(g, np.ones_like(x), w, None, *args, need_weight=False)
    assert np.isinf(y[0, 0, :2, :2]).all() and np.isfinite(y).sum() == y.size - 4
    assert np.isinf(gx[0, 0, 4:, 4:]).all() and np.isfinite(gx).sum() == gx.size - 4
    np.testing.assert_array_equal(y, K.conv2d_reference(x, w, None, *args))


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_conv2d_backward_zero_for_pixels_the_stride_skips(algo):
    # kernel 1, stride 3: only rows/cols 0, 3 are read; the rest get exactly 0
    x = np.ones((1, 1, 5, 5))
    w = np.ones((1, 1, 1, 1))
    g = np.ones((1, 1, 2, 2))
    gx, _, _ = ALGORITHMS[algo].conv2d_backward(g, x, w, None, (3, 3), ((0, 0), (0, 0)), (1, 1), 1)
    expected = np.zeros((5, 5))
    expected[::3, ::3] = 1
    np.testing.assert_array_equal(gx[0, 0], expected)


@pytest.mark.parametrize("path", ["default", "tiny", "general", "mixed", "im2col", "loops"])
@given(cfg=conv2d_configs(max_batch=2), need=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_conv2d_backward_need_flags_and_dtypes(path, cfg, need):
    x, w, b = make_arrays(cfg, np.float32)
    with knobs(path) as A:
        y, cols = A.conv2d_forward(x, w, b, *cfg.args)
        assert y.dtype == np.float32
        g = np.random.default_rng(cfg.seed).standard_normal(y.shape).astype(np.float32)
        full = A.conv2d_backward(g, x, w, cols, *cfg.args)
        part = A.conv2d_backward(
            g, x, w, cols, *cfg.args, need_input=need[0], need_weight=need[1], need_bias=need[2]
        )
    for wanted, got, ref, like in zip(need, part, full, (x, w, b), strict=True):
        if wanted:
            assert got.shape == like.shape and got.dtype == np.float32
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
        else:
            assert got is None


def test_results_never_alias_scratch_buffers():
    rng = np.random.default_rng(3)
    args = ((2, 1), ((1, 0), (2, 1)), (1, 2), 2)
    with knobs("forced"):
        x1, x2 = rng.standard_normal((2, 3, 4, 9, 8))
        w = rng.standard_normal((4, 2, 3, 2))
        y1, c1 = FAST.conv2d_forward(x1, w, None, *args)
        g1 = rng.standard_normal(y1.shape)
        grads1 = FAST.conv2d_backward(g1, x1, w, c1, *args)
        saved = [a.copy() for a in (y1, *grads1)]
        y2, c2 = FAST.conv2d_forward(x2, w, None, *args)  # reuses every scratch buffer
        FAST.conv2d_backward(rng.standard_normal(y2.shape), x2, w, c2, *args)
    for before, after in zip(saved, (y1, *grads1), strict=True):
        np.testing.assert_array_equal(before, after)


def test_scratch_buffers_are_per_thread():
    # two threads convolving at once must not share temporaries
    rng = np.random.default_rng(4)
    args = ((1, 2), ((2, 1), (0, 1)), (2, 1), 1)
    w = rng.standard_normal((3, 2, 3, 3))
    xs = [rng.standard_normal((2, 2, 11, 9)) for _ in range(2)]
    expected = [K.conv2d_reference(x, w, None, *args) for x in xs]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def work(i):
        barrier.wait()
        for _ in range(300):
            y, _ = FAST.conv2d_forward(xs[i], w, None, *args)
            if not np.allclose(y, expected[i], rtol=0, atol=1e-10):
                results[i] = "wrong"
                return
        results[i] = "ok"

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the calls interleave
    try:
        with knobs("forced"):
            threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(interval)
    assert results == ["ok", "ok"]


# --------------------------------------------------------------------------
# conv_transpose2d
# --------------------------------------------------------------------------


@st.composite
def transpose_configs(draw, **kwargs):
    """A conv2d config plus any output_padding PyTorch allows (< stride or < dilation)."""
    cfg = draw(conv2d_configs(symmetric_padding=True, **kwargs))
    op = tuple(
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(cfg.stride, cfg.dilation, strict=True)
    )
    return cfg, op


def transpose_inputs(cfg, op, dtype=np.float64):
    x_t, w, b, args = transpose_case(cfg, op, dtype)
    OH, OW = K.conv_transpose2d_output_size(
        x_t.shape[2], x_t.shape[3], cfg.kernel_size, *args[:3], cfg.dilation
    )
    assume(OH >= 1 and OW >= 1)
    return x_t, w, b, args, (OH, OW)


@pytest.mark.parametrize("path", PATHS)
@given(case=transpose_configs())
def test_conv_transpose2d_forward_matches_reference(path, case):
    x_t, w, b, args, (OH, OW) = transpose_inputs(*case)
    with knobs(path) as A:
        y = A.conv_transpose2d_forward(x_t, w, b, *args)
    assert y.shape == (x_t.shape[0], case[0].shape[1], OH, OW)
    y_ref = K.conv_transpose2d_reference(x_t, w, b, *args)
    np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("algo", ["fast", "im2col"])
@given(case=transpose_configs())
def test_conv_transpose2d_integer_is_exact(algo, case):
    x_t, w, b, args, _ = transpose_inputs(*case, dtype=np.int64)
    y = ALGORITHMS[algo].conv_transpose2d_forward(x_t, w, b, *args)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, K.conv_transpose2d_reference(x_t, w, b, *args))


@pytest.mark.parametrize("algo", list(ALGORITHMS))
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@given(cfg=conv2d_configs(symmetric_padding=True))
def test_adjoint_identity(algo, dtype, cfg):
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>, with the matching output_padding
    x, w, _ = make_arrays(cfg, dtype, bias=False)
    y, _, _, args = transpose_case(cfg, dtype=dtype)
    conv_x, _ = ALGORITHMS[algo].conv2d_forward(x, w, None, *cfg.args)
    convT_y = ALGORITHMS[algo].conv_transpose2d_forward(y, w, None, *args)
    assert convT_y.shape == x.shape
    lhs, rhs = (conv_x * y).sum(), (x * convT_y).sum()
    if dtype == np.int64:
        assert lhs == rhs
    else:
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path", PATHS)
@given(case=transpose_configs())
def test_conv_transpose2d_backward_matches_conv2d(path, case):
    # grad_x = conv2d(g, w) (restricted to x's size), grad_w = correlation of g with x
    cfg, op = case
    x_t, w, _, args, (OH, OW) = transpose_inputs(cfg, op)
    g = np.random.default_rng(cfg.seed + 3).standard_normal((x_t.shape[0], cfg.shape[1], OH, OW))
    with knobs(path) as A:
        gx, gw, gb = A.conv_transpose2d_backward(g, x_t, w, *args)
    pad = ((args[1][0],) * 2, (args[1][1],) * 2)
    conv_g = K.conv2d_reference(g, w, None, cfg.stride, pad, cfg.dilation, cfg.groups)
    H, W = x_t.shape[2:]
    np.testing.assert_allclose(gx, conv_g[:, :, :H, :W], rtol=0, atol=1e-10)
    _, gw_ref = analytic_grads(x_t, g, w, cfg._replace(padding=pad))
    np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), rtol=0, atol=1e-10)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
@given(case=transpose_configs(max_batch=2, max_channels=3, max_extra=3))
def test_conv_transpose2d_backward_matches_finite_differences(algo, case):
    A = ALGORITHMS[algo]
    x_t, w, b, args, _ = transpose_inputs(*case)
    y = A.conv_transpose2d_forward(x_t, w, b, *args)
    g = np.random.default_rng(case[0].seed + 5).standard_normal(y.shape)

    def loss():
        return float((K.conv_transpose2d_reference(x_t, w, b, *args) * g).sum())

    gx, gw, gb = A.conv_transpose2d_backward(g, x_t, w, *args)
    assert gx.shape == x_t.shape and gw.shape == w.shape and gb.shape == b.shape
    np.testing.assert_allclose(gx, numeric_grad(loss, x_t), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gw, numeric_grad(loss, w), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gb, numeric_grad(loss, b), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------
# conv_fast == conv.py's plain im2col path, on every layout the fast path chooses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(KNOBS))
@given(cfg=conv2d_configs(), data=st.data())
def test_fast_layouts_equal_the_plain_path(path, cfg, data):
    x, w, b = make_arrays(cfg)
    g = np.random.default_rng(cfg.seed + 11).standard_normal(output_shape(cfg))
    need = data.draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    y_plain, cols_plain = K.conv2d_forward(x, w, b, *cfg.args)
    plain = K.conv2d_backward(g, x, w, cols_plain, *cfg.args, *need)
    with knobs(path) as A:
        y, cols = A.conv2d_forward(x, w, b, *cfg.args)
        fast = A.conv2d_backward(g, x, w, cols, *cfg.args, *need)
    np.testing.assert_allclose(y, y_plain, rtol=0, atol=1e-10)
    for got, want in zip(fast, plain, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("path", list(KNOBS))
@given(case=transpose_configs())
def test_fast_transpose_layouts_equal_the_plain_path(path, case):
    x_t, w, b, args, _ = transpose_inputs(*case)
    y_plain = K.conv_transpose2d_forward(x_t, w, b, *args)
    g = np.random.default_rng(case[0].seed + 13).standard_normal(y_plain.shape)
    plain = K.conv_transpose2d_backward(g, x_t, w, *args)
    with knobs(path) as A:
        y = A.conv_transpose2d_forward(x_t, w, b, *args)
        fast = A.conv_transpose2d_backward(g, x_t, w, *args)
    np.testing.assert_allclose(y, y_plain, rtol=0, atol=1e-10)
    for got, want in zip(fast, plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (1, 1, 1, 1), (2, 3, 0, 4), (64, 6, 28, 28)])
def test_bias_gradient_channel_sum(dtype, shape):
    """The bias gradient (kernels.channels) equals the float64 sum over (N, OH, OW), any layout."""
    g = (np.random.default_rng(7).standard_normal(shape) * 10).astype(dtype)
    want = g.astype(np.float64).sum(axis=(0, 2, 3))
    for arr in (g, g.transpose(0, 1, 3, 2), np.broadcast_to(g[:1], g.shape)):
        got = channel_sum(arr)
        assert got.shape == (shape[1],) and got.dtype == g.dtype
        ref = arr.astype(np.float64).sum(axis=(0, 2, 3))
        rtol = 1e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * np.abs(arr).sum())
    assert np.allclose(channel_sum(g), want, rtol=1e-5)
