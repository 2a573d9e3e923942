"""2-D max and average pooling kernels: pure NumPy, no Tensor, no graph.

Arguments arrive validated and normalised by ``tinyconv.nn.functional``:
``x`` is ``(N, C, H, W)``; ``kernel_size``, ``stride``, ``padding`` and
``dilation`` are int pairs ``(h, w)``; ``ceil_mode`` and ``count_include_pad``
are bools. The kernels do not re-check them.

Geometry (per spatial axis, PyTorch's rule). Output position ``o`` reads the
window that starts at ``o * s - p`` in input coordinates and takes ``k`` taps
``d`` apart. The number of outputs is

    out = floor((L + 2p - d(k-1) - 1 + (s-1 if ceil_mode else 0)) / s) + 1

and in ceil_mode a last window that would start in the right padding (or past
it) is dropped: ``if (out-1)*s >= L + p: out -= 1``. Ceil-mode windows may
still hang past the right padding; those taps read nothing.

Backward, briefly:
- max:  y = x[argmax], so dL/dx[i] = sum of dL/dy over every window whose
  argmax is i (windows overlap when stride < kernel, hence the sum).
- avg:  y = (1/div) * sum_window(x), so each tap receives dL/dy / div.

Each op comes twice: a fast vectorised path and a plain-loop reference
(``*_reference``) that reads like the textbook and that the tests trust.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import threads

IntPair = tuple[int, int]


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------


def _out_len(length: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = d * (k - 1) + 1  # effective (dilated) kernel extent
    numerator = length + 2 * p - span + (s - 1 if ceil_mode else 0)
    out = numerator // s + 1  # Python // floors, like PyTorch's div_rtn
    # ceil_mode must not create a window that starts in the right padding.
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    return out


def pool2d_output_size(
    H: int,
    W: int,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair = (1, 1),
    ceil_mode: bool = False,
) -> IntPair:
    """Output spatial size ``(OH, OW)`` of a 2-D pooling, PyTorch's exact rule."""
    return (
        _out_len(H, kernel_size[0], stride[0], padding[0], dilation[0], ceil_mode),
        _out_len(W, kernel_size[1], stride[1], padding[1], dilation[1], ceil_mode),
    )


def _padded_extent(length: int, out: int, k: int, s: int, p: int, d: int) -> tuple[int, int]:
    """(top/left, bottom/right) padding so every window fits in the buffer.

    ceil_mode windows can reach past ``length + 2p``; pad the far side enough.
    """
    needed = (out - 1) * s + d * (k - 1) + 1
    return p, max(p, needed - length - p)


