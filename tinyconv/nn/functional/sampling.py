"""affine_grid and grid_sample: the two halves of a spatial transformer.

`affine_grid(theta, size)` turns a batch of affine maps into sampling positions (one per
output pixel, in normalised coordinates: -1 and 1 are the input's borders), and
`grid_sample(input, grid)` reads the input there, interpolating. Both are differentiable,
grid_sample in its input and in the grid, so a network can learn where to look.

The maths (and the derivation of the backward) is in tinyconv/kernels/sample.py; here are
the argument checks and the two autograd nodes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import TensorValueError
from ...autograd.ops import Op, _const, _linked
from ...kernels import sample as _sample
from ...tensor import Tensor
from ._checks import _check_tensor

_MODES = ("bilinear", "nearest", "bicubic")
_PADDING_MODES = ("zeros", "border", "reflection")


def _align_corners(align_corners: Any, what: str) -> bool:
    """None means False, with the warning PyTorch gives (its default changed in 1.3)."""
    if align_corners is None:
        warnings.warn(
            f"{what}: align_corners was not given, so it is False (the default of grid_sample "
            "and affine_grid since PyTorch 1.3: -1 and 1 are the outer edges of the corner "
            "pixels); pass align_corners=True for the older behaviour (-1 and 1 at the corner "
            "pixels' centres), or align_corners=False to silence this warning",
            UserWarning,
            stacklevel=3,
        )
        return False
    if not isinstance(align_corners, (bool, np.bool_)):
        raise TypeError(
            f"{what}: align_corners must be a bool or None, got {type(align_corners).__name__}"
        )
    return bool(align_corners)


# -- affine_grid ------------------------------------------------------------------------


class AffineGrid(Op):
    torch_name = "AffineGridGeneratorBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for theta only

    @staticmethod
    def forward(ctx, theta, spatial, align_corners):
        ctx.spatial, ctx.align_corners = spatial, align_corners  # (theta is not needed)
        return _sample.affine_grid(theta, spatial, align_corners)

    @staticmethod
    def backward(ctx, grad):
        return _sample.affine_grid_backward(grad, ctx.spatial, ctx.align_corners), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # the grid is linear in theta, so its backward is linear in grad: grad^T @ base
        base = _sample.affine_base(ctx.spatial, ctx.align_corners, grad.dtype)
        g = grad.reshape(grad.shape[0], -1, grad.shape[-1])
        return g.transpose(1, 2) @ _const(base), None, None


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """Sampling grid `(N, H, W, 2)` for output size `(N, C, H, W)` from theta `(N, 2, 3)`
    (or `(N, D, H, W, 3)` for `(N, C, D, H, W)` from `(N, 3, 4)`): each output pixel's
    normalised coordinates `(x, y[, z], 1)` times theta^T."""
    what = "affine_grid"
    theta = _check_tensor(theta, "theta", what)
    ac = _align_corners(align_corners, what)
    if not isinstance(size, (tuple, list)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size
    ):
        raise TypeError(f"{what}: size must be a tuple or list of ints (N, C, H, W), got {size!r}")
    size = tuple(int(s) for s in size)
    if theta.dtype.kind != "f":
        raise TensorValueError(
            f"{what}: theta must be a floating point tensor, got {_dtype.dtype_name(theta.dtype)}"
        )
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"{what}: size must be 4-D (N, C, H, W) for 2-D transforms or 5-D (N, C, D, H, W) "
            f"for 3-D ones, got {size}"
        )
    d = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (d, d + 1):
        raise TensorValueError(
            f"{what}: theta must be a batch of {d}-D affine matrices of shape "
            f"(N, {d}, {d + 1}) for size {size}, got shape {tuple(theta.shape)}"
        )
    if theta.shape[0] != size[0]:
        raise RuntimeError(
            f"{what}: theta has {theta.shape[0]} matrices (shape {tuple(theta.shape)}) but size "
            f"{size} asks for a batch of {size[0]}"
        )
    if min(size) <= 0:
        raise TensorValueError(f"{what}: every entry of size must be positive, got {size}")
    spatial = size[2:]
    if ac and min(spatial) == 1:
        warnings.warn(
            f"{what}: align_corners=True with a spatial size of 1 (size {size}): a single "
            "pixel has no corners to align, so its coordinate is 0 (PyTorch's choice since "
            "1.3); affine_grid is not meant for unit-size grids",
            UserWarning,
            stacklevel=2,
        )
    return AffineGrid.apply(theta, spatial, ac)


# -- grid_sample ------------------------------------------------------------------------


class GridSample(Op):
    next_functions_count = 2  # input and grid

    @staticmethod
    def forward(ctx, x, grid, mode, padding_mode, align_corners):
        ctx.torch_name = f"GridSampler{grid.shape[-1]}DBackward0"
        ctx.save_for_backward(x, grid)
        ctx.options = (mode, padding_mode, align_corners)
        return _sample.grid_sample(x, grid, mode, padding_mode, align_corners)

    @staticmethod
    def backward(ctx, grad):
        x, grid = ctx.saved_tensors
        need_x, need_grid = ctx.needs_input_grad[:2]
        gx, gg = _sample.grid_sample_backward(grad, x, grid, *ctx.options, need_x, need_grid)
        return gx, gg, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        x, grid = ctx.saved_tensors
        need_x, need_grid = ctx.needs_input_grad[:2]
        gx, gg = _grid_sample_graph_backward(grad, x, grid, *ctx.options, need_x, need_grid)
        return gx, gg, None, None, None


def _grid_sample_graph_backward(
    grad, x, grid, mode, padding_mode, align_corners, need_x, need_grid
):
    """GridSample's backward again in differentiable Tensor ops (for double backward), from the
    kernel's plan: the tap indices and validity are constants; each sample's coordinate is
    rebuilt as `slope * g + constant` (exact where the padding is piecewise linear), so the
    weights, and through them both gradients, carry the grid's graph. Input gradient: the
    output gradient times the weights, scatter-added at the taps; grid gradient: the output
    gradient times the input gathered at the taps, times d weight / d grid."""
    xd, gd = x._data, grid._data
    N, C, *spatial = xd.shape
    spatial = tuple(spatial)
    d = len(spatial)
    L, P = int(np.prod(spatial)), int(np.prod(gd.shape[1:-1]))
    dt = xd.dtype
    go = grad.reshape(N, C, P)
    gf = grid.reshape(N, P, d)
    garr = gd.reshape(N, P, d)
    axes = []
    for k in range(d):
        a = d - 1 - k  # grid component a reads spatial axis k
        c, slope, base, taps = _sample.axis_plan(
            garr[..., a], spatial[k], mode, padding_mode, align_corners, d == 2
        )
        masks = [_const(valid.astype(dt)) for _, valid in taps]
        if mode == "nearest":  # weights 1 or 0: in the grid's graph with a zero gradient, as
            # PyTorch's (its double backward's results require grad here too)
            axes.append([(idx, _linked(valid.astype(dt), gf[..., a]), None) for idx, valid in taps])
            continue
        slope = np.broadcast_to(np.asarray(slope, dt), c.shape)
        coord = gf[..., a] * _const(slope) + _const(c - slope * garr[..., a])
        frac = coord - _const(base)
        weights = _sample.tap_weights(frac, mode)
        slopes = _sample.tap_slopes(frac, mode)
        axes.append(
            [
                (idx, w * m, s * _const(slope) * m)
                for (idx, _), w, s, m in zip(taps, weights, slopes, masks, strict=True)
            ]
        )
    gin = _const(np.zeros((N, C, L), dt)) if need_x else None
    parts = [None] * d
    xf = x.reshape(N, C, L)
    for flat, combo in _sample.tap_combinations(axes, spatial):
        index = _const(np.broadcast_to(flat[:, None, :], (N, C, P)).astype(np.int64))
        w = combo[0][1]
        for tap in combo[1:]:
            w = w * tap[1]
        if need_x:
            gin = gin.scatter_add(2, index, go * w.unsqueeze(1))
        if need_grid and mode != "nearest":
            s = (go * xf.gather(2, index)).sum(1)  # d out / d weight, summed over channels
            for k in range(d):
                term = s * combo[k][2]
                for j, tap in enumerate(combo):
                    if j != k:
                        term = term * tap[1]
                parts[k] = term if parts[k] is None else parts[k] + term
    gx = gin.reshape(xd.shape) if need_x else None
    gg = None
    if need_grid:
        if mode == "nearest":
            gg = _linked(np.zeros(gd.shape, gd.dtype), grid)
        else:
            for k in range(d):  # put axis k's part in grid component d - 1 - k
                onehot = _const(np.eye(d, dtype=gd.dtype)[d - 1 - k])
                piece = parts[k].unsqueeze(-1) * onehot
                gg = piece if gg is None else gg + piece
            gg = gg.reshape(gd.shape)
    return gx, gg


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Read input `(N, C, H_in, W_in)` at grid `(N, H_out, W_out, 2)` (normalised x, y in
    [-1, 1]; outside, padding_mode decides) -> `(N, C, H_out, W_out)`. 5-D input
    `(N, C, D, H, W)` takes grid `(N, D_out, H_out, W_out, 3)` (modes bilinear, i.e.
    trilinear, and nearest). See tinyconv/kernels/sample.py for the exact rules."""
    what = "grid_sample"
    x = _check_tensor(input, "input", what)
    grid = _check_tensor(grid, "grid", what)
    if mode not in _MODES:
        raise TensorValueError(
            f"{what}: mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}"
        )
    if padding_mode not in _PADDING_MODES:
        raise TensorValueError(
            f"{what}: padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}"
        )
    ac = _align_corners(align_corners, what)
    if x.ndim not in (4, 5):
        raise RuntimeError(
            f"{what}: input must be 4-D (N, C, H_in, W_in) or 5-D (N, C, D_in, H_in, W_in), "
            f"got shape {tuple(x.shape)}"
        )
    d = x.ndim - 2
    if grid.ndim != x.ndim:
        raise RuntimeError(
            f"{what}: grid must have as many dims as input ({x.ndim}: (N, *out_size, {d})), "
            f"got input shape {tuple(x.shape)} and grid shape {tuple(grid.shape)}"
        )
    if grid.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"{what}: grid and input must have the same batch size, got input shape "
            f"{tuple(x.shape)} and grid shape {tuple(grid.shape)}"
        )
    if grid.shape[-1] != d:
        raise RuntimeError(
            f"{what}: the grid's last dim must be {d} (one coordinate per spatial dim of the "
            f"input), got grid shape {tuple(grid.shape)} for input shape {tuple(x.shape)}"
        )
    if mode == "bicubic" and d != 2:
        raise RuntimeError(f"{what}: mode='bicubic' needs 4-D input, got shape {tuple(x.shape)}")
    if x.dtype.kind != "f" or grid.dtype.kind != "f":
        bad = x if x.dtype.kind != "f" else grid
        raise NotImplementedError(
            f"{what}: input and grid must be floating point, got "
            f"{_dtype.dtype_name(bad.dtype)} ({'input' if bad is x else 'grid'})"
        )
    if x.dtype != grid.dtype:
        raise RuntimeError(
            f"{what}: input and grid must have the same dtype, got input "
            f"{_dtype.dtype_name(x.dtype)} and grid {_dtype.dtype_name(grid.dtype)}"
        )
    if not np.isfinite(grid._data).all():
        # (PyTorch's results at nan/inf samples depend on its kernels' vectorised internals,
        # e.g. nan with zeros padding but a border pixel with border padding: not matched)
        raise RuntimeError(
            f"{what}: grid has nan or inf values (shape {tuple(grid.shape)}); tinyconv refuses "
            "them rather than guess what PyTorch's kernels make of them"
        )
    if min(x.shape[2:]) == 0:
        raise RuntimeError(
            f"{what}: the input's spatial dims must be non-empty, got shape {tuple(x.shape)}"
        )
    return GridSample.apply(x, grid, mode, padding_mode, ac)
