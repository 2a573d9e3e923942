"""Sampling kernels (``F.affine_grid``, ``F.grid_sample``): pure NumPy, no Tensor, no graph.

Arguments arrive validated by ``tinyconv.nn.functional.sampling``; these functions trust them.

affine_grid
-----------
For output size ``(N, C, *S)`` with d = len(S) spatial dims (2 or 3), every output position
has normalised coordinates in [-1, 1], x along the last axis first: ``base`` is
``(prod(S), d + 1)``, rows ``(x, y[, z], 1)``. Per axis of n points the coordinates are
``linspace(-1, 1, n)`` (align_corners=True: -1 and 1 are the centres of the corner pixels),
times ``(n - 1) / n`` for align_corners=False (-1 and 1 are the pixels' outer edges, so the
centres sit half a pixel inside); a single point is 0. The grid is ``base @ theta^T`` per
batch item, so the backward is ``grad^T @ base``: theta's gradient is a sum over positions.

The coordinates are PyTorch's to the last bit: its linspace computes ``start + step * i``
(for the first half of the points, ``end - step * (n - 1 - i)`` for the second) with one
rounding, as a fused multiply-add does. An identity theta then gives the very numbers
PyTorch gives, which matters: a sample that lands exactly on a pixel picks the pixel cell
(and so the one-sided grid gradient) by ``floor``, and one unit in the last place decides.

grid_sample
-----------
``input (N, C, *S)`` is read at ``grid (N, *O, d)`` (``grid[..., 0]`` is x, the last
spatial axis): output ``(N, C, *O)``. One axis at a time (size n, normalised coordinate g):

1. unnormalise to pixel units: align_corners=True ``(g + 1) / 2 * (n - 1)``,
   False ``((g + 1) * n - 1) / 2`` (pixel centres at integers either way);
2. padding_mode on the coordinate (bilinear, nearest): 'zeros' keeps it, 'border' clips it
   to [0, n - 1], 'reflection' mirrors it at the borders (at the corner pixels' centres for
   align_corners=True, at their outer edges for False) and then clips;
3. taps along the axis, each an index and a weight:
   - nearest: one tap, the nearest pixel (half-way rounds to even), weight 1;
   - bilinear: two, ``i0 = floor(c)`` with weight ``i0 + 1 - c`` and ``i0 + 1`` with ``c - i0``;
   - bicubic (4-D only): four, ``i0 - 1 .. i0 + 2`` with the cubic-convolution weights
     (Keys, a = -0.75) of ``t = c - i0``; here the coordinate is not padded, each tap's
     *index* is (border: clipped; reflection: mirrored and clipped).
   A tap outside the input reads 0 (only 'zeros' padding leaves taps outside).

The output is the sum over all combinations of one tap per axis of the product of their
weights times the input there: a separable stencil, computed as one gather per combination.
It is linear in the input, so the input's gradient sends each output gradient back to the
taps it read, times their weights (a scatter-add, done with ``np.bincount``, which sums
repeated indices). The grid's gradient is the chain rule through the weights: per axis,
``d weight / d c`` times ``dc / dg`` (the unnormalising scale times the padding's slope:
0 where clipped, -1 where mirrored an odd number of times). Nearest's weights do not move
with the grid, so its grid gradient is zero (as PyTorch's).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

# -- affine_grid ------------------------------------------------------------------------


def _round_exact(value: Fraction, t: Any) -> Any:
    """The float of type t nearest to the exact rational `value` (one rounding, as a fused
    multiply-add does; float(value) then t(...) could round twice for float32)."""
    f = t(float(value))
    best = f
    for cand in (np.nextafter(f, t(-np.inf)), np.nextafter(f, t(np.inf))):
        if abs(Fraction(float(cand)) - value) < abs(Fraction(float(best)) - value):
            best = cand
    return best


@lru_cache(maxsize=64)
def _axis_coords(n: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """The n normalised coordinates of one axis (see the module docstring), read-only."""
    t = dtype.type
    if n <= 1:
        out = np.zeros(n, dtype)
    else:
        step = (t(1) - t(-1)) / t(n - 1)
        s = Fraction(float(step))
        half = n // 2
        # (Fractions, so each point is rounded once; sizes are small and the result cached)
        out = np.array(
            [
                _round_exact(s * k - 1, t) if k < half else _round_exact(1 - s * (n - 1 - k), t)
                for k in range(n)
            ],
            dtype,
        )
        if not align_corners:
            out = out * t(n - 1) / t(n)
    out.flags.writeable = False
    return out


def affine_base(spatial: tuple, align_corners: bool, dtype: Any) -> np.ndarray:
    """`(prod(spatial), d + 1)`: the rows `(x, y[, z], 1)` of every output position, in
    C order of `spatial` (x follows the last axis)."""
    dtype = np.dtype(dtype)
    d = len(spatial)
    axes = [_axis_coords(n, align_corners, dtype) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # mesh[k] varies along spatial axis k
    cols = [mesh[d - 1 - a].reshape(-1) for a in range(d)]  # x (last axis) first
    cols.append(np.ones(cols[0].shape, dtype))
    return np.stack(cols, axis=1)


def affine_grid(theta: np.ndarray, spatial: tuple, align_corners: bool) -> np.ndarray:
    """theta `(N, d, d + 1)` -> grid `(N, *spatial, d)`: each base row mapped by theta.

    The d + 1 terms of each coordinate are rounded and added in order, in theta's dtype, as
    PyTorch's CPU kernel rounds them: a BLAS product (base @ theta^T) rounded about one
    float32 coordinate in eight differently, by an ulp, which moves a nearest-neighbour
    grid_sample across a half-pixel tie."""
    base = affine_base(spatial, align_corners, theta.dtype)
    grid = base[None, :, 0:1] * theta[:, None, :, 0]  # (N, P, d)
    for k in range(1, base.shape[1]):
        grid += base[None, :, k : k + 1] * theta[:, None, :, k]
    return grid.reshape(theta.shape[0], *spatial, theta.shape[1])


def affine_grid_backward(grad: np.ndarray, spatial: tuple, align_corners: bool) -> np.ndarray:
    """grad `(N, *spatial, d)` -> theta's gradient `(N, d, d + 1)`: `grad^T @ base`."""
    base = affine_base(spatial, align_corners, grad.dtype)
    g = grad.reshape(grad.shape[0], base.shape[0], grad.shape[-1])
    return np.matmul(np.swapaxes(g, 1, 2), base)


