"""Padding kernels (``F.pad``): pure NumPy, no Tensor, no graph.

Arguments arrive validated and normalised by ``tinyconv.nn.functional``:
``pad`` is PyTorch's flat tuple for the trailing dimensions, last dimension
first: ``(left, right)`` pads the last axis, ``(left, right, top, bottom)``
the last two, and so on (any even length up to ``2 * x.ndim``); ``mode`` is
one of ``'constant'``, ``'reflect'``, ``'replicate'``, ``'circular'``.

Modes, on one axis of length n padded by (l, r), and where each padded
position copies from ('source' index in the input):

    constant   value
    reflect    mirror excluding the edge: left j -> l - j   (needs l, r < n)
    replicate  the edge element:          left j -> 0        (numpy 'edge')
    circular   wrap around:               left j -> n - l + j (needs l, r <= n)

A negative l or r crops instead, in every mode, as PyTorch does; how it combines with a
positive width on the other side differs by mode (PyTorch's kernels):

    constant, reflect, replicate   pad by the positive widths first, then crop: output j
                                   copies source(j - l) of the *uncropped* input, so a
                                   reflection may reach into the cropped part
    circular                       crop first, then wrap around what is left (PyTorch's
                                   slice copies; it needs the positive widths <= that size)

PyTorch pads one axis after another, so corners are padded copies of padded
copies; ``np.pad`` does the same, and its 'reflect' / 'edge' / 'wrap' modes
match PyTorch's reflect / replicate / circular within the limits above. Beyond
them np.pad silently does something else (repeated reflection or wrapping), so
F.pad checks the limits, once, before calling these kernels.

Backward: padding is linear and acts on each axis separately, so its
transpose does too. Per axis, the gradient of the central block passes
straight through, and each border's gradient is added back onto the input
elements it was copied from (a sum when one element was copied several times,
as with replicate).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _per_axis(pad: Sequence[int], ndim: int) -> list[tuple[int, int, int]]:
    """PyTorch's flat pad tuple -> [(axis, left, right), ...], last axis first."""
    return [(ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])) for i in range(len(pad) // 2)]


def pad_forward(
    x: np.ndarray, pad: Sequence[int], mode: str = "constant", value: float = 0
) -> np.ndarray:
    """Pad the trailing axes of ``x`` (any rank) as ``torch.nn.functional.pad``.

    Returns a new array with ``shape[axis] + left + right`` along each padded axis.
    The arguments are trusted: F.pad checked them once (widths, mode, limits per mode).
    """
    pads = _per_axis(pad, x.ndim)
    widths = [(0, 0)] * x.ndim
    for axis, left, right in pads:
        widths[axis] = (max(left, 0), max(right, 0))
    if mode in ("constant", "circular"):
        # Negative widths crop first; what remains is padded (a constant is the same either
        # way round; circular wraps what is left).
        crop = [slice(None)] * x.ndim
        for axis, left, right in pads:
            crop[axis] = slice(max(-left, 0), x.shape[axis] - max(-right, 0))
        x = x[tuple(crop)]
        if mode == "constant":
            return np.pad(x, widths, mode="constant", constant_values=value)
        return np.pad(x, widths, mode="wrap")
    # reflect / replicate: the positive widths pad the whole input, then negative ones crop
    y = np.pad(x, widths, mode=_NUMPY_MODE[mode])
    crop = [slice(None)] * x.ndim
    for axis, left, right in pads:
        crop[axis] = slice(max(-left, 0), y.shape[axis] - max(-right, 0))
    return y[tuple(crop)]


def _uncrop(g: np.ndarray, n: int, left: int, right: int) -> np.ndarray:
    """Transpose of cropping the last axis (length n) by the negative parts of (left, right):
    g put back in place, zeros where elements were cropped away."""
    lo, hi = max(-left, 0), max(-right, 0)
    if not lo and not hi:
        return g
    out = np.zeros(g.shape[:-1] + (n,), dtype=g.dtype)
    out[..., lo : n - hi] = g
    return out


def _fold_axis(g: np.ndarray, n: int, left: int, right: int, mode: str) -> np.ndarray:
    """Transpose of padding the LAST axis of length ``n`` by (left, right) (either may be
    negative: a crop, see the module's docstring for the order per mode)."""
    if left < 0 or right < 0:
        lo, hi = max(left, 0), max(right, 0)
        if mode in ("constant", "circular"):  # cropped, then padded: unpad, then uncrop
            m = n - max(-left, 0) - max(-right, 0)
            return _uncrop(_fold_axis(g, m, lo, hi, mode), n, left, right)
        # padded, then cropped: uncrop onto the padded length, then unpad
        return _fold_axis(_uncrop(g, n + lo + hi, left, right), n, lo, hi, mode)
    if mode == "constant":
        return g[..., left : left + n]  # padding got constants: no gradient to x

    core = g[..., left : left + n].copy()
    head, tail = g[..., :left], g[..., left + n :]
    if mode == "reflect":
        # left position j copied x[left - j]: x[1..left] gets head reversed.
        if left:
            core[..., 1 : left + 1] += head[..., ::-1]
        # right position t copied x[n - 2 - t]: x[n-1-right..n-2] gets tail reversed.
        if right:
            core[..., n - 1 - right : n - 1] += tail[..., ::-1]
    elif mode == "replicate":
        # Every left pad copied x[0], every right pad x[n-1].
        core[..., 0] += head.sum(axis=-1)
        core[..., n - 1] += tail.sum(axis=-1)
    else:  # circular (F.pad checked the mode)
        # left position j copied x[n - left + j]; right position t copied x[t].
        if left:
            core[..., n - left :] += head
        if right:
            core[..., :right] += tail
    return core


def pad_backward(
    grad_out: np.ndarray, input_shape: tuple[int, ...], pad: Sequence[int], mode: str = "constant"
) -> np.ndarray:
    """Gradient of :func:`pad_forward`: ``grad_out`` (padded shape) -> ``input_shape``."""
    g = grad_out
    # Undo the axes in any order: the per-axis maps commute.
    for axis, left, right in _per_axis(pad, g.ndim):
        g = np.moveaxis(g, axis, -1)
        g = _fold_axis(g, input_shape[axis], left, right, mode)
        g = np.moveaxis(g, -1, axis)
    if np.may_share_memory(g, grad_out):
        return g.copy(order="C")  # constant mode crops to a view: hand back a fresh array
    return np.ascontiguousarray(g)
