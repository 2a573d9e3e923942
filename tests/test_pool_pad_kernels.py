"""Pooling and padding kernels: fast path == loop reference, backward == finite differences.

Ground truth: the plain-loop references in tinyconv.kernels.pool, hand-worked
examples (several from PyTorch's documentation), and central differences in
float64 on every input element.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from strategies import PAD_MODES, PoolConfig, pad_configs, pool2d_configs

import tinyconv
import tinyconv.kernels.pool as pool_module
from tinyconv.kernels.pad import pad_backward, pad_forward
from tinyconv.kernels.pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    avg_pool2d_reference,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_reference,
    pool2d_output_size,
)

EPS = 1e-6
TOL = {"rtol": 1e-6, "atol": 1e-6}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def numerical_grad(
    f_batched: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    g: np.ndarray,
    eps: float = EPS,
    chunk: int = 128,
) -> np.ndarray:
    """Central differences of L(x) = sum(f(x) * g) for EVERY element of x.

    ``f_batched`` maps a stack ``(B, *x.shape)`` to ``(B, *y.shape)``; the
    perturbed copies of x go through it in chunks instead of one call each.
    """
    n = x.size
    grad = np.empty(n)
    for start in range(0, n, chunk):
        which = np.arange(start, min(start + chunk, n))
        rows = np.arange(which.size)
        xs = np.repeat(x[None], which.size, axis=0)
        xs.reshape(which.size, -1)[rows, which] += eps
        y_plus = f_batched(xs)
        xs.reshape(which.size, -1)[rows, which] -= 2 * eps
        y_minus = f_batched(xs)
        # Subtract before summing: avoids cancellation in two large sums.
        grad[which] = ((y_plus - y_minus) * g).reshape(which.size, -1).sum(axis=1) / (2 * eps)
    return grad.reshape(x.shape)


def batched_pool(forward: Callable[[np.ndarray], np.ndarray]):
    """Run a (N, C, H, W) pooling on a stack (B, N, C, H, W) by folding B into N."""

    def run(xs: np.ndarray) -> np.ndarray:
        B, N = xs.shape[:2]
        y = forward(xs.reshape(B * N, *xs.shape[2:]))
        return y.reshape(B, N, *y.shape[1:])

    return run


def max_args(cfg: PoolConfig) -> tuple:
    return cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode


def avg_args(cfg: PoolConfig) -> tuple:
    return (
        cfg.kernel_size,
        cfg.stride,
        cfg.padding,
        cfg.ceil_mode,
        cfg.count_include_pad,
        cfg.divisor_override,
    )


def distinct_values(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Values in [0, 1) spaced 1/size apart: every argmax is stable under +-EPS."""
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) / size


# ---------------------------------------------------------------------------
# output size
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "H, k, s, p, d, ceil_mode, expected",
    [
        (5, 2, 2, 0, 1, False, 2),
        (5, 2, 2, 0, 1, True, 3),  # ceil keeps the half window at the end
        (5, 2, 2, 1, 1, False, 3),
        (5, 2, 2, 1, 1, True, 3),  # ceil would give 4, but it would start in the right padding
        (6, 3, 2, 1, 1, True, 4),
        (7, 3, 1, 0, 2, False, 3),  # dilated extent 5
        (4, 3, 2, 0, 1, True, 2),
    ],
)
def test_output_size_hand_examples(H, k, s, p, d, ceil_mode, expected):
    assert pool2d_output_size(H, 9, (k, 3), (s, 1), (p, 0), (d, 1), ceil_mode) == (expected, 7)
    assert pool2d_output_size(9, H, (3, k), (1, s), (0, p), (1, d), ceil_mode) == (7, expected)


@given(pool2d_configs())
def test_output_size_counts_windows(cfg):
    """Floor: windows that fit in input+padding. Ceil: windows that start before
    the right padding and need at most s-1 more columns than exist."""
    H = cfg.shape[2]
    (k, _), (s, _), (p, _), (d, _) = cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation
    span = d * (k - 1) + 1
    starts = range(H + 2 * p + s)  # window start in padded coordinates
    if cfg.ceil_mode:
        expected = sum(
            1 for o in starts if o % s == 0 and o < H + p and o + span <= H + 2 * p + s - 1
        )
    else:
        expected = sum(1 for o in starts if o % s == 0 and o + span <= H + 2 * p)
    OH, _ = pool2d_output_size(
        H, H, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode
    )
    assert OH == expected