# -- grid_sample: one axis' taps ------------------------------------------------------------

_CUBIC_A = -0.75  # the cubic-convolution parameter PyTorch (and OpenCV) use


def _fma(a: np.ndarray, b: Any, c: Any) -> np.ndarray:
    """`a * b + c` rounded once, as a fused multiply-add (PyTorch's CPU sampler computes the
    align_corners=False coordinate with one: on an identity grid, ((g + 1) * n - 1) / 2
    rounded twice lands exactly on a pixel where PyTorch lands one unit in the last place
    below it, and floor then picks the other cell and the other one-sided grid gradient).
    float32: the product of two float32s is exact in float64, so one float64 sum and one
    rounding to float32. float64: Dekker's exact product `p + e` and an exact sum `s + t`,
    then one rounding of `s + (t + e)`."""
    if a.dtype != np.float64:
        return (a.astype(np.float64) * np.float64(b) + np.float64(c)).astype(a.dtype)
    b, c = np.float64(b), np.float64(c)
    p = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        split = np.float64(134217729.0)  # 2**27 + 1: halves of 26 bits multiply exactly
        ca, cb = split * a, split * b
        ah = ca - (ca - a)
        al = a - ah
        bh = cb - (cb - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        s = p + c
        bv = s - p
        t = (p - (s - bv)) + (c - bv)
        out = s + (t + e)
    # (huge coordinates overflow the split: there one rounding or two make no difference)
    return np.where(np.isfinite(out), out, p + c)


def _unnormalize(g: np.ndarray, n: int, align_corners: bool, fused: bool) -> tuple:
    """Pixel coordinates of normalised ones, and the constant slope dc/dg. `fused`: round
    once, as PyTorch's 2-D sampler does (its 3-D one rounds after each operation)."""
    t = g.dtype.type
    if align_corners:  # ((g + 1) / 2 is exact, so this rounds once either way)
        return (g + t(1)) / t(2) * t(n - 1), t(n - 1) / t(2)
    if fused:
        return _fma(g + t(1), t(n) / t(2), t(-0.5)), t(n) / t(2)
    return ((g + t(1)) * t(n) - t(1)) / t(2), t(n) / t(2)


def _clip(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """c clipped to [0, n - 1], and its slope (0 on and beyond the borders, as PyTorch)."""
    t = c.dtype.type
    inside = (c > 0) & (c < n - 1)
    return np.clip(c, t(0), t(n - 1)), inside.astype(c.dtype)


def _reflect(c: np.ndarray, twice_lo: int, twice_hi: int) -> tuple[np.ndarray, np.ndarray]:
    """c mirrored into [lo, hi] (given doubled, so half-pixel borders stay integers), and
    its slope (+1 or -1: each mirroring flips it)."""
    t = c.dtype.type
    if twice_lo == twice_hi:  # a single pixel with align_corners=True: everything maps to 0
        return np.zeros_like(c), np.zeros_like(c)
    lo = t(twice_lo) / t(2)
    span = t(twice_hi - twice_lo) / t(2)
    off = c - lo
    sign = np.where(off < 0, t(-1), t(1))
    off = np.abs(off)
    flips = np.floor(off / span)
    extra = np.fmod(off, span)
    even = (flips % 2) == 0
    out = np.where(even, extra + lo, span - extra + lo)
    return out, np.where(even, sign, -sign)


def _pad_coord(c: np.ndarray, n: int, padding_mode: str, align_corners: bool) -> tuple:
    """padding_mode applied to a coordinate: (new coordinate, its slope dc'/dc or None)."""
    if padding_mode == "zeros":
        return c, None
    slope = None
    if padding_mode == "reflection":
        if align_corners:
            c, slope = _reflect(c, 0, 2 * (n - 1))
        else:
            c, slope = _reflect(c, -1, 2 * n - 1)
    c, clip_slope = _clip(c, n)
    return c, clip_slope if slope is None else slope * clip_slope


def tap_weights(frac: Any, mode: str) -> list:
    """The taps' weights along one axis as functions of the fraction `frac = c - base`
    (bilinear: 1 - frac and frac; bicubic: the cubic-convolution weights of taps -1, 0, 1, 2).
    Plain arithmetic, so `frac` may be an array or a graph Tensor (for double backward).
    Bicubic: near taps f1(x) = (a+2)x^3 - (a+3)x^2 + 1 (|x| <= 1), far taps
    f2(x) = a x^3 - 5a x^2 + 8a x - 4a (1 < |x| < 2), x the distance to the tap."""
    if mode == "bilinear":
        return [1 - frac, frac]
    a = _CUBIC_A

    def f1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def f2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [f2(frac + 1), f1(frac), f1(1 - frac), f2(2 - frac)]


def tap_slopes(frac: Any, mode: str) -> list:
    """d weight / d frac for each of tap_weights' weights (arrays, Tensors or numbers)."""
    if mode == "bilinear":
        return [-1.0, 1.0]
    a = _CUBIC_A

    def df1(x):
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def df2(x):
        return (3 * a * x - 10 * a) * x + 8 * a

    return [df2(frac + 1), df1(frac), -df1(1 - frac), -df2(2 - frac)]


def axis_plan(
    g: np.ndarray, n: int, mode: str, padding_mode: str, align_corners: bool, fused: bool
) -> tuple:
    """Where samples fall along one axis: `(c, slope, base, taps)`. c is the pixel coordinate
    (bicubic: before padding, which acts on its taps' indices instead) and slope its constant
    dc/dg (clipping and mirroring are piecewise linear); the weights are functions of
    `c - base` (None for nearest, whose one weight is 1); taps holds per tap `(index, valid)`:
    valid is False for taps outside [0, n), whose index is set to 0 so that every gather is in
    range (their weight must be taken as 0)."""
    c, scale = _unnormalize(g, n, align_corners, fused)
    t = g.dtype.type
    if mode == "bicubic":
        base = np.floor(c)
        slope = scale
        positions = [
            _pad_coord(base + t(k - 1), n, padding_mode, align_corners)[0] for k in range(4)
        ]
    else:
        c, pad_slope = _pad_coord(c, n, padding_mode, align_corners)
        slope = scale if pad_slope is None else pad_slope * scale
        if mode == "nearest":
            base, positions = None, [np.rint(c)]  # (half-way rounds to even)
        else:
            base = np.floor(c)
            positions = [base, base + t(1)]
    taps = []
    for pos in positions:
        # (compared as floats: a huge coordinate is out of range, not an overflowed int)
        valid = (pos >= 0) & (pos <= n - 1)
        taps.append((np.where(valid, pos, 0).astype(np.intp), valid))
    return c, slope, base, taps


def _axis_taps(
    g: np.ndarray,
    n: int,
    mode: str,
    padding_mode: str,
    align_corners: bool,
    with_grad: bool,
    fused: bool,
) -> list:
    """One axis' taps: a list of `(index, weight, d weight / d g or None)`, arrays shaped as g;
    taps outside the input have weight 0 and slope 0."""
    c, slope, base, taps = axis_plan(g, n, mode, padding_mode, align_corners, fused)
    t = g.dtype.type
    if mode == "nearest":
        weights, slopes = [np.ones_like(c)], [None]
    else:
        frac = c - base
        weights = tap_weights(frac, mode)
        slopes = [s * slope for s in tap_slopes(frac, mode)] if with_grad else [None] * len(taps)
    out = []
    for (idx, valid), w, dw in zip(taps, weights, slopes, strict=True):
        w = np.where(valid, w, t(0))
        if dw is not None:
            dw = np.where(valid, np.broadcast_to(dw, w.shape), t(0))
        out.append((idx, w, dw))
    return out


def _taps(
    grid: np.ndarray,
    spatial: tuple,
    mode: str,
    padding_mode: str,
    align_corners: bool,
    with_grad: bool,
) -> list:
    """Per spatial axis (in the input's order), that axis' taps; grid is `(N, P, d)`."""
    d = len(spatial)
    return [
        _axis_taps(
            grid[..., d - 1 - k], spatial[k], mode, padding_mode, align_corners, with_grad, d == 2
        )
        for k in range(d)
    ]


def tap_combinations(taps: list, spatial: tuple) -> Any:
    """Every choice of one tap per axis: (flat input index `(N, P)`, [tap per axis])."""
    strides = [int(np.prod(spatial[k + 1 :])) for k in range(len(spatial))]
    for combo in itertools.product(*taps):
        flat = combo[0][0] * strides[0]
        for k in range(1, len(combo)):
            flat = flat + combo[k][0] * strides[k]
        yield flat, combo


def _channels_last(a: np.ndarray) -> np.ndarray:
    """``(N, C, L)`` -> ``(N*L, C)``: each pixel's channels one contiguous row.

    A sample reads the same pixel in every channel, so with the channels last each tap is
    one gather of whole rows (``np.take`` of N*P rows) instead of N*C*P single numbers
    (``take_along_axis``). With the per-channel scatter of grid_sample_backward, forward +
    backward on (8, 16, 32, 32), 1 thread, min of 15 (PyTorch 1.3-1.7 / 5.4-5.8 ms):
    bilinear 8.8-9.3 -> 3.4-6.2 ms, bicubic 48-52 -> 14-16 ms. With one channel (the
    Spatial Transformer tutorial's (64, 1, 28, 28)) it is the same gather as before."""
    N, C, L = a.shape
    return np.ascontiguousarray(a.transpose(0, 2, 1)).reshape(N * L, C)


def _rows(flat: np.ndarray, L: int) -> np.ndarray:
    """Flat input indices ``(N, P)`` per image -> rows of ``_channels_last``'s ``(N*L, C)``."""
    return (flat + np.arange(flat.shape[0])[:, None] * L).reshape(-1)


def _weight(combo: tuple, skip: int = -1) -> np.ndarray:
    """The product of the combination's weights (leaving out axis `skip`)."""
    w = None
    for k, tap in enumerate(combo):
        if k != skip:
            w = tap[1] if w is None else w * tap[1]
    return w if w is not None else np.ones_like(combo[0][1])


def grid_sample(
    x: np.ndarray, grid: np.ndarray, mode: str, padding_mode: str, align_corners: bool
) -> np.ndarray:
    """x `(N, C, *S)` read at grid `(N, *O, d)` -> `(N, C, *O)` (see the module docstring)."""
    N, C, *spatial = x.shape
    out_spatial = grid.shape[1:-1]
    ct = x.dtype  # (float16 too: rounding after each step, as PyTorch's half kernel)
    # (explicit sizes, not -1: the arrays may be empty)
    L, P = int(np.prod(spatial)), int(np.prod(out_spatial))
    xl = _channels_last(x.reshape(N, C, L))
    gf = grid.reshape(N, P, grid.shape[-1])
    taps = _taps(gf, tuple(spatial), mode, padding_mode, align_corners, with_grad=False)
    # a tap outside the input reads 0 even if the (clamped) index holds an inf or nan
    finite = bool(np.isfinite(xl).all())
    out = np.zeros((N * P, C), ct)
    for flat, combo in tap_combinations(taps, tuple(spatial)):
        vals = np.take(xl, _rows(flat, L), axis=0)  # (N*P, C)
        w = _weight(combo).reshape(-1, 1)
        if not finite:
            vals = np.where(w != 0, vals, ct.type(0))
        out += w * vals
    out = out.reshape(N, P, C).transpose(0, 2, 1)
    return np.ascontiguousarray(out, dtype=x.dtype).reshape(N, C, *out_spatial)


def grid_sample_backward(
    grad: np.ndarray,
    x: np.ndarray,
    grid: np.ndarray,
    mode: str,
    padding_mode: str,
    align_corners: bool,
    need_input: bool,
    need_grid: bool,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Gradients `(d input (N, C, *S), d grid (N, *O, d))` from grad `(N, C, *O)`; each None
    unless asked for.

    The input's gradient adds every (output, tap) contribution onto the pixel it read: one
    ``np.bincount`` per channel over all taps' contributions (it sums repeated indices, in
    float64), whose result is one image-plane per channel, small enough to stay in cache
    (one bincount per tap over all channels wrote the whole input gradient each time, 16
    times for bicubic; see _channels_last for the times)."""
    N, C, *spatial = x.shape
    spatial = tuple(spatial)
    d = len(spatial)
    ct = x.dtype  # (float16 too: rounding after each step, as PyTorch's half kernel)
    L, P = int(np.prod(spatial)), int(np.prod(grid.shape[1:-1]))
    gf = grid.reshape(N, P, d)
    grid_grad = need_grid and mode != "nearest"
    # grad channels last (N*P, C) for the grid's gradient, channels first (C, N*P) for the
    # input's (each channel's contributions one contiguous run): each only when needed
    gol = _channels_last(grad.reshape(N, C, P)) if grid_grad else None
    gof = None
    if need_input:
        gof = np.ascontiguousarray(grad.reshape(N, C, P).transpose(1, 0, 2)).reshape(C, N * P)
    taps = _taps(gf, spatial, mode, padding_mode, align_corners, with_grad=grid_grad)
    xl = _channels_last(x.reshape(N, C, L)) if grid_grad else None
    finite = grid_grad and bool(np.isfinite(xl).all())
    ggrid = np.zeros((N, P, d), ct) if need_grid else None
    rows, contributions = [], []
    for flat, combo in tap_combinations(taps, spatial):
        w = _weight(combo).reshape(-1, 1)
        r = _rows(flat, L)
        if need_input:
            rows.append(r)
            contributions.append(gof * w.reshape(1, -1))  # (C, N*P)
        if grid_grad:
            vals = np.take(xl, r, axis=0)
            if not finite:
                vals = np.where(w != 0, vals, ct.type(0))
            s = np.einsum("pc,pc->p", gol, vals).reshape(N, P)  # d out / d weight, all channels
            for k in range(d):
                # grid component d-1-k moves axis k's weight only
                ggrid[..., d - 1 - k] += s * combo[k][2] * _weight(combo, skip=k)
    gx = None
    if need_input:
        at = np.concatenate(rows) if rows else np.zeros(0, np.intp)
        contrib = np.concatenate(contributions, axis=1) if contributions else np.zeros((C, 0), ct)
        gin = np.empty((C, N * L), np.float64)
        for c in range(C):
            gin[c] = np.bincount(at, weights=contrib[c], minlength=N * L)
        gx = gin.reshape(C, N, L).transpose(1, 0, 2).astype(x.dtype).reshape(x.shape)
    gg = None
    if need_grid:
        gg = ggrid.astype(grid.dtype, copy=False).reshape(grid.shape)
    return gx, gg