def _first_tap(length: int, out: int, k: int, s: int, p: int, d: int) -> np.ndarray:
    """Input coordinate of each window's first tap at or after 0 (PyTorch's ``while (ih0 < 0)``).

    It is the window's first real tap when it is ``< length``; when it is not,
    the window lies entirely in the padding (possible with dilation or
    ceil_mode) and PyTorch still builds the window's index from it.
    """
    start = np.arange(out) * s - p
    # Skip whole dilation steps until the tap is >= 0; -(start // d) is ceil(-start / d).
    return start + np.maximum(0, -(start // d)) * d


def max_pool2d_empty_windows(
    H: int,
    W: int,
    out_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair = (1, 1),
) -> np.ndarray | None:
    """``(OH, OW)`` bool: the windows with no tap inside the input; None when there are none.

    Such a window's output is the padding value (-inf), a constant: no gradient
    flows through it. PyTorch still gives it an index (see :func:`max_pool2d_forward`).
    """
    rows = _first_tap(H, out_size[0], kernel_size[0], stride[0], padding[0], dilation[0]) >= H
    cols = _first_tap(W, out_size[1], kernel_size[1], stride[1], padding[1], dilation[1]) >= W
    if not (rows.any() or cols.any()):
        return None
    return rows[:, None] | cols[None, :]


# --------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------


def _lowest(dtype: np.dtype) -> float | int:
    """Padding value that never wins a max: -inf, or the integer dtype's min."""
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return -np.inf


def _first_max_tap(taps: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per window, the first tap k (``taps (K, ...)``) with ``taps[k] == y``, its max; K - 1
    where none is (a NaN max, fixed by the callers). With n_k = (taps[k] != y) that is
    n_0 * (1 + n_1 * (1 + ... * (1 + n_{K-2}))): 0 at the first hit, K - 1 when only the
    last tap equals y. Nested from the inside out as an in-place "+= 1, *= n_k" on bytes
    (uint8 while K fits; intp past 255 taps). Against `tap += hit * (k - tap)` in intp:
    LeNet's (64, 6, 28, 28) 2x2 0.13 -> 0.04 ms; ResNet's 3x3 stride-2 pool with padding 1
    on (8, 64, 32, 32) 4.5 -> 0.25 ms, its whole forward 2.46 -> 1.55 ms (min of 40,
    interleaved, a loaded machine; PyTorch's max_pool2d with indices: 12.4 ms)."""
    K = taps.shape[0]
    tap = np.zeros(y.shape, np.uint8 if K <= 255 else np.intp)
    for k in range(K - 2, -1, -1):
        tap += 1
        tap *= np.not_equal(taps[k], y)
    return tap


def max_pool2d_forward(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair = (1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling. ``x (N, C, H, W)`` -> ``(y (N, C, OH, OW), indices (N, C, OH, OW))``.

    ``indices`` are int64 flat positions ``h * W + w`` in the unpadded ``H*W``
    plane of each ``(n, c)`` (PyTorch's convention, usable by max_unpool).
    Ties go to the first maximum in window order (row by row); a NaN in a
    window makes the output NaN and its index the window's *last* NaN, both as
    PyTorch's CPU kernel does. A window with no in-range tap (possible with
    dilation or ceil_mode) gives the padding value and PyTorch's index for it:
    ``first_row * W + first_col``, its first taps at or after 0, which lie
    outside the input (see :func:`max_pool2d_empty_windows`).
    """
    N, C, H, W = x.shape
    if TILING_FAST_PATH and _is_tiling(H, W, kernel_size, stride, padding, dilation):
        return _max_pool2d_tiling_forward(x, kernel_size)  # see "Fast path" below

    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    OH, OW = pool2d_output_size(H, W, kernel_size, stride, padding, dilation, ceil_mode)

    top, bottom = _padded_extent(H, OH, kh, sh, ph, dh)
    left, right = _padded_extent(W, OW, kw, sw, pw, dw)
    if top or bottom or left or right:
        xp = np.full((N, C, top + H + bottom, left + W + right), _lowest(x.dtype), dtype=x.dtype)
        xp[:, :, top : top + H, left : left + W] = x
    else:
        xp = x

    # The one copy (im2col-like), tap-major: taps[k] is the k-th tap (row-major
    # in the window) of every window. This layout makes each step below a
    # contiguous whole-array op; window-last plus argmax(-1) measured ~6x slower.
    # The windows are one strided view of xp, (kh, kw, N, C, OH, OW), made straight in
    # that order (sliding_window_view and its slicing cost ~20 us of Python per call,
    # a third of a small pool's forward), and copied out always: when the view merges
    # into these axes, as for 1x1 outputs, a reshape keeps it strided, and the reductions
    # below over a strided tap axis ran ~30x slower (AlexNet's (4, 256, 3, 3) 3/2 pool:
    # kernel 184 -> 71 us, the op's forward 239 -> 116-135 us; PyTorch's 31-50 us).
    K = kh * kw
    sN, sC, sH, sW = xp.strides
    win = as_strided(
        xp,
        (kh, kw, N, C, OH, OW),
        (dh * sH, dw * sW, sN, sC, sh * sH, sw * sW),
        writeable=False,
    )
    taps = np.ascontiguousarray(win).reshape(K, N, C, OH, OW)

    y = taps.max(axis=0)  # NaN-propagating, like PyTorch
    tap = _first_max_tap(taps, y)  # the first tap equal to the max (PyTorch's tie rule)

    if np.issubdtype(x.dtype, np.floating):
        nan_out = np.isnan(y)
        if nan_out.any():
            # NaN equals nothing; PyTorch's `val > max || isnan(val)` keeps the
            # window's last NaN. Only windows holding a NaN are touched.
            tap[nan_out] = (K - 1) - np.isnan(taps[::-1][:, nan_out]).argmax(axis=0)

    # Tap -> flat index in the unpadded plane: window origin + tap offset.
    tap = tap.astype(np.intp, copy=False)  # (indexing with uint8: several times slower)
    ki, kj = np.divmod(np.arange(K), kw)
    row0 = np.arange(OH) * sh - ph  # input row of each window's first tap
    col0 = np.arange(OW) * sw - pw
    origin = row0[:, None] * W + col0[None, :]
    indices = (ki * dh * W + kj * dw).take(tap)
    indices += origin

    # A padding tap can only be chosen if the window max equals the padding
    # value, i.e. every real tap is -inf (or the integer min). PyTorch then
    # reports the window's first tap at or after 0, even for a window that
    # lies entirely in the padding (its index then names a pixel outside the
    # window, or past the plane's end).
    fill = _lowest(x.dtype)
    if (top or bottom or left or right) and (y == fill).any():
        ih = row0[:, None] + ki[tap] * dh
        iw = col0[None, :] + kj[tap] * dw
        outside = (ih < 0) | (ih >= H) | (iw < 0) | (iw >= W)
        r0 = _first_tap(H, OH, kh, sh, ph, dh)
        c0 = _first_tap(W, OW, kw, sw, pw, dw)
        indices = np.where(outside, r0[:, None] * W + c0[None, :], indices)
    return y, indices.astype(np.int64, copy=False)


def max_pool2d_backward(
    grad_out: np.ndarray,
    indices: np.ndarray,
    input_shape: tuple[int, int, int, int],
    *,
    disjoint: bool = False,
    empty: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient of max pooling. ``grad_out, indices (N, C, OH, OW)`` -> ``(N, C, H, W)``.

    Each output's gradient goes to its argmax; overlapping windows that share
    an argmax add up, so this is a scatter-add over global keys
    ``(n*C + c) * H*W + index``. ``empty`` (``(OH, OW)`` bool, from
    :func:`max_pool2d_empty_windows`) marks windows with no input tap: their
    output is a constant, so their entries are dropped (their index names a
    pixel they never read).

    ``disjoint=True`` promises that no two windows share an input element (see
    :func:`max_pool2d_windows_disjoint`): then no key repeats and a plain
    scatter by assignment replaces the scatter-add. Passing it for overlapping
    windows would silently lose gradient, so the default is the safe path.
    """
    N, C, H, W = input_shape
    plane = H * W
    keys = indices + (np.arange(N * C, dtype=np.int64) * plane).reshape(N, C, 1, 1)
    weights = grad_out
    if empty is not None:
        valid = np.broadcast_to(~empty, indices.shape)
        keys, weights = keys[valid], weights[valid]
    grad = np.zeros(N * C * plane, dtype=grad_out.dtype)
    if disjoint and TILING_FAST_PATH:
        # Fast path: every key is distinct, so assignment == accumulation.
        grad[keys.ravel()] = weights.ravel()
        return grad.reshape(N, C, H, W)
    # Measured on numpy 2.4 (whose ufunc.at has a fast path since 1.25):
    # np.add.at is 1.3-2.6x faster than np.bincount(keys, weights) here, and
    # it accumulates in the gradient's own dtype. (numpy < 1.25 is ~10x slower.)
    np.add.at(grad, keys.ravel(), weights.ravel())
    return grad.reshape(N, C, H, W)


# --------------------------------------------------------------------------
# Max pooling fast path: non-overlapping tiles (kernel == stride, no padding)
# --------------------------------------------------------------------------
#
# The most common max-pool (LeNet, VGG, ...: kernel_size == stride, padding 0,
# dilation 1) on an input whose H and W are multiples of the kernel tiles the
# plane exactly: output (oh, ow) reads rows oh*kh .. oh*kh+kh-1 and columns
# ow*kw .. ow*kw+kw-1, nothing overhangs, and ceil_mode changes nothing. The
# input then *is* its windows after a free reshape to (N, C, OH, kh, OW, kw),
# so the forward skips the sliding-window view, the padding and the tap-major
# copy of the general path, and the backward needs no scatter-add because each
# input element belongs to exactly one window.
#
# Results are bit-identical to the general path (values, int64 indices, the
# first-max tie rule, the last-NaN rule); tests/test_pool_pad_kernels.py checks
# that, and flips TILING_FAST_PATH off to compare against the general path.

TILING_FAST_PATH = True  # module knob: False forces the general path (tests, benchmarks)


def _is_tiling(
    H: int, W: int, kernel_size: IntPair, stride: IntPair, padding: IntPair, dilation: IntPair
) -> bool:
    """True when the windows tile the ``H x W`` plane exactly (fast-path condition)."""
    kh, kw = kernel_size
    return (
        tuple(stride) == (kh, kw)
        and tuple(padding) == (0, 0)
        and tuple(dilation) == (1, 1)
        and H > 0
        and W > 0
        and H % kh == 0
        and W % kw == 0
    )


def max_pool2d_windows_disjoint(
    kernel_size: IntPair, stride: IntPair, dilation: IntPair = (1, 1)
) -> bool:
    """True when no two pooling windows share an input element.

    Along one axis consecutive windows are disjoint iff the stride is at least
    the dilated kernel extent; two windows in the same row (or column) of the
    output only differ along the other axis, so both axes must be disjoint.
    Padding and ceil_mode do not matter: they only drop or add whole taps.
    Used to pick the assignment scatter in :func:`max_pool2d_backward`.
    """
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation, strict=False))


def _max_pool2d_tiling_forward(
    x: np.ndarray, kernel_size: IntPair
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`max_pool2d_forward` for tiling windows (caller checked :func:`_is_tiling`)."""
    N, C, H, W = x.shape
    kh, kw = kernel_size
    OH, OW = H // kh, W // kw
    K = kh * kw
    # The input already is its windows: (N, C, OH, kh, OW, kw) is a free view.
    # One copy to tap-major (K, N, C, OH, OW) so every step below is a
    # contiguous whole-array op; reducing strided views directly measured
    # ~2x slower, and max over axes (3, 5) of the view ~20x slower.
    win = x.reshape(N, C, OH, kh, OW, kw)
    # (a copy always, as in max_pool2d_forward: 1x1 outputs would keep a strided view)
    taps = np.ascontiguousarray(win.transpose(3, 5, 0, 1, 2, 4)).reshape(K, N, C, OH, OW)

    y = taps.max(axis=0)  # NaN-propagating, like PyTorch
    tap = _first_max_tap(taps, y)  # the FIRST tap equal to the max (whole forward on
    # LeNet's (64, 6, 28, 28): 0.40 -> 0.32 ms against an intp tap loop)

    if np.issubdtype(x.dtype, np.floating):
        nan_out = np.isnan(y)
        if nan_out.any():
            # NaN equals nothing; PyTorch keeps the window's LAST NaN.
            tap[nan_out] = (K - 1) - np.isnan(taps[::-1][:, nan_out]).argmax(axis=0)

    # Tap -> flat index in the H*W plane: window origin + tap offset (no padding,
    # so no tap is ever outside the input and no index is ever -1).
    ki, kj = np.divmod(np.arange(K, dtype=np.int64), kw)
    offsets = ki * W + kj
    origin = (np.arange(OH, dtype=np.int64) * (kh * W))[:, None] + np.arange(
        OW, dtype=np.int64
    ) * kw
    indices = offsets.take(tap.astype(np.intp))  # (take with uint8 indices: 10x slower)
    indices += origin
    return y, indices


def max_pool2d_reference(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair = (1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Readable loop version of :func:`max_pool2d_forward` (same outputs)."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    OH, OW = pool2d_output_size(H, W, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    indices = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    best, best_index = _lowest(x.dtype), -1
                    # an empty window's index: its first taps at or after 0 (PyTorch's rule)
                    first_h = oh * sh - ph + max(0, -((oh * sh - ph) // dh)) * dh
                    first_w = ow * sw - pw + max(0, -((ow * sw - pw) // dw)) * dw
                    for i in range(kh):
                        for j in range(kw):
                            h = oh * sh - ph + i * dh
                            w = ow * sw - pw + j * dw
                            if not (0 <= h < H and 0 <= w < W):
                                continue  # padding never wins
                            v = x[n, c, h, w]
                            # First real tap always taken; then strictly larger,
                            # or NaN (so the last NaN wins), as PyTorch does.
                            if best_index == -1 or v > best or np.isnan(v):
                                best, best_index = v, h * W + w
                    y[n, c, oh, ow] = best
                    indices[n, c, oh, ow] = (
                        first_h * W + first_w if best_index == -1 else best_index
                    )
    return y, indices


# --------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------


def avg_pool2d_divisor(
    H: int,
    W: int,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """The divisor of every output window, int64 ``(OH, OW)``.

    - ``divisor_override``: that number everywhere.
    - ``count_include_pad``: taps inside the padded input ``[-p, L + p)``, so
      padded zeros count but a ceil_mode overhang past the padding does not.
    - otherwise: taps inside the real input ``[0, L)`` only.
    The count is separable: rows-in-window times columns-in-window.
    """
    OH, OW = pool2d_output_size(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None:
        return np.full((OH, OW), divisor_override, dtype=np.int64)

    def per_axis(length: int, out: int, k: int, s: int, p: int) -> np.ndarray:
        start = np.arange(out, dtype=np.int64) * s - p
        if count_include_pad:
            return np.minimum(start + k, length + p) - start
        return np.minimum(start + k, length) - np.maximum(start, 0)

    rows = per_axis(H, OH, kernel_size[0], stride[0], padding[0])
    cols = per_axis(W, OW, kernel_size[1], stride[1], padding[1])
    return rows[:, None] * cols[None, :]


def _accumulation_dtype(dtype: np.dtype) -> np.dtype:
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int64)
    if dtype == np.float16:
        return np.dtype(np.float32)  # as PyTorch's opmath type for half
    return dtype


def avg_pool2d_forward(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Average pooling. ``x (N, C, H, W)`` -> ``y (N, C, OH, OW)``, same dtype as ``x``.

    Integer input sums exactly in int64 and divides with truncation toward
    zero, as PyTorch's CPU kernel does for int64.
    """
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = pool2d_output_size(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    div = avg_pool2d_divisor(
        H, W, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )

    # Zero padding: zeros add nothing to a sum; the divisor decides what counts.
    top, bottom = _padded_extent(H, OH, kh, sh, ph, 1)
    left, right = _padded_extent(W, OW, kw, sw, pw, 1)
    acc = _accumulation_dtype(x.dtype)
    xp = np.zeros((N, C, top + H + bottom, left + W + right), dtype=acc)
    xp[:, :, top : top + H, left : left + W] = x

    # A box sum is separable: add the kh rows of each window, then the kw columns.
    rows = np.zeros((N, C, OH, xp.shape[3]), dtype=acc)
    for i in range(kh):
        rows += xp[:, :, i : i + (OH - 1) * sh + 1 : sh, :]
    total = np.zeros((N, C, OH, OW), dtype=acc)
    for j in range(kw):
        total += rows[:, :, :, j : j + (OW - 1) * sw + 1 : sw]

    if np.issubdtype(acc, np.integer):
        q = total // div
        q += (q < 0) & (q * div != total)  # floor -> truncation toward zero
        return q.astype(x.dtype, copy=False)
    return (total / div.astype(acc)).astype(x.dtype, copy=False)


def avg_pool2d_backward(
    grad_out: np.ndarray,
    input_shape: tuple[int, int, int, int],
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Gradient of average pooling. ``grad_out (N, C, OH, OW)`` -> ``(N, C, H, W)``.

    The forward's transpose: each output's ``grad / divisor`` is spread over
    its window, again separably (columns, then rows) with strided slice adds
    into a padded buffer, which is then cropped to the input.
    """
    N, C, H, W = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = grad_out.shape[2:]
    div = avg_pool2d_divisor(
        H, W, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    g = grad_out / div.astype(grad_out.dtype)

    top, bottom = _padded_extent(H, OH, kh, sh, ph, 1)
    left, right = _padded_extent(W, OW, kw, sw, pw, 1)
    Hp, Wp = top + H + bottom, left + W + right
    if g.dtype == np.float16:
        # PyTorch's float16 kernel adds each window's share into a float16 buffer, window
        # by window in output order, rounding every add. The same adds: tap (i, j) of every
        # window at once, the taps in reverse order, so that each pixel receives its
        # windows' shares in their order (a later window reaches it through an earlier tap).
        grad_p = np.zeros((N, C, Hp, Wp), dtype=g.dtype)
        for i in reversed(range(kh)):
            for j in reversed(range(kw)):
                grad_p[:, :, i : i + (OH - 1) * sh + 1 : sh, j : j + (OW - 1) * sw + 1 : sw] += g
        return np.ascontiguousarray(grad_p[:, :, top : top + H, left : left + W])
    cols = np.zeros((N, C, OH, Wp), dtype=g.dtype)
    for j in range(kw):
        cols[:, :, :, j : j + (OW - 1) * sw + 1 : sw] += g
    grad_p = np.zeros((N, C, Hp, Wp), dtype=g.dtype)
    for i in range(kh):
        grad_p[:, :, i : i + (OH - 1) * sh + 1 : sh, :] += cols
    # Gradient that landed on padding (or the ceil_mode overhang) is dropped.
    return np.ascontiguousarray(grad_p[:, :, top : top + H, left : left + W])


def avg_pool2d_reference(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair,
    padding: IntPair,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Readable loop version of :func:`avg_pool2d_forward` for float input."""
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    OH, OW = pool2d_output_size(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for oh in range(OH):
                for ow in range(OW):
                    total, real, in_padded = 0.0, 0, 0
                    for i in range(kh):
                        for j in range(kw):
                            h = oh * sh - ph + i
                            w = ow * sw - pw + j
                            if h < H + ph and w < W + pw:
                                in_padded += 1  # tap inside input-plus-padding
                            if 0 <= h < H and 0 <= w < W:
                                real += 1
                                total += x[n, c, h, w]
                    if divisor_override is not None:
                        divisor = divisor_override
                    elif count_include_pad:
                        divisor = in_padded
                    else:
                        divisor = real
                    y[n, c, oh, ow] = total / divisor
    return y


# --------------------------------------------------------------------------
# Adaptive pooling: a fixed output size, windows of uneven size
# --------------------------------------------------------------------------
#
# Output position i of an axis of length L pooled to `out` reads input rows
# [floor(i*L/out), ceil((i+1)*L/out)) (PyTorch's rule). When out divides L
# these are the tiles of an ordinary pooling; otherwise neighbouring windows
# may differ in size by one and may overlap by one row (5 -> 3: [0,2), [1,4),
# [3,5)), and with out > L rows repeat (1 -> 7: every window is [0, 1)).
# Adaptive pooling has no padding, so no window is ever empty.


def adaptive_windows(length: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the ``out`` windows of an axis of ``length``: int64 ``(out,)``."""
    i = np.arange(out, dtype=np.int64)
    return (i * length) // out, -((-(i + 1) * length) // out)  # floor and ceil divisions


_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # (float16 keeps its float32 sums)


def adaptive_avg_pool2d_forward(x: np.ndarray, out_size: IntPair) -> np.ndarray:
    """``x (N, C, H, W)`` (float) -> ``(N, C, OH, OW)``: the mean of each window.

    The window sum is separable: sum each window's rows (one slice-sum per
    output row), then each window's columns, and divide by the window's size.
    (Not as products with 0/1 window matrices: 0 * NaN is NaN, so a NaN or inf
    would leak into windows that do not hold it.)
    """
    N, C, H, W = x.shape
    if tuple(out_size) == (1, 1) and x.dtype in _BLAS_FLOATS and x.flags.c_contiguous and x.size:
        # The global pool (ResNet's head): one GEMV with a vector of ones (BLAS) over the
        # N*C rows of H*W values. 0.35 ms -> 0.034 ms on the residual block's (16, 32, 32,
        # 32) float32 (the slice-sums below reduce over a non-contiguous axis). A sum of
        # ones times values: no 0 * NaN, so a NaN or inf stays in its own row.
        y = threads.matvec(x.reshape(N * C, H * W), np.ones(H * W, x.dtype))
        y /= H * W
        return y.reshape(N, C, 1, 1)
    OH, OW = out_size
    (hs, he), (ws, we) = adaptive_windows(H, OH), adaptive_windows(W, OW)
    acc = _accumulation_dtype(x.dtype)
    if x.size == 0 or N * C * OH * OW == 0:
        return np.zeros((N, C, OH, OW), dtype=x.dtype)
    # Whole-array adds only: np.sum over a 5-row slice of axis 2 runs 2048 * 5 short inner
    # loops per window (and over a 5-column slice of the last axis, 14336 loops of 5), so the
    # window rows are added slab by slab (x[:, :, h, :]), and the columns after moving them to
    # the front. Each window's sum is added in order from 0, as np.sum added windows of up to 7
    # columns (the same bits; a wider window np.sum added pairwise: last-bit differences).
    # (32, 64, 32, 32) float32 to 7x7: 17 -> 5.5 ms.
    rows = np.empty((OH, N, C, W), dtype=acc)
    for i in range(OH):
        np.add(x[:, :, hs[i], :], 0, out=rows[i], dtype=acc)  # (0 + first row: as np.sum)
        for h in range(hs[i] + 1, he[i]):
            np.add(rows[i], x[:, :, h, :], out=rows[i], dtype=acc)
    cols = np.ascontiguousarray(np.moveaxis(rows, 3, 0))  # (W, OH, N, C)
    y = np.empty((OW, OH, N, C), dtype=acc)
    for j in range(OW):
        np.add(cols[ws[j]], 0, out=y[j])
        for w in range(ws[j] + 1, we[j]):
            y[j] += cols[w]
    out = np.empty((N, C, OH, OW), dtype=x.dtype)
    size = ((we - ws)[:, None] * (he - hs)[None, :]).astype(acc)  # (OW, OH)
    np.divide(y, size[:, :, None, None], out=out.transpose(3, 2, 0, 1), casting="unsafe")
    return out


def _overlapping_adds(
    src: np.ndarray, starts: np.ndarray, ends: np.ndarray, dst: Callable[[int], np.ndarray]
) -> None:
    """dst(p) = 0 + src[i] + src[j] + ... over the windows i < j < ... that hold position p
    (windows [starts, ends) along one axis, src[i] window i's slab): the slice-adds onto
    zeros, in their order, one position at a time (whole-slab adds)."""
    first = np.full(int(ends[-1]), -1)
    for i in range(len(starts)):
        for p in range(int(starts[i]), int(ends[i])):
            if first[p] < 0:
                first[p] = i
                np.add(src[i], 0, out=dst(p))  # 0 + g: -0.0 becomes 0.0, as on zeros
            else:
                np.add(dst(p), src[i], out=dst(p))


def adaptive_avg_pool2d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Gradient of the adaptive average: each window's ``grad / size`` added onto its pixels.

    The forward's transpose, again separably: columns first, then rows,
    one slice-add per window (overlapping windows add up).
    """
    N, C, H, W = input_shape
    OH, OW = grad_out.shape[2:]
    (hs, he), (ws, we) = adaptive_windows(H, OH), adaptive_windows(W, OW)
    if grad_out.dtype == np.float16:
        return _adaptive_avg_pool2d_backward_half(grad_out, input_shape, hs, he, ws, we)
    g = grad_out / ((he - hs)[:, None] * (we - ws)[None, :]).astype(grad_out.dtype)
    if (OH, OW) == (1, 1):
        # The global pool: one broadcast copy of grad / (H*W), no zeros to add onto
        # (0.21 -> 0.044 ms on the residual block's (16, 32, 32, 32) float32)
        grad = np.empty((N, C, H, W), dtype=g.dtype)
        np.copyto(grad, g)
        return grad
    if grad_out.size == 0 or N * C * H * W == 0:
        return np.zeros((N, C, H, W), dtype=g.dtype)
    # the transpose of the forward's slab adds, in the order of the old slice-adds onto zeros
    # (so the same sums, -0.0 included): (32, 64, 32, 32) float32 from 7x7: 10 -> 3.8 ms
    gt = np.ascontiguousarray(np.moveaxis(g, 3, 0))  # (OW, N, C, OH)
    cols = np.empty((W, N, C, OH), dtype=g.dtype)
    _overlapping_adds(gt, ws, we, lambda w: cols[w])
    rows = np.ascontiguousarray(cols.transpose(3, 1, 2, 0))  # (OH, N, C, W)
    grad = np.empty((N, C, H, W), dtype=g.dtype)
    _overlapping_adds(rows, hs, he, lambda h: grad[:, :, h, :])
    return grad


def _adaptive_avg_pool2d_backward_half(
    grad_out: np.ndarray, input_shape: tuple, hs: np.ndarray, he: np.ndarray, ws, we
) -> np.ndarray:
    """float16 as PyTorch's kernel: each window's share grad / rows / cols (two float16
    divisions) added onto its pixels in a float16 buffer, window by window in output order,
    every add rounded (sums in float32 would give other numbers where windows overlap)."""
    grad = np.zeros(input_shape, dtype=np.float16)
    f16 = np.float16
    for i in range(grad_out.shape[2]):
        for j in range(grad_out.shape[3]):
            share = grad_out[:, :, i, j] / f16(he[i] - hs[i]) / f16(we[j] - ws[j])
            grad[:, :, hs[i] : he[i], ws[j] : we[j]] += share[:, :, None, None]
    return grad


def _window_taps(length: int, out: int) -> np.ndarray:
    """``(out, k)`` input positions of each window, k the largest window; a short
    window repeats its last position (a repeat changes neither the max nor which
    position is the first maximum or the last NaN)."""
    starts, ends = adaptive_windows(length, out)
    k = int((ends - starts).max())
    return np.minimum(starts[:, None] + np.arange(k), ends[:, None] - 1)


def adaptive_max_pool2d_forward(x: np.ndarray, out_size: IntPair) -> tuple[np.ndarray, np.ndarray]:
    """``x (N, C, H, W)`` -> ``(y, indices)``, both ``(N, C, OH, OW)``; indices int64 ``h * W + w``.

    The same rules as :func:`max_pool2d_forward`: the first maximum in window
    order (row by row) wins, and a NaN wins over numbers (the window's last NaN).
    """
    N, C, H, W = x.shape
    OH, OW = out_size
    if N * C * OH * OW == 0:  # nothing to take the max of (max has no identity)
        return np.zeros((N, C, OH, OW), x.dtype), np.zeros((N, C, OH, OW), np.int64)
    rows, cols = _window_taps(H, OH), _window_taps(W, OW)  # (OH, kh), (OW, kw)
    kh, kw = rows.shape[1], cols.shape[1]
    # tap-major gather (K, N, C, OH, OW), as in the max pool: every step is a whole-array op
    taps = x[:, :, rows.T[:, None, :, None], cols.T[None, :, None, :]]  # (N, C, kh, kw, OH, OW)
    taps = taps.reshape(N, C, kh * kw, OH, OW).transpose(2, 0, 1, 3, 4)
    K = kh * kw
    y = taps.max(axis=0)
    tap = _first_max_tap(taps, y)  # the first tap equal to the max
    if np.issubdtype(x.dtype, np.floating):
        nan_out = np.isnan(y)
        if nan_out.any():
            tap[nan_out] = (K - 1) - np.isnan(taps[::-1][:, nan_out]).argmax(axis=0)
    ti, tj = np.divmod(tap, kw)
    oh, ow = np.arange(OH)[:, None], np.arange(OW)[None, :]
    indices = rows[oh, ti] * W + cols[ow, tj]
    return np.ascontiguousarray(y), indices.astype(np.int64, copy=False)


def adaptive_avg_pool2d_reference(x: np.ndarray, out_size: IntPair) -> np.ndarray:
    """Loop version of :func:`adaptive_avg_pool2d_forward`: the mean of each window."""
    N, C, H, W = x.shape
    (hs, he), (ws, we) = adaptive_windows(H, out_size[0]), adaptive_windows(W, out_size[1])
    y = np.empty((N, C, *out_size), dtype=x.dtype)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            y[:, :, i, j] = x[:, :, hs[i] : he[i], ws[j] : we[j]].mean(axis=(2, 3))
    return y


def adaptive_max_pool2d_reference(
    x: np.ndarray, out_size: IntPair
) -> tuple[np.ndarray, np.ndarray]:
    """Loop version of :func:`adaptive_max_pool2d_forward` (same values and indices)."""
    N, C, H, W = x.shape
    (hs, he), (ws, we) = adaptive_windows(H, out_size[0]), adaptive_windows(W, out_size[1])
    y = np.empty((N, C, *out_size), dtype=x.dtype)
    indices = np.empty((N, C, *out_size), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(out_size[0]):
                for j in range(out_size[1]):
                    best, best_index = None, -1
                    for h in range(hs[i], he[i]):
                        for w in range(ws[j], we[j]):
                            v = x[n, c, h, w]
                            if best_index == -1 or v > best or np.isnan(v):
                                best, best_index = v, h * W + w
                    y[n, c, i, j], indices[n, c, i, j] = best, best_index
    return y, indices


# -- fractional max pooling ---------------------------------------------------------------------


def fractional_starts(
    samples: np.ndarray, in_size: int, out_size: int, pool: int, dtype: np.dtype
) -> np.ndarray:
    """Window starts of fractional max pooling along one axis, one row per plane.

    ``samples (P,)``, one u in [0, 1) per plane -> ``(P, out_size)`` int64. Graham's pseudo-
    random sequence, as PyTorch computes it: with alpha = (in - pool) / (out - 1),
    start_i = trunc((i + u) * alpha) - trunc(u * alpha), and the last window ends at the
    input's end (start = in - pool). The arithmetic is in the input's dtype (float16's alpha
    rounded to float16, the rest in float32, as PyTorch's Half), so the windows are PyTorch's.
    """
    work = np.float32 if dtype == np.float16 else np.dtype(dtype).type
    u = samples.astype(work)
    starts = np.empty((len(u), out_size), dtype=np.int64)
    if out_size > 1:
        alpha = work(in_size - pool) / work(out_size - 1)
        if dtype == np.float16:
            alpha = work(np.float16(alpha))
        i = np.arange(out_size - 1).astype(work)
        first = np.trunc((i[None, :] + u[:, None]) * alpha).astype(np.int64)
        starts[:, :-1] = first - np.trunc(u * alpha).astype(np.int64)[:, None]
    starts[:, -1] = in_size - pool
    return starts


def fractional_max_pool2d_forward(
    x: np.ndarray, kernel: tuple[int, int], out_size: tuple[int, int], samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``x (N, C, H, W)``, ``samples (N, C, 2)`` (u for the width, then the height) ->
    ``(y, indices)``, each ``(N, C, OH, OW)``; indices into the H*W plane, as max_pool2d's.

    Each window is scanned row by row and keeps the first maximum, or the last NaN if it
    holds one (PyTorch's ``val > max || isnan(val)``)."""
    N, C, H, W = x.shape
    (kh, kw), (OH, OW) = kernel, out_size
    P = N * C
    u = samples.reshape(P, 2)
    rows = fractional_starts(u[:, 1], H, OH, kh, x.dtype)[:, :, None] + np.arange(kh)
    cols = fractional_starts(u[:, 0], W, OW, kw, x.dtype)[:, :, None] + np.arange(kw)
    # flat[p, i, j, a, b] = the plane index of tap (a, b) of window (i, j)
    flat = rows[:, :, None, :, None] * W + cols[:, None, :, None, :]
    flat = flat.reshape(P, OH, OW, kh * kw)
    taps = np.take_along_axis(x.reshape(P, H * W), flat.reshape(P, -1), axis=1)
    taps = taps.reshape(flat.shape)
    nan = np.isnan(taps)
    pos = np.argmax(np.where(nan, -np.inf, taps), axis=-1)
    if nan.any():
        last_nan = kh * kw - 1 - np.argmax(nan[..., ::-1], axis=-1)
        pos = np.where(nan.any(axis=-1), last_nan, pos)
    pos = pos[..., None]
    y = np.take_along_axis(taps, pos, axis=-1)[..., 0]
    indices = np.take_along_axis(flat, pos, axis=-1)[..., 0]
    return y.reshape(N, C, OH, OW), indices.reshape(N, C, OH, OW)