# ---------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------

X_HAND = np.array([[1, 5, 2, 0], [3, 4, 8, 8], [7, 0, 1, 6], [2, 9, 9, 3]], dtype=np.float64)[
    None, None
]


def test_max_pool_hand_example():
    y, idx = max_pool2d_forward(X_HAND, (2, 2), (2, 2), (0, 0))
    assert_array_equal(y[0, 0], [[5, 8], [9, 9]])
    assert_array_equal(idx[0, 0], [[1, 6], [13, 14]])  # the tie 8, 8 goes to the first
    assert idx.dtype == np.int64


def test_max_pool_hand_example_ceil_mode_and_backward():
    # k3 s2 on 4x4: floor gives 1x1, ceil gives 2x2 with windows hanging off the edge.
    assert max_pool2d_forward(X_HAND, (3, 3), (2, 2), (0, 0))[0].shape == (1, 1, 1, 1)
    y, idx = max_pool2d_forward(X_HAND, (3, 3), (2, 2), (0, 0), (1, 1), True)
    assert_array_equal(y[0, 0], [[8, 8], [9, 9]])
    assert_array_equal(idx[0, 0], [[6, 6], [13, 14]])
    grad = max_pool2d_backward(np.ones_like(y), idx, X_HAND.shape)
    expected = np.zeros(16)
    expected[[6, 13, 14]] = [2, 1, 1]  # two windows chose position 6: their grads add
    assert_array_equal(grad.ravel(), expected)


def test_max_pool_hand_example_dilation():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y, idx = max_pool2d_forward(x, (2, 2), (1, 1), (0, 0), (2, 2))
    assert_array_equal(y[0, 0], [[10, 11], [14, 15]])
    assert_array_equal(idx[0, 0], [[10, 11], [14, 15]])


def test_max_pool_padding_never_wins_and_nan_propagates():
    x = np.array([[-np.inf, -np.inf, np.nan], [-np.inf, -np.inf, np.nan]])[None, None]
    y, idx = max_pool2d_forward(x, (2, 2), (2, 2), (1, 1))
    # Windows (0,0) and (1,0) hold only -inf besides padding, which ties with the
    # -inf padding value: PyTorch reports the first real element (positions 0, 3).
    # Windows (0,1) and (1,1) hold one NaN each: the NaN wins (positions 2, 5).
    assert_array_equal(idx[0, 0], [[0, 2], [3, 5]])
    assert_array_equal(y[0, 0], [[-np.inf, np.nan], [-np.inf, np.nan]])
    # A window with two NaNs reports the last one, as PyTorch's CPU kernel does.
    y, idx = max_pool2d_forward(x, (2, 1), (1, 1), (0, 0))
    assert np.isnan(y[0, 0, 0, 2]) and idx[0, 0, 0, 2] == 5


@given(pool2d_configs())
def test_max_pool_forward_matches_reference(cfg):
    x = np.random.default_rng(cfg.seed).standard_normal(cfg.shape)
    y, idx = max_pool2d_forward(x, *max_args(cfg))
    y_ref, idx_ref = max_pool2d_reference(x, *max_args(cfg))
    assert (
        y.shape == y_ref.shape == cfg.shape[:2] + pool2d_output_size(*cfg.shape[2:], *max_args(cfg))
    )
    assert y.dtype == x.dtype
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    # An index points at the value it claims.
    planes = x.reshape(*cfg.shape[:2], -1)
    assert_array_equal(
        np.take_along_axis(planes, idx.reshape(*cfg.shape[:2], -1), -1),
        y.reshape(*cfg.shape[:2], -1),
    )


