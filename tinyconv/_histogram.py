"""Equal bins and histogram counts on arrays (engine layer: Tensor.histogram and
torch.histogram / histogramdd share them), and linspace's values as PyTorch rounds them
(the equal bins' edges are PyTorch's linspace)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _rng
from ._dtype import dtype_name


def linspace_values(start: float, end: float, steps: int, dt: np.dtype) -> np.ndarray:
    """``steps`` points from start to end as PyTorch's CPU kernel makes them: the step
    (end - start) / (steps - 1) in ``dt``, then the first half start + step * i and the second
    half end - step * (steps - 1 - i), each a fused multiply-add rounded once, so both ends
    are exact. float16 rounds the step and each product to float16 (PyTorch's Half
    arithmetic), then adds in float32."""
    if steps <= 1:
        return np.full(steps, start).astype(dt)
    i = np.arange(steps)
    half = steps // 2
    if dt == np.float16:
        s, e = np.float16(start), np.float16(end)
        st = np.float32(np.float16(np.float32(e) - np.float32(s))) / np.float32(steps - 1)
        st = np.float32(np.float16(st))
        lo = np.float32(s) + (st * i.astype(np.float32)).astype(np.float16).astype(np.float32)
        up = (st * (steps - i - 1).astype(np.float32)).astype(np.float16).astype(np.float32)
        return np.where(i < half, lo, np.float32(e) - up).astype(dt)
    if dt.kind == "f":
        s, e = dt.type(start), dt.type(end)
        st = dt.type(dt.type(e - s) / dt.type(steps - 1))
    else:  # integer dtypes: integer ends, a float64 step, results truncated
        s, e = float(int(start)), float(int(end))
        st = (e - s) / (steps - 1)
    if dt == np.float32:
        lo = _rng._fma32(i.astype(np.float32), np.float32(st), np.float32(s))
        up = _rng._fma32((steps - i - 1).astype(np.float32), np.float32(-st), np.float32(e))
    else:
        lo = _rng._fma64(i.astype(np.float64), float(st), float(s))
        up = _rng._fma64((steps - i - 1).astype(np.float64), float(-st), float(e))
    return np.where(i < half, lo, up).astype(dt)


def equal_bins(a: np.ndarray, bins: Any, range: Any, what: str) -> np.ndarray:  # noqa: A002
    """The edges of ``bins`` equal bins over ``range`` (a (min, max) pair; None: a's), in a's
    dtype as torch.linspace makes them; one value: a bin of width 1 around it."""
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise RuntimeError(f"{what}: bins must be a positive int, got {bins!r}")
    if range is not None:
        lo, hi = (builtins.float(v) for v in range)
    elif a.size:
        lo, hi = builtins.float(a.min()), builtins.float(a.max())
    else:
        lo, hi = 0.0, 1.0
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"{what}: the range [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"{what}: range must have min <= max, got [{lo}, {hi}]")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return linspace_values(lo, hi, builtins.int(bins) + 1, a.dtype)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value within [edges[0], edges[-1]]: [left, right), the last bin also
    holding its right edge."""
    return np.minimum(np.searchsorted(edges, values, side="right") - 1, edges.size - 2)


def histogram(
    a: np.ndarray,
    bins: Any,
    range: Any,  # noqa: A002
    w: np.ndarray | None,
    density: bool,
    edges: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(hist, edges)`` of the elements of ``a`` (floating): in ``bins`` equal bins over
    ``range``, or between the given 1-D ``edges``; counts, or the sums of the weights ``w``
    (a's shape and dtype), or a density. Both in a's dtype."""
    what = "histogram()"
    if a.dtype.kind != "f":
        raise NotImplementedError(
            f"{what}: input must be floating point, got {dtype_name(a.dtype)}"
        )
    if w is not None:
        if w.dtype != a.dtype:
            raise RuntimeError(
                f"{what}: input ({dtype_name(a.dtype)}) and weight ({dtype_name(w.dtype)}) "
                "must have the same dtype"
            )
        if w.shape != a.shape:
            raise RuntimeError(
                f"{what}: weight of shape {tuple(w.shape)} must have input's shape {tuple(a.shape)}"
            )
    if edges is not None:
        if edges.ndim != 1 or edges.size < 1:
            raise RuntimeError(
                f"{what}: bins must be a 1-D tensor of edges, got shape {tuple(edges.shape)}"
            )
        if edges.dtype != a.dtype:
            raise RuntimeError(
                f"{what}: input ({dtype_name(a.dtype)}) and bins ({dtype_name(edges.dtype)}) "
                "must have the same dtype"
            )
    else:
        edges = equal_bins(a, bins, range, what)
    flat = a.reshape(-1)
    keep = (flat >= edges[0]) & (flat <= edges[-1])  # (NaN falls outside)
    idx = bin_index(flat[keep], edges)
    wk = None if w is None else w.reshape(-1)[keep]
    hist = np.bincount(idx, weights=wk, minlength=max(edges.size - 1, 0)).astype(a.dtype)
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = (hist / hist.sum() / np.diff(edges)).astype(a.dtype)
    return hist, np.array(edges, copy=True)
