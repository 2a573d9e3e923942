"""Per-channel reductions of ``(N, C, ...)`` arrays: the bias gradient of a convolution and
batch norm's sums. Pure NumPy, one home for both.

NumPy reduces over several axes, or along a short last axis, one small inner loop at a
time: np.sum over (0, 2, 3) took 180 us on (8, 960, 2, 2) float32 and 140 us on
(16, 32, 32, 32), 1.04 ms on c3's (32, 64, 56, 56) gradient. Written as GEMVs with vectors
of ones (BLAS) and elementwise adds over whole images they take 5-65 us and 0.77 ms
(1 thread), which made batch norm ~2x PyTorch's in MobileNetV2 and ShuffleNetV2, whose late
layers have 2x2 and 4x4 images, and the bias gradient a visible part of a small conv.
"""

from __future__ import annotations

import math

import numpy as np

from . import threads

SHORT_ROWS = 64  # up to this many values per (sample, channel): reduce over the batch first
# Up to this many (sample, channel) rows and values, one np.add.reduce is cheapest: it pays
# ~0.02 us per row, the GEMV route ~3.5 us of set-up (np.ones, reshapes). Measured (1 thread):
# (1, 2, 3, 3) 1.1 vs 3.4 us, (1, 6, 28, 28) 1.9 vs 4.2, (4, 16, 8, 8) 2.8 vs 4.1,
# (2, 32, 4, 4) 2.9 vs 5.8; past it (8, 64, 4, 4) 10.8 vs 4.4, (4, 16, 16, 16) 5.7 vs 5.0.
SMALL_ROWS, SMALL_SIZE = 64, 4096
_AXES4 = (0, 2, 3)
# channel_vector repeats a vector out to at most this many values (4 MB of float32)
REPEAT_MAX = 1 << 20


def _rows(a: np.ndarray) -> tuple[int, int, int] | None:
    """(N, C, values per (sample, channel)) of a contiguous float array, else None (np.sum)."""
    if a.size == 0 or a.dtype.kind != "f" or not a.flags.c_contiguous:
        return None
    n, c = a.shape[:2]
    return n, c, a.size // (n * c)


def channel_sum(a: np.ndarray) -> np.ndarray:
    """sum(a) over every axis but axis 1 of ``(N, C, ...)``: ``(C,)``, in a's dtype.

    Axes that only repeat (strides 0, a broadcast gradient from ``y.sum()``) are counted, not
    walked. Other non-float or non-contiguous arrays keep np.sum: reshaping them would copy.
    """
    if a.dtype == np.float16:
        # summed in float32 and rounded once, as PyTorch's half kernels (float16 adds round
        # each step: 2000 x 0.1 down a channel gives 230.1, not 200)
        return channel_sum(a.astype(np.float32)).astype(np.float16)
    shape = a.shape
    repeated = [i for i in range(a.ndim) if i != 1 and a.strides[i] == 0 and shape[i] > 1]
    if repeated and a.size:
        # Axes the array only repeats (strides 0: the gradient of y.sum() or y.mean()): the
        # sum of n repeats is n times the sum of one, rounded once instead of n - 1 times.
        # np.sum walked all 16M repeats of the depthwise case's (16, 64, 32, 32) float32
        # gradient: 773 -> 13 us on a loaded machine (~0.25 ms quiet), the whole case 9.14 ->
        # 8.67 ms of CPU time at 1 thread (PyTorch 9.24 in that run)
        one = a[tuple(slice(0, 1) if i in repeated else slice(None) for i in range(a.ndim))]
        count = math.prod(shape[i] for i in repeated)
        total = channel_sum(one)
        return np.multiply(total, count, dtype=total.dtype)
    if a.size <= SMALL_SIZE and shape[0] * shape[1] <= SMALL_ROWS:
        # np.sum without its Python wrapper; the small conv's bias gradient (issue #14)
        return np.add.reduce(a, axis=_AXES4 if len(shape) == 4 else (0, *range(2, len(shape))))
    rows = _rows(a)
    if rows is None:
        return np.sum(a, axis=(0,) + tuple(range(2, a.ndim)))
    n, c, m = rows
    if m == 1:
        return np.add.reduce(a.reshape(n, c), axis=0)
    ones = np.ones(m, a.dtype)
    if m <= SHORT_ROWS:  # add the N images elementwise (long runs), then one GEMV
        return threads.matvec(np.add.reduce(a, axis=0).reshape(c, m), ones)
    return threads.matvec(a.reshape(n * c, m), ones).reshape(n, c).sum(axis=0)  # one GEMV


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b) over every axis but axis 1, for arrays of one shape ``(N, C, ...)``: ``(C,)``."""
    if a.dtype == np.float16 and b.dtype == np.float16:  # in float32, as channel_sum
        return channel_dot(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    rows = _rows(a) if b.flags.c_contiguous and b.dtype == a.dtype else None
    if rows is None:
        return np.sum(a * b, axis=(0,) + tuple(range(2, a.ndim)))
    n, c, m = rows
    if m <= SHORT_ROWS:  # short rows: the product, then channel_sum's batch-first sum
        return channel_sum(np.multiply(a, b))
    # long rows: one batched dot product per (sample, channel) row (BLAS), no full-size product
    return np.matmul(a.reshape(n, c, 1, m), b.reshape(n, c, m, 1)).reshape(n, c).sum(axis=0)


def channel_vector(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A per-channel vector ``v (C,)`` shaped to broadcast against ``x (N, C, ...)``.

    For a contiguous batch it is repeated out to ``(1, C, ...)``: broadcasting a (1, C, 1, 1)
    array makes NumPy run one inner loop per (sample, channel), and each costs ~0.2 us of
    set-up whatever its length, while against a (1, C, H, W) array the loop runs over a whole
    sample at once. Measured (float32, 1 thread), x * w with the (1, C, 1, 1) vector vs the
    repeated one: (8, 960, 2, 2) 35 -> 9 us, (8, 128, 8, 8) 15.7 -> 8.4 us, the residual
    block's (16, 32, 32, 32) 109 -> 66 us, c3's (32, 64, 56, 56) 2.7 -> 1.9 ms; repeating
    costs 2-6 us (30 us for c3's 0.8 MB). Batch norm runs seven such products, sums and
    differences per training step. The same products, value for value. A single sample
    (nothing to reuse the repeat for) or a sample of more than REPEAT_MAX values keeps the
    plain broadcast.
    """
    rows = _rows(x)
    if (
        rows is None
        or rows[2] == 1
        or rows[1] * rows[2] > REPEAT_MAX
        or (rows[0] == 1 and rows[2] > SHORT_ROWS)
    ):
        return v.reshape((1, x.shape[1]) + (1,) * (x.ndim - 2))
    # (the method, not np.repeat's Python wrapper: 2.6 vs 4.9 us a call, and batch norm makes
    # seven per training step)
    r = v.repeat(rows[2]) if type(v) is np.ndarray else np.repeat(v, rows[2])
    return r.reshape((1,) + x.shape[1:])