@given(pool2d_configs(), st.sampled_from(["ties", "inf_nan", "int8"]))
def test_max_pool_ties_and_special_values_match_reference(cfg, kind):
    """Many equal values, -inf equal to the padding, NaN, integer minimum."""
    rng = np.random.default_rng(cfg.seed)
    if kind == "ties":
        x = rng.integers(0, 3, cfg.shape).astype(np.float64)
    elif kind == "inf_nan":
        x = rng.choice([-np.inf, -np.inf, 0.0, 1.0, np.nan], cfg.shape)
    else:
        x = rng.integers(-128, -125, cfg.shape).astype(np.int8)
    y, idx = max_pool2d_forward(x, *max_args(cfg))
    y_ref, idx_ref = max_pool2d_reference(x, *max_args(cfg))
    assert y.dtype == x.dtype
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    assert (idx >= 0).all() and (idx < cfg.shape[2] * cfg.shape[3]).all()


@given(pool2d_configs())
def test_max_pool_backward_finite_differences(cfg):
    rng = np.random.default_rng(cfg.seed)
    x = distinct_values(cfg.shape, rng)
    y, idx = max_pool2d_forward(x, *max_args(cfg))
    g = rng.standard_normal(y.shape)
    analytic = max_pool2d_backward(g, idx, x.shape)
    numeric = numerical_grad(batched_pool(lambda a: max_pool2d_forward(a, *max_args(cfg))[0]), x, g)
    assert analytic.shape == x.shape and analytic.dtype == g.dtype
    assert_allclose(analytic, numeric, **TOL)


def test_max_pool_float32_and_noncontiguous_input():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((2, 3, 14, 10)).astype(np.float32)
    x = base[:, :, ::2, :]  # non-contiguous view, (2, 3, 7, 10)
    y, idx = max_pool2d_forward(x, (3, 2), (2, 1), (1, 1), (1, 2), True)
    y_ref, idx_ref = max_pool2d_reference(
        np.ascontiguousarray(x), (3, 2), (2, 1), (1, 1), (1, 2), True
    )
    assert y.dtype == np.float32
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)
    grad = max_pool2d_backward(np.ones_like(y), idx, x.shape)
    assert grad.dtype == np.float32 and grad.sum() == y.size


def test_max_pool_one_window_per_plane_matches_reference():
    # 1x1 outputs (AlexNet's last pool), where the taps' view would merge into a strided
    # (K, N, C, 1, 1) array without a copy: channels-last and strided inputs, ties, NaN,
    # -inf, the general path and the tiling one
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, (3, 5, 3, 3)).astype(np.float32)
    x[0, 1, 2, 2] = np.nan
    x[1, 2] = -np.inf
    for arr in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        for args in (((3, 3), (2, 2), (0, 0)), ((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (0, 0))):
            y, idx = max_pool2d_forward(arr, *args)
            y_ref, idx_ref = max_pool2d_reference(np.ascontiguousarray(arr), *args)
            assert y.shape[2:] == (1, 1) or args[0] == (2, 2)
            assert_array_equal(y, y_ref)
            assert_array_equal(idx, idx_ref)
        y, idx = max_pool2d_forward(arr[..., :2, :2], (2, 2), (2, 2), (0, 0))  # tiling path
        y_ref, idx_ref = max_pool2d_reference(
            np.ascontiguousarray(arr[..., :2, :2]), (2, 2), (2, 2), (0, 0)
        )
        assert_array_equal(y, y_ref)
        assert_array_equal(idx, idx_ref)
    xs = np.repeat(x, 2, axis=-1)[..., ::2]  # strided last axis
    y, idx = max_pool2d_forward(xs, (3, 3), (2, 2), (1, 1))
    y_ref, idx_ref = max_pool2d_reference(x, (3, 3), (2, 2), (1, 1))
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------

# One row of width 6, kernel 3, stride 2, padding 1, ceil_mode: windows start at
# -1, 1, 3, 5; the padded row is [-1, 7), so the last window [5, 6, 7] holds one
# real element, one padded zero and one position past the padding.
ROW = np.arange(1.0, 7.0).reshape(1, 1, 1, 6)
ROW_ARGS = ((1, 3), (1, 2), (0, 1), True)


ROW_WINDOWS = [[0, 1], [1, 2, 3], [3, 4, 5], [5]]  # real elements in each window
ROW_SUMS = np.array([1 + 2, 2 + 3 + 4, 4 + 5 + 6, 6])


@pytest.mark.parametrize(
    "count_include_pad, divisor_override, divisors",
    [
        (True, None, [3, 3, 3, 2]),  # padded zeros count, the overhang past the padding does not
        (False, None, [2, 3, 3, 1]),  # only real elements count
        (True, 4, [4, 4, 4, 4]),
        (False, 4, [4, 4, 4, 4]),
    ],
)
def test_avg_pool_divisor_hand_example(count_include_pad, divisor_override, divisors):
    y = avg_pool2d_forward(ROW, *ROW_ARGS, count_include_pad, divisor_override)
    assert_allclose(y.ravel(), ROW_SUMS / divisors, rtol=1e-15)
    # Backward of ones: every element collects 1/divisor from each window holding it.
    grad = avg_pool2d_backward(
        np.ones_like(y), ROW.shape, *ROW_ARGS, count_include_pad, divisor_override
    )
    expected = np.zeros(6)
    for window, divisor in zip(ROW_WINDOWS, divisors, strict=True):
        expected[window] += 1 / divisor
    assert_allclose(grad.ravel(), expected, rtol=1e-15)


@given(pool2d_configs(dilation=False))
def test_avg_pool_forward_matches_reference(cfg):
    x = np.random.default_rng(cfg.seed).standard_normal(cfg.shape)
    y = avg_pool2d_forward(x, *avg_args(cfg))
    y_ref = avg_pool2d_reference(x, *avg_args(cfg))
    assert y.shape == y_ref.shape and y.dtype == x.dtype
    assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)


