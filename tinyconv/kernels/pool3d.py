"""3-D max, average and adaptive pooling, built on the 2-D pooling kernels: pure NumPy, no graph.

Read ``pool.py`` first (its geometry, tie and NaN rules hold here axis by axis). Arguments
arrive validated and normalised by ``tinyconv.nn.functional``: ``x`` is ``(N, C, D, H, W)``;
``kernel_size``, ``stride``, ``padding`` and ``dilation`` are int triples ``(d, h, w)``.

The idea: a 3-D window is a depth window of 2-D windows
--------------------------------------------------------
Output (t, i, j) reads the depth taps t*sd - pd + r*dd and, in each, the 2-D window (i, j).
Sum, mean and max all split along that product:

- avg: ``y = (sum over r of S2[r]) / (cnt_d * cnt_h * cnt_w)``, ``S2`` the 2-D window sums;
  PyTorch's divisor (count_include_pad or not) is a product of per-axis counts, so this is
  avg_pool2d over (H, W) of every depth slice, then avg_pool2d with a (kd, 1) kernel over
  the plane (D, OH*OW): two 2-D average pools. The backward is theirs, in reverse order.
  (``divisor_override``: the first pool sums (divisor 1), the second divides.)
- max: ``max over r of M2[r]``, ``M2`` the 2-D window maxima: max_pool2d over (H, W) of
  every slice, then max_pool2d with a (kd, 1) kernel over (D, OH*OW). The winner's index
  is its depth times H*W plus the 2-D index the first pool found in that slice. Window
  order is depth-major, so "the first maximum wins" and "the last NaN wins" (pool.py's
  rules, PyTorch's) carry over: the first slice holding the maximum, and in it the first
  position; the last slice holding a NaN, and in it the last NaN. The backward is the 2-D
  scatter of each output's gradient onto its argmax, over the D*H*W volume.
- adaptive avg / max: the same two steps with adaptive_*_pool2d (depth windows from the
  depth rule, the OH*OW axis kept as it is).

The loop references below are the definitions, written independently of all this.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import pool as pool2

IntTriple = tuple[int, int, int]


def pool3d_output_size(
    shape: IntTriple,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    dilation: IntTriple = (1, 1, 1),
    ceil_mode: bool = False,
) -> IntTriple:
    """``(OD, OH, OW)`` of a 3-D pooling of input sizes ``shape = (D, H, W)``, pool.py's rule."""
    return tuple(
        pool2._out_len(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(shape, kernel_size, stride, padding, dilation, strict=True)
    )


def _slices(x: np.ndarray) -> np.ndarray:
    """``(N, C, D, H, W)`` -> ``(N, C*D, H, W)``: every depth slice an image (a view)."""
    N, C, D, H, W = x.shape
    return x.reshape(N, C * D, H, W)


def _depth_plane(a: np.ndarray, N: int, C: int, D: int) -> np.ndarray:
    """``(N, C*D, OH, OW)`` -> ``(N, C, D, OH*OW)``: depth by 2-D output position."""
    return a.reshape(N, C, D, -1)


# --------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------


def max_pool3d_empty_windows(
    shape: IntTriple,
    out_size: IntTriple,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    dilation: IntTriple,
) -> np.ndarray | None:
    """``(OD, OH, OW)`` bool: the windows with no tap inside the input (None if none). Their
    output is the padding's -inf, a constant, as in pool.max_pool2d_empty_windows."""
    axes = [
        pool2._first_tap(n, o, k, s, p, d) >= n
        for n, o, k, s, p, d in zip(
            shape, out_size, kernel_size, stride, padding, dilation, strict=True
        )
    ]
    if not any(a.any() for a in axes):
        return None
    return axes[0][:, None, None] | axes[1][None, :, None] | axes[2][None, None, :]


def max_pool3d_forward(
    x: np.ndarray,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    dilation: IntTriple = (1, 1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``x (N, C, D, H, W)`` -> ``(y, indices)``, both ``(N, C, OD, OH, OW)``; indices int64
    ``d*H*W + h*W + w`` (PyTorch's). Two 2-D max pools (module docstring)."""
    N, C, D, H, W = x.shape
    y2, idx2 = pool2.max_pool2d_forward(
        _slices(x), kernel_size[1:], stride[1:], padding[1:], dilation[1:], ceil_mode
    )
    OH, OW = y2.shape[2:]
    # depth: a (kd, 1) max pool of the plane (D, OH*OW); its index is depth * OH*OW + column
    y, idx = pool2.max_pool2d_forward(
        _depth_plane(y2, N, C, D),
        (kernel_size[0], 1),
        (stride[0], 1),
        (padding[0], 0),
        (dilation[0], 1),
        ceil_mode,
    )
    OD = y.shape[2]
    depth = idx // (OH * OW)  # the winning slice (past D for a window empty in depth)
    inside = np.minimum(depth, D - 1)
    # the 2-D index of the winner in its slice: idx2 at (n, c, depth, i, j)
    in_slice = np.take_along_axis(
        idx2.reshape(N, C, D, OH * OW), inside.reshape(N, C, OD, OH * OW), axis=2
    )
    indices = depth.reshape(N, C, OD, OH * OW) * (H * W) + in_slice
    if (depth >= D).any():
        # a window with no depth tap: PyTorch's index of its first taps at or after 0 in
        # each axis (outside the input; see pool.max_pool2d_forward)
        r0 = pool2._first_tap(H, OH, kernel_size[1], stride[1], padding[1], dilation[1])
        c0 = pool2._first_tap(W, OW, kernel_size[2], stride[2], padding[2], dilation[2])
        first = (depth * (H * W)).reshape(N, C, OD, OH, OW) + (r0[:, None] * W + c0)
        indices = np.where(
            (depth >= D).reshape(N, C, OD, OH, OW), first, indices.reshape(N, C, OD, OH, OW)
        )
    return y.reshape(N, C, OD, OH, OW), indices.reshape(N, C, OD, OH, OW).astype(np.int64)


def max_pool3d_backward(
    grad_out: np.ndarray,
    indices: np.ndarray,
    input_shape: tuple[int, ...],
    *,
    disjoint: bool = False,
    empty: np.ndarray | None = None,
) -> np.ndarray:
    """``grad_out, indices (N, C, OD, OH, OW)`` -> ``(N, C, D, H, W)``: each output's gradient
    added onto its argmax (pool.max_pool2d_backward over the D*H*W volume)."""
    N, C, D, H, W = input_shape
    OD, OH, OW = grad_out.shape[2:]
    flat = (N, C, OD, OH * OW)  # the 2-D helper's (N, C, OH, OW) layout
    g = pool2.max_pool2d_backward(
        grad_out.reshape(flat),
        indices.reshape(flat),
        (N, C, D, H * W),
        disjoint=disjoint,
        empty=None if empty is None else empty.reshape(OD, OH * OW),
    )
    return g.reshape(input_shape)


def max_pool3d_reference(
    x: np.ndarray,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    dilation: IntTriple = (1, 1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Loop version of :func:`max_pool3d_forward`: every window's taps in order (depth, row,
    column); the first real tap, then a strictly larger one or a NaN, wins."""
    N, C, D, H, W = x.shape
    size = (D, H, W)
    out = pool3d_output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    y = np.empty((N, C, *out), dtype=x.dtype)
    indices = np.empty((N, C, *out), dtype=np.int64)
    for n, c in np.ndindex(N, C):
        for o in np.ndindex(*out):
            starts = [o[a] * stride[a] - padding[a] for a in range(3)]
            best, best_index = pool2._lowest(x.dtype), -1
            for taps in np.ndindex(*kernel_size):
                pos = [starts[a] + taps[a] * dilation[a] for a in range(3)]
                if not all(0 <= pos[a] < size[a] for a in range(3)):
                    continue  # padding never wins
                v = x[(n, c, *pos)]
                if best_index == -1 or v > best or np.isnan(v):
                    best, best_index = v, (pos[0] * H + pos[1]) * W + pos[2]
            if best_index == -1:  # no tap inside: the first taps at or after 0 (PyTorch)
                first = [s + max(0, -(s // d)) * d for s, d in zip(starts, dilation, strict=True)]
                best_index = (first[0] * H + first[1]) * W + first[2]
            y[(n, c, *o)], indices[(n, c, *o)] = best, best_index
    return y, indices


# --------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------


def _avg_steps(
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> tuple[tuple, tuple]:
    """The two 2-D average pools' arguments: over (H, W), then (kd, 1) over (D, OH*OW)."""
    first = (kernel_size[1:], stride[1:], padding[1:], ceil_mode, count_include_pad)
    depth = ((kernel_size[0], 1), (stride[0], 1), (padding[0], 0), ceil_mode, count_include_pad)
    if divisor_override is not None:  # sum first, divide once
        return (*first, 1), (*depth, divisor_override)
    return (*first, None), (*depth, None)


def avg_pool3d_forward(
    x: np.ndarray,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """``x (N, C, D, H, W)`` (float) -> ``(N, C, OD, OH, OW)``: two 2-D average pools."""
    N, C, D = x.shape[:3]
    first, depth = _avg_steps(
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    y2 = pool2.avg_pool2d_forward(_slices(x), *first)
    OH, OW = y2.shape[2:]
    y = pool2.avg_pool2d_forward(_depth_plane(y2, N, C, D), *depth)
    return y.reshape(N, C, y.shape[2], OH, OW)


def avg_pool3d_backward(
    grad_out: np.ndarray,
    input_shape: tuple[int, ...],
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """``grad_out (N, C, OD, OH, OW)`` -> ``(N, C, D, H, W)``: the two pools' backwards,
    the depth one first."""
    N, C, D, H, W = input_shape
    OD, OH, OW = grad_out.shape[2:]
    first, depth = _avg_steps(
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    g2 = pool2.avg_pool2d_backward(grad_out.reshape(N, C, OD, OH * OW), (N, C, D, OH * OW), *depth)
    g = pool2.avg_pool2d_backward(g2.reshape(N, C * D, OH, OW), (N, C * D, H, W), *first)
    return g.reshape(input_shape)


def avg_pool3d_reference(
    x: np.ndarray,
    kernel_size: IntTriple,
    stride: IntTriple,
    padding: IntTriple,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """Loop version of :func:`avg_pool3d_forward`: each window's sum over its real taps,
    divided by divisor_override, the taps inside input-plus-padding (count_include_pad), or
    the real taps."""
    N, C, D, H, W = x.shape
    size = (D, H, W)
    out = pool3d_output_size(size, kernel_size, stride, padding, (1, 1, 1), ceil_mode)
    y = np.empty((N, C, *out), dtype=x.dtype)
    for n, c in np.ndindex(N, C):
        for o in np.ndindex(*out):
            total, real, in_padded = 0.0, 0, 0
            for taps in np.ndindex(*kernel_size):
                pos = [o[a] * stride[a] - padding[a] + taps[a] for a in range(3)]
                if all(pos[a] < size[a] + padding[a] for a in range(3)):
                    in_padded += 1
                if all(0 <= pos[a] < size[a] for a in range(3)):
                    real += 1
                    total += x[(n, c, *pos)]
            if divisor_override is not None:
                divisor = divisor_override
            else:
                divisor = in_padded if count_include_pad else real
            y[(n, c, *o)] = total / divisor
    return y


# --------------------------------------------------------------------------
# Adaptive pooling
# --------------------------------------------------------------------------


def adaptive_avg_pool3d_forward(x: np.ndarray, out_size: IntTriple) -> np.ndarray:
    """``x (N, C, D, H, W)`` (float) -> ``(N, C, OD, OH, OW)``: two 2-D adaptive averages."""
    N, C, D = x.shape[:3]
    OD, OH, OW = out_size
    if x.dtype == np.float16 and x.size and N * C * OD * OH * OW:
        return _adaptive_avg_pool3d_forward_half(x, out_size)
    y2 = pool2.adaptive_avg_pool2d_forward(_slices(x), (OH, OW))
    y = pool2.adaptive_avg_pool2d_forward(_depth_plane(y2, N, C, D), (OD, OH * OW))
    return y.reshape(N, C, OD, OH, OW)


def adaptive_avg_pool3d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """``grad_out (N, C, OD, OH, OW)`` -> ``(N, C, D, H, W)``: the two backwards, depth first."""
    N, C, D, H, W = input_shape
    OD, OH, OW = grad_out.shape[2:]
    if grad_out.dtype == np.float16:
        return _adaptive_avg_pool3d_backward_half(grad_out, input_shape)
    g2 = pool2.adaptive_avg_pool2d_backward(grad_out.reshape(N, C, OD, OH * OW), (N, C, D, OH * OW))
    g = pool2.adaptive_avg_pool2d_backward(g2.reshape(N, C * D, OH, OW), (N, C * D, H, W))
    return g.reshape(input_shape)


# PyTorch's 3-D adaptive average for float16 sums each window in float16 (d, h, w in order,
# every add rounded) and divides by its depth, height and width one after the other; its
# backward adds each window's share into a float16 buffer window by window. The same
# roundings here (summed in float32, as the 2-D passes above do, it gave other numbers).


def _adaptive_avg_pool3d_forward_half(x: np.ndarray, out_size: IntTriple) -> np.ndarray:
    """Every window's taps (d, h, w) added in order, for all windows at once: tap t of an
    axis is its window's start + t, a zero past the window's end (adding +0 changes no sum)."""
    wins = [pool2.adaptive_windows(n, o) for n, o in zip(x.shape[2:], out_size, strict=True)]
    total = np.zeros(x.shape[:2] + tuple(out_size), np.float16)
    spans = [range(int((e - s).max())) for s, e in wins]
    for taps in itertools.product(*spans):
        v = x
        valid = True
        for a, ((s, e), t) in enumerate(zip(wins, taps, strict=True)):
            v = np.take(v, np.minimum(s + t, e - 1), axis=2 + a)
            shape = [1] * 3
            shape[a] = -1
            valid = valid & (s + t < e).reshape(shape)
        total += np.where(valid, v, np.float16(0))
    for a, (s, e) in enumerate(wins):  # / depth / height / width, each rounded
        shape = [1] * 3
        shape[a] = -1
        total /= (e - s).astype(np.float16).reshape(shape)
    return total


def _adaptive_avg_pool3d_backward_half(grad_out: np.ndarray, input_shape: tuple) -> np.ndarray:
    """Each window's share grad / depth / height / width added onto its taps, window by
    window in output order, in float16."""
    (ds, de), (hs, he), (ws, we) = (
        pool2.adaptive_windows(n, o)
        for n, o in zip(input_shape[2:], grad_out.shape[2:], strict=True)
    )
    grad = np.zeros(input_shape, np.float16)
    f16 = np.float16
    for i, j, k in np.ndindex(*grad_out.shape[2:]):
        share = grad_out[:, :, i, j, k] / f16(de[i] - ds[i]) / f16(he[j] - hs[j])
        share = share / f16(we[k] - ws[k])
        grad[:, :, ds[i] : de[i], hs[j] : he[j], ws[k] : we[k]] += share[..., None, None, None]
    return grad


def adaptive_max_pool3d_forward(
    x: np.ndarray, out_size: IntTriple
) -> tuple[np.ndarray, np.ndarray]:
    """``x (N, C, D, H, W)`` -> ``(y, indices)`` ``(N, C, OD, OH, OW)``, indices int64
    ``d*H*W + h*W + w``: two 2-D adaptive max pools, as max_pool3d_forward."""
    N, C, D, H, W = x.shape
    OD, OH, OW = out_size
    if N * C * OD * OH * OW == 0:  # nothing to take the max of (max has no identity)
        shape = (N, C, OD, OH, OW)
        return np.zeros(shape, x.dtype), np.zeros(shape, np.int64)
    y2, idx2 = pool2.adaptive_max_pool2d_forward(_slices(x), (OH, OW))
    y, idx = pool2.adaptive_max_pool2d_forward(_depth_plane(y2, N, C, D), (OD, OH * OW))
    depth = idx // (OH * OW)
    in_slice = np.take_along_axis(idx2.reshape(N, C, D, OH * OW), depth, axis=2)
    indices = depth * (H * W) + in_slice
    return y.reshape(N, C, OD, OH, OW), indices.reshape(N, C, OD, OH, OW)


def adaptive_avg_pool3d_reference(x: np.ndarray, out_size: IntTriple) -> np.ndarray:
    """Loop version of :func:`adaptive_avg_pool3d_forward`: the mean of each window."""
    N, C = x.shape[:2]
    win = [pool2.adaptive_windows(n, o) for n, o in zip(x.shape[2:], out_size, strict=True)]
    y = np.empty((N, C, *out_size), dtype=x.dtype)
    for o in np.ndindex(*out_size):
        box = tuple(slice(win[a][0][o[a]], win[a][1][o[a]]) for a in range(3))
        y[(slice(None), slice(None), *o)] = x[(slice(None), slice(None), *box)].mean(axis=(2, 3, 4))
    return y


def adaptive_max_pool3d_reference(
    x: np.ndarray, out_size: IntTriple
) -> tuple[np.ndarray, np.ndarray]:
    """Loop version of :func:`adaptive_max_pool3d_forward` (same values and indices)."""
    N, C, D, H, W = x.shape
    win = [pool2.adaptive_windows(n, o) for n, o in zip((D, H, W), out_size, strict=True)]
    y = np.empty((N, C, *out_size), dtype=x.dtype)
    indices = np.empty((N, C, *out_size), dtype=np.int64)
    for n, c in np.ndindex(N, C):
        for o in np.ndindex(*out_size):
            best, best_index = None, -1
            ranges = [range(win[a][0][o[a]], win[a][1][o[a]]) for a in range(3)]
            for d in ranges[0]:
                for h in ranges[1]:
                    for w in ranges[2]:
                        v = x[n, c, d, h, w]
                        if best_index == -1 or v > best or np.isnan(v):
                            best, best_index = v, (d * H + h) * W + w
            y[(n, c, *o)], indices[(n, c, *o)] = best, best_index
    return y, indices