@given(pool2d_configs(dilation=False))
def test_avg_pool_backward_finite_differences(cfg):
    rng = np.random.default_rng(cfg.seed)
    x = rng.standard_normal(cfg.shape)
    y = avg_pool2d_forward(x, *avg_args(cfg))
    g = rng.standard_normal(y.shape)
    analytic = avg_pool2d_backward(g, x.shape, *avg_args(cfg))
    numeric = numerical_grad(batched_pool(lambda a: avg_pool2d_forward(a, *avg_args(cfg))), x, g)
    assert analytic.shape == x.shape
    assert_allclose(analytic, numeric, **TOL)


def test_avg_pool_integer_input_truncates_toward_zero():
    # PyTorch's CPU avg_pool2d on int64 divides integers in C++: truncation toward zero.
    x = np.array([[[[-3, -2, 5, 4]]]], dtype=np.int64)
    y = avg_pool2d_forward(x, (1, 2), (1, 1), (0, 0))
    assert y.dtype == np.int64
    assert_array_equal(y.ravel(), [-2, 1, 4])  # -5/2 -> -2 (floor would say -3), 3/2 -> 1


def test_avg_pool_float32_and_noncontiguous_input():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 3, 8)).astype(np.float32).transpose(0, 2, 1, 3)
    args = ((3, 2), (2, 2), (1, 1), True, False, None)
    y = avg_pool2d_forward(x, *args)
    assert y.dtype == np.float32
    assert_allclose(y, avg_pool2d_reference(x.astype(np.float64), *args), rtol=1e-5, atol=1e-6)
    grad = avg_pool2d_backward(np.ones_like(y), x.shape, *args)
    assert grad.dtype == np.float32 and grad.flags.c_contiguous


# ---------------------------------------------------------------------------
# padding
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("constant", [9, 9, 1, 2, 3, 4, 9]),
        ("reflect", [3, 2, 1, 2, 3, 4, 3]),  # mirror, edge not repeated
        ("replicate", [1, 1, 1, 2, 3, 4, 4]),
        ("circular", [3, 4, 1, 2, 3, 4, 1]),
    ],
)
def test_pad_hand_examples_1d(mode, expected):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert_array_equal(pad_forward(x, (2, 1), mode, value=9), expected)


# PyTorch's documentation examples: arange(9).reshape(1, 1, 3, 3) padded by 2 on all sides.
DOC_EXAMPLES = {
    "reflect": [
        [8, 7, 6, 7, 8, 7, 6],
        [5, 4, 3, 4, 5, 4, 3],
        [2, 1, 0, 1, 2, 1, 0],
        [5, 4, 3, 4, 5, 4, 3],
        [8, 7, 6, 7, 8, 7, 6],
        [5, 4, 3, 4, 5, 4, 3],
        [2, 1, 0, 1, 2, 1, 0],
    ],
    "replicate": [
        [0, 0, 0, 1, 2, 2, 2],
        [0, 0, 0, 1, 2, 2, 2],
        [0, 0, 0, 1, 2, 2, 2],
        [3, 3, 3, 4, 5, 5, 5],
        [6, 6, 6, 7, 8, 8, 8],
        [6, 6, 6, 7, 8, 8, 8],
        [6, 6, 6, 7, 8, 8, 8],
    ],
    "circular": [
        [4, 5, 3, 4, 5, 3, 4],
        [7, 8, 6, 7, 8, 6, 7],
        [1, 2, 0, 1, 2, 0, 1],
        [4, 5, 3, 4, 5, 3, 4],
        [7, 8, 6, 7, 8, 6, 7],
        [1, 2, 0, 1, 2, 0, 1],
        [4, 5, 3, 4, 5, 3, 4],
    ],
}


@pytest.mark.parametrize("mode", sorted(DOC_EXAMPLES))
def test_pad_2d_documentation_examples(mode):
    x = np.arange(9).reshape(1, 1, 3, 3)
    y = pad_forward(x, (2, 2, 2, 2), mode)
    assert y.dtype == x.dtype
    assert_array_equal(y[0, 0], DOC_EXAMPLES[mode])


def test_pad_constant_asymmetric_and_negative():
    x = np.array([[1, 2], [3, 4]])
    # (left, right, top, bottom): the last dim is listed first.
    assert_array_equal(
        pad_forward(x, (1, 0, 0, 2), "constant", -1),
        [[-1, 1, 2], [-1, 3, 4], [-1, -1, -1], [-1, -1, -1]],
    )
    x = np.arange(12).reshape(3, 4)
    # Negative widths crop: drop column 0 and the last row, then add two columns of zeros.
    assert_array_equal(
        pad_forward(x, (-1, 2, 0, -1), "constant"), [[1, 2, 3, 0, 0], [5, 6, 7, 0, 0]]
    )
    assert_array_equal(pad_forward(x, (-1, -2), "constant"), x[:, 1:2])


def test_pad_backward_hand_examples():
    g = np.ones(7)
    # Each input element's gradient counts the places it was copied to.
    assert_array_equal(pad_backward(g, (4,), (2, 1), "constant"), [1, 1, 1, 1])
    assert_array_equal(pad_backward(g, (4,), (2, 1), "reflect"), [1, 2, 3, 1])
    assert_array_equal(pad_backward(g, (4,), (2, 1), "replicate"), [3, 1, 1, 2])
    assert_array_equal(pad_backward(g, (4,), (2, 1), "circular"), [2, 1, 2, 2])
    # Cropped elements get no gradient.
    assert_array_equal(pad_backward(np.ones(3), (4,), (-1, 0), "constant"), [0, 1, 1, 1])
    # (1, -1): y = [value, x0, x1, x2], so x0..x2 get g1..g3 and x3 nothing.
    assert_array_equal(
        pad_backward(np.array([1.0, 2, 3, 4]), (4,), (1, -1), "constant"), [2, 3, 4, 0]
    )


@given(pad_configs(), st.integers(0, 2**32 - 1))
def test_pad_matches_numpy(config, seed):
    shape, pad, mode = config
    x = np.random.default_rng(seed).standard_normal(shape)
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    y = pad_forward(x, pad, mode, value=2.5)
    if mode == "constant" and min(pad) < 0:
        # numpy cannot crop: check the shape and the surviving block instead.
        expected_shape = tuple(n + lo + hi for n, (lo, hi) in zip(shape, widths, strict=True))
        assert y.shape == expected_shape
        inner = tuple(
            slice(max(lo, 0), n + lo + hi - max(hi, 0))
            for n, (lo, hi) in zip(shape, widths, strict=True)
        )
        src = tuple(
            slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(shape, widths, strict=True)
        )
        assert_array_equal(y[inner], x[src])
        return
    np_mode = {
        "constant": "constant",
        "reflect": "reflect",
        "replicate": "edge",
        "circular": "wrap",
    }[mode]
    kwargs = {"constant_values": 2.5} if mode == "constant" else {}
    assert_array_equal(y, np.pad(x, widths, mode=np_mode, **kwargs))


@given(pad_configs(), st.integers(0, 2**32 - 1))
def test_pad_backward_finite_differences(config, seed):
    shape, pad, mode = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = pad_forward(x, pad, mode)
    g = rng.standard_normal(y.shape)
    analytic = pad_backward(g, shape, pad, mode)
    # The stack axis is an extra leading dim; pad only touches trailing ones.
    numeric = numerical_grad(lambda xs: pad_forward(xs, pad, mode), x, g)
    assert analytic.shape == x.shape
    assert_allclose(analytic, numeric, **TOL)


COPYING_MODES = st.sampled_from(["reflect", "replicate", "circular"])


def _check_scatter_add_to_sources(config: tuple, seed: int) -> None:
    """Padding an array of flat positions shows where each output was copied from; the
    backward must be exactly the scatter-add of the gradient onto those sources."""
    shape, pad, mode = config
    positions = np.arange(int(np.prod(shape))).reshape(shape)
    sources = pad_forward(positions, pad, mode)
    g = np.random.default_rng(seed).standard_normal(sources.shape)
    expected = np.bincount(sources.ravel(), weights=g.ravel(), minlength=positions.size)
    assert_allclose(pad_backward(g, shape, pad, mode).ravel(), expected, rtol=1e-12, atol=1e-12)


@given(COPYING_MODES.flatmap(lambda mode: pad_configs(mode=mode)), st.integers(0, 2**32 - 1))
def test_pad_backward_is_scatter_add_to_sources(config, seed):
    _check_scatter_add_to_sources(config, seed)


@st.composite
def cropping_pad_configs(draw) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """(shape, pad, mode) for the copying modes with at least one negative width (a crop),
    within PyTorch's limits: reflect widths < n (a crop may reach past the input: the
    reflection is of the uncropped input), a non-empty output for reflect / replicate, and
    for circular positive widths at most what the crops leave."""
    mode = draw(COPYING_MODES)
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    pad: list[int] = []
    for i in range(draw(st.integers(1, len(shape)))):
        n = shape[-1 - i]
        while True:
            lo, hi = draw(st.integers(-n, n)), draw(st.integers(-n, n))
            if mode == "circular":
                left = n - max(-lo, 0) - max(-hi, 0)
                ok = left >= 0 and max(lo, 0) <= left and max(hi, 0) <= left
            else:
                ok = n + lo + hi >= 1 and (mode == "replicate" or (lo < n and hi < n))
            if ok:
                break
        pad += [lo, hi]
    if min(pad) >= 0:  # (at least one crop)
        pad[0] = -draw(st.integers(1, shape[-1] - 1)) if shape[-1] > 1 else pad[0]
        if mode == "circular" and shape[-1] > 1:
            pad[1] = min(pad[1], shape[-1] + pad[0])
    return shape, tuple(pad), mode


@given(cropping_pad_configs(), st.integers(0, 2**32 - 1))
def test_negative_pad_backward_is_scatter_add_to_sources(config, seed):
    """Negative widths crop in every mode (PyTorch): the backward of the cropping pad is
    still the scatter-add of the gradient onto the sources the forward copied from."""
    _check_scatter_add_to_sources(config, seed)


@given(cropping_pad_configs(), st.integers(0, 2**32 - 1))
def test_negative_pad_backward_finite_differences(config, seed):
    shape, pad, mode = config
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(pad_forward(x, pad, mode).shape)
    numeric = numerical_grad(lambda xs: pad_forward(xs, pad, mode), x, g)
    assert_allclose(pad_backward(g, shape, pad, mode), numeric, **TOL)


@pytest.mark.parametrize(
    "pad, mode",
    [
        ((3, 0), "reflect"),
        ((0, 3), "reflect"),
        ((4, 0), "circular"),
        ((-3, 0), "replicate"),  # (an empty output: PyTorch's "input is too small")
        ((-1, -2), "reflect"),
        ((-1, 3), "circular"),  # (wraps the 2 elements the crop leaves more than once)
        ((-4, 1), "constant"),  # (crops more than there is, before padding)
    ],
)
def test_pad_rejects_widths_pytorch_rejects(pad, mode):
    # np.pad would silently reflect/wrap more than once; PyTorch raises. The check happens
    # once, in F.pad (the kernel trusts its arguments).
    with pytest.raises(ValueError, match="pad"):
        tinyconv.nn.functional.pad(tinyconv.zeros(2, 3), pad, mode)


@pytest.mark.parametrize("mode", PAD_MODES)
def test_pad_three_dims_of_a_5d_array(mode):
    x = np.random.default_rng(2).standard_normal((2, 1, 3, 4, 5))
    pad = (1, 2, 0, 1, 2, 1)
    y = pad_forward(x, pad, mode)
    assert y.shape == (2, 1, 3 + 3, 4 + 1, 5 + 3)
    g = np.random.default_rng(3).standard_normal(y.shape)
    # Adjoint identity <pad(x), g> == <x, pad_backward(g)>.
    assert_allclose(np.vdot(y, g), np.vdot(x, pad_backward(g, x.shape, pad, mode)), rtol=1e-12)


# ---------------------------------------------------------------------------
# max pool fast path: kernel == stride, padding 0, dilation 1, H/W divisible
# ---------------------------------------------------------------------------


def _general_max_pool(x, k, ceil_mode=False):
    """The general path, with the tiling fast path switched off."""
    old = pool_module.TILING_FAST_PATH
    pool_module.TILING_FAST_PATH = False
    try:
        return max_pool2d_forward(x, k, k, (0, 0), (1, 1), ceil_mode)
    finally:
        pool_module.TILING_FAST_PATH = old


def _tiling_inputs(kind: str, shape, rng):
    if kind == "random":
        return rng.standard_normal(shape)
    if kind == "ties":  # few distinct values: many ties inside a window
        return rng.integers(-1, 2, size=shape).astype(np.float64)
    if kind == "nan":  # NaNs (some windows with several), ties and infinities
        x = rng.integers(-1, 2, size=shape).astype(np.float64)
        x[rng.random(shape) < 0.25] = np.nan
        x[rng.random(shape) < 0.1] = np.inf
        x[rng.random(shape) < 0.1] = -np.inf
        return x
    if kind == "allneginf":
        return np.full(shape, -np.inf)
    if kind == "int":
        return rng.integers(-3, 3, size=shape).astype(np.int32)
    return rng.standard_normal(shape).astype(np.float32)


TILING_CASES = [
    ((2, 2), (2, 3, 4, 6)),
    ((2, 2), (1, 2, 2, 2)),
    ((3, 3), (2, 2, 6, 9)),
    ((2, 3), (2, 2, 4, 9)),
    ((1, 1), (1, 2, 3, 3)),
    ((4, 4), (1, 1, 4, 8)),
    ((1, 3), (2, 1, 2, 6)),
    ((16, 17), (1, 2, 16, 34)),  # 272 taps: the tap number no longer fits a byte
]
TILING_KINDS = ["random", "ties", "nan", "allneginf", "int", "float32"]


@pytest.mark.parametrize("kind", TILING_KINDS)
@pytest.mark.parametrize("k, shape", TILING_CASES)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool_tiling_fast_path_matches_general_and_reference(k, shape, kind, ceil_mode):
    x = _tiling_inputs(kind, shape, np.random.default_rng(sum(shape) + len(kind)))
    y, idx = max_pool2d_forward(x, k, k, (0, 0), (1, 1), ceil_mode)
    y_gen, idx_gen = _general_max_pool(x, k, ceil_mode)
    y_ref, idx_ref = max_pool2d_reference(x, k, k, (0, 0), (1, 1), ceil_mode)
    assert y.dtype == x.dtype and idx.dtype == np.int64
    assert y.shape == y_gen.shape and idx.shape == idx_gen.shape
    assert_array_equal(y, y_gen)  # assert_array_equal treats NaN == NaN
    assert_array_equal(idx, idx_gen)
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)

    g = (
        np.random.default_rng(1)
        .standard_normal(y.shape)
        .astype(x.dtype if kind == "float32" else np.float64)
    )
    fast = max_pool2d_backward(g, idx, x.shape, disjoint=True)
    general = max_pool2d_backward(g, idx_gen, x.shape)
    assert fast.dtype == general.dtype
    assert_array_equal(fast, general)


def test_max_pool_tiling_fast_path_hand_example_ties_and_nans():
    x = np.array(
        [
            [
                [
                    [1.0, 1.0, 2.0, np.nan],
                    [0.0, 1.0, np.nan, np.nan],
                    [5.0, 3.0, -np.inf, -np.inf],
                    [3.0, 5.0, -np.inf, -np.inf],
                ]
            ]
        ]
    )
    y, idx = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert_array_equal(y, [[[[1.0, np.nan], [5.0, -np.inf]]]])
    # first max of a tie (row-major), last NaN, first tap when all are -inf
    assert_array_equal(idx, [[[[0, 7], [8, 10]]]])


def test_max_pool_tiling_fast_path_noncontiguous_input():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 3, size=(2, 8, 6, 3)).astype(np.float32)
    x = base.transpose(0, 3, 1, 2)[:, :, ::2, :]  # (2, 3, 4, 6), strided
    y, idx = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    y_ref, idx_ref = max_pool2d_reference(np.ascontiguousarray(x), (2, 2), (2, 2), (0, 0))
    assert_array_equal(y, y_ref)
    assert_array_equal(idx, idx_ref)


def test_max_pool_tiling_fast_path_is_taken_and_only_when_it_applies(monkeypatch):
    calls = []
    real = pool_module._max_pool2d_tiling_forward

    def spy(*args):
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(pool_module, "_max_pool2d_tiling_forward", spy)
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    pool_module.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    pool_module.max_pool2d_forward(x, (3, 3), (3, 3), (0, 0), (1, 1), True)
    assert calls == [(2, 2), (3, 3)]
    # Everything else stays on the general path.
    for args in [
        ((2, 2), (1, 1), (0, 0), (1, 1)),  # overlapping
        ((2, 2), (2, 2), (1, 1), (1, 1)),  # padding
        ((2, 2), (2, 2), (0, 0), (2, 2)),  # dilation
        ((4, 4), (4, 4), (0, 0), (1, 1)),  # 6 not divisible by 4
        ((2, 2), (3, 3), (0, 0), (1, 1)),
    ]:  # stride != kernel
        pool_module.max_pool2d_forward(x, *args)
        pool_module.max_pool2d_forward(x, *args, True)
    assert calls == [(2, 2), (3, 3)]
    monkeypatch.setattr(pool_module, "TILING_FAST_PATH", False)
    pool_module.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    assert calls == [(2, 2), (3, 3)]


def test_max_pool_backward_disjoint_flag_and_layer_uses_it(monkeypatch):
    from tinyconv.kernels.pool import max_pool2d_windows_disjoint

    assert max_pool2d_windows_disjoint((2, 2), (2, 2))
    assert max_pool2d_windows_disjoint((2, 3), (3, 3))
    assert max_pool2d_windows_disjoint((2, 2), (3, 2), (1, 1))
    assert not max_pool2d_windows_disjoint((3, 3), (2, 2))
    assert not max_pool2d_windows_disjoint((2, 2), (2, 1))
    assert not max_pool2d_windows_disjoint((2, 2), (2, 2), (2, 1))
    assert max_pool2d_windows_disjoint((2, 2), (3, 3), (2, 2))

    # Disjoint non-tiling windows (stride > kernel, padding, ceil_mode) also
    # scatter by assignment exactly like the scatter-add.
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, size=(2, 3, 7, 8)).astype(np.float64)
    y, idx = max_pool2d_forward(x, (2, 2), (3, 3), (1, 1), (1, 1), True)
    g = rng.standard_normal(y.shape)
    assert_array_equal(
        max_pool2d_backward(g, idx, x.shape, disjoint=True), max_pool2d_backward(g, idx, x.shape)
    )

    # The functional layer passes the flag exactly when windows are disjoint.
    import tinyconv
    import tinyconv.nn.functional as F

    seen = []
    real = pool_module.max_pool2d_backward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("disjoint", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(pool_module, "max_pool2d_backward", spy)
    for k, s, expected in [(2, 2, True), (3, 2, False)]:
        t = tinyconv.tensor(rng.standard_normal((1, 2, 6, 6)), requires_grad=True)
        F.max_pool2d(t, k, s).sum().backward()
        assert seen[-1] is expected
