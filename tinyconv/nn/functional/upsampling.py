"""interpolate (upsample / downsample `(N, C, *spatial)` input): modes 'nearest',
'nearest-exact', 'linear' (3-D), 'bilinear' and 'bicubic' (4-D), 'trilinear' (5-D) and 'area'.

Every mode but 'area' is separable: along each spatial axis, output position `o` reads one
input position (nearest), mixes two, `(1 - lam) * x[i0] + lam * x[i1]` (linear), or four,
`x[i0 - 1 .. i0 + 2]` with the cubic-convolution weights of `lam` (bicubic, Keys' a = -0.75,
the same weights as grid_sample's, indices clamped to the input), with the positions and
weights from PyTorch's source-coordinate rule:

- nearest:        i = min(floor(o * scale), in - 1)
- nearest-exact:  i = min(floor((o + 0.5) * scale), in - 1)
- linear, align_corners=False: src = max((o + 0.5) * scale - 0.5, 0)
- linear, align_corners=True:  src = o * (in - 1) / (out - 1)
  then i0 = floor(src), i1 = min(i0 + 1, in - 1), lam = src - i0
- bicubic: as linear, but without the max(., 0) (a source left of pixel 0 keeps its
  fraction), and every size is resampled (no copy of unchanged axes)
  (and an axis whose size does not change is copied, whatever the scale factor, as in PyTorch)

where scale = 1 / scale_factor when a scale factor was given (and not recomputed), else
in / out. The op is a linear map of the input, applied axis after axis, so its backward is
the transposed map: each output gradient goes back to the input positions it read, times
the weight it read them with (a product with the transposed interpolation matrix per axis).
float16 is resampled in float32 (positions, weights and sums) and rounded once, forward and
backward, as PyTorch's kernels compute it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import DtypeNotImplementedError, TensorValueError
from ..._tensor_math import _fused
from ...autograd.ops import Op
from ...kernels.layout import like_suggested
from ...kernels.opmath import opmath
from ...kernels.resample_aa import aa_axis
from ...kernels.sample import tap_weights
from ...tensor import Tensor
from ._checks import _check_tensor
from .pooling import adaptive_avg_pool2d
from .pooling3d import adaptive_avg_pool3d

_MODES = (
    "nearest",
    "nearest-exact",
    "linear",
    "bilinear",
    "trilinear",
    "area",
    "bicubic",
    "lanczos",
)
_LINEAR_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5}
# PyTorch's node names, per mode and number of spatial dims
_NAMES = {
    "nearest": "UpsampleNearest{}DBackward0",
    "nearest-exact": "UpsampleNearestExact{}DBackward0",
    "linear": "UpsampleLinear1DBackward0",
    "bilinear": "UpsampleBilinear2DBackward0",
    "trilinear": "UpsampleTrilinear3DBackward0",
    "bicubic": "UpsampleBicubic2DBackward0",
}
_AA_NAMES = {
    "bilinear": "UpsampleBilinear2DAaBackward0",
    "bicubic": "UpsampleBicubic2DAaBackward0",
    "lanczos": "UpsampleLanczos2DAaBackward0",
}
_INTERPOLATING = (
    "linear",
    "bilinear",
    "bicubic",
    "trilinear",
    "lanczos",
)  # the modes align_corners takes


def _axis_plan(
    n_in: int,
    n_out: int,
    scale_factor: float | None,
    mode: str,
    align_corners: bool,
    dtype: Any,
    shortcut: bool = False,
) -> tuple:
    """Along one axis: `(indices, weights)`, one array per tap (weights None for the nearest
    modes), PyTorch's source positions. The scale and the source coordinates are computed in
    the precision PyTorch uses (float32 for the nearest modes; the input's float type for
    linear and bicubic), so the chosen positions agree at the boundaries too."""
    o = np.arange(n_out)
    if shortcut and mode == "nearest" and n_out in (n_in, 2 * n_in):
        # PyTorch's 2-D nearest kernel (4-D input) skips the scale where an axis keeps its
        # size (a copy) or doubles (o >> 1), even when scale_factor says otherwise: 1.25 on
        # 2 rows gives 2 rows, copied; the 1-D and 3-D kernels do not
        return [o if n_out == n_in else o >> 1], None
    if mode in ("nearest", "nearest-exact"):
        f32 = np.float32
        scale = f32(1.0 / scale_factor) if scale_factor else f32(n_in) / f32(n_out)
        pos = o.astype(f32) + f32(0.5) if mode == "nearest-exact" else o.astype(f32)
        i0 = np.minimum(np.floor(pos * scale).astype(np.int64), n_in - 1)
        return [i0], None
    t = np.dtype(dtype).type
    if mode == "bicubic":
        return _cubic_plan(o, n_in, n_out, scale_factor, align_corners, t)
    if n_in == n_out:  # PyTorch's linear modes copy an axis whose size does not change
        return [o, o], [np.ones(n_out, dtype=t), np.zeros(n_out, dtype=t)]
    if align_corners:
        scale = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = o.astype(t) * scale
    else:
        scale = t(1.0 / scale_factor) if scale_factor else t(n_in) / t(n_out)
        src = np.maximum((o.astype(t) + t(0.5)) * scale - t(0.5), t(0))
    i0 = src.astype(np.int64)  # src >= 0: truncation is floor
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = np.clip(src - i0.astype(t), t(0), t(1)).astype(t)
    return [i0, i1], [(t(1) - lam).astype(t), lam]


def _cubic_plan(o, n_in: int, n_out: int, scale_factor, align_corners: bool, t) -> tuple:
    """Bicubic along one axis: taps i0-1 .. i0+2 (clamped to the input) with the cubic
    weights of lam = src - i0, PyTorch's upsample_bicubic2d rule."""
    if align_corners:
        scale = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        src = o.astype(t) * scale
    else:
        scale = t(1.0 / scale_factor) if scale_factor else t(n_in) / t(n_out)
        src = (o.astype(t) + t(0.5)) * scale - t(0.5)  # (no clamp at 0: cubic)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(t), t(0), t(1)).astype(t)
    indices = [np.clip(i0 + k, 0, n_in - 1) for k in (-1, 0, 1, 2)]
    return indices, [w.astype(t) for w in tap_weights(lam, "bicubic")]


def _aa_plan(n_in: int, n_out: int, scale_factor, mode: str, align_corners: bool, t) -> tuple:
    """antialias=True along one axis (kernels/resample_aa.py): output o reads inputs
    xmin[o] .. xmin[o] + xsize[o] - 1; the plan has the longest window's number of taps, the
    third list saying which taps of each output are in its window (the first always is, as
    PyTorch's kernel always reads it). An axis that keeps its size is copied, as PyTorch does."""
    o = np.arange(n_out)
    if n_in == n_out:
        return [o], [np.ones(n_out, dtype=t)]
    if align_corners:
        scale = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
    else:
        scale = t(1.0 / scale_factor) if scale_factor else t(n_in) / t(n_out)
    xmin, xsize, w = aa_axis(n_in, n_out, scale, mode, t)
    taps = range(w.shape[1])
    indices = [np.minimum(xmin + j, n_in - 1) for j in taps]
    valid = [np.ones(n_out, dtype=bool) if j == 0 else j < xsize for j in taps]
    return indices, [w[:, j] for j in taps], valid


def _along(a: np.ndarray, axis: int) -> tuple:
    """Shape that puts a vector along `axis` of an array of rank a.ndim, for broadcasting."""
    return tuple(-1 if k == axis else 1 for k in range(a.ndim))


def _matrix(plan: tuple, n_in: int, dtype: Any) -> np.ndarray:
    """The axis' interpolation as a matrix `(out, in)`: row o holds the weights output o reads
    the input with (for the backward, which applies its transpose)."""
    indices, weights = plan[:2]  # (an antialias plan's validity: its padding taps weigh 0)
    A = np.zeros((len(indices[0]), n_in), dtype=dtype)
    rows = np.arange(len(indices[0]))
    if weights is None:
        A[rows, indices[0]] = 1
    else:  # (each tap once per row; where taps share an input (clamped), the weights add)
        for idx, w in zip(indices, weights, strict=True):
            A[rows, idx] += w
    return A


def _resample(x: np.ndarray, plans: tuple) -> np.ndarray:
    """The interpolation itself: each spatial axis read at the plan's positions."""
    y = x
    # the last axis first, as PyTorch sums the weighted taps (innermost axis innermost)
    for k in reversed(range(len(plans))):
        axis = 2 + k
        indices, weights = plans[k][:2]
        valid = plans[k][2] if len(plans[k]) == 3 else None
        if weights is None:
            y = np.take(y, indices[0], axis=axis)
        else:  # the taps' weighted sum, left to right as PyTorch's kernel adds them
            acc = None
            for j, (idx, w) in enumerate(zip(indices, weights, strict=True)):
                term = np.take(y, idx, axis=axis) * w.astype(y.dtype, copy=False).reshape(
                    _along(y, axis)
                )
                if acc is None:
                    acc = term
                elif valid is None:
                    acc = acc + term
                else:  # (an antialias window shorter than the plan's taps: the rest not added)
                    acc = np.where(valid[j].reshape(_along(y, axis)), acc + term, acc)
            y = acc
    return np.ascontiguousarray(y)


def _resample_adjoint(g: np.ndarray, plans: tuple, shape: tuple) -> np.ndarray:
    """The transposed map (the backward): every output's value goes back to the input
    positions it read, times the weights it read them with."""
    for k, plan in enumerate(plans):
        axis = 2 + k
        A = _matrix(plan, shape[axis], g.dtype)
        # contract the axis' output positions with A: (..., out) @ (out, in)
        g = np.moveaxis(np.moveaxis(g, axis, -1) @ A, -1, axis)
    return np.ascontiguousarray(g)


def _uint8_axis_weights(
    n_in: int, n_out: int, scale_factor: Any, mode: str, align_corners: bool, antialias: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """PyTorch's uint8 linear / cubic resampling along one axis (UpSampleKernel.cpp's int16
    path, PIL's): per output a window of inputs xmin .. xmin + taps - 1 with the filter's
    weights, normalised to sum 1 in double, then fixed point: times 2^prec and rounded to
    int16, prec the largest (< 22) that keeps the largest weight under 2^15 / 2. Returns
    (xmin (n_out,), integer weights (n_out, taps), prec). Without antialias the filter keeps
    its own width (support 1 for bilinear), and align_corners shifts the centres by half a
    pixel."""
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        scale = 1.0 / scale_factor if scale_factor else n_in / n_out
    interp = 2 if mode == "bilinear" else 4
    support = interp * 0.5 * (scale if antialias and scale >= 1.0 else 1.0)
    taps = math.ceil(support) * 2 + 1 if antialias else interp
    delta = 0.5 if align_corners and not antialias else 0.0
    invscale = 1.0 / scale if antialias and scale >= 1.0 else 1.0
    center = scale * (np.arange(n_out) + 0.5 - delta)
    xmin = np.maximum((center - support + 0.5 + delta).astype(np.int64), 0)  # (truncation)
    xmax = np.minimum((center + support + 0.5 + delta).astype(np.int64), n_in)
    xsize = np.clip(xmax - xmin, 0, taps)
    j = np.arange(taps)
    d = np.abs((j + xmin[:, None] - center[:, None] + 0.5 - delta) * invscale)
    if mode == "bilinear":
        w = np.where(d < 1.0, 1.0 - d, 0.0)
    else:  # Keys' cubic, a = -0.5 (PIL's, the antialiased one)
        a = -0.5
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        w = np.where(d < 1.0, near, np.where(d < 2.0, far, 0.0))
    w = np.where(j < xsize[:, None], w, 0.0)
    total = np.zeros(n_out)
    for k in range(taps):  # (summed left to right, as the kernel's loop)
        total = total + w[:, k]
    w = np.where(total[:, None] != 0, w / np.where(total != 0, total, 1.0)[:, None], w)
    w_max = w.max() if w.size else 0.0
    prec = 0
    while prec < 21 and int(0.5 + w_max * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    v = w * (1 << prec)
    wi = np.where(v < 0, v - 0.5, v + 0.5).astype(np.int64)  # (rounded half away from 0)
    return xmin, wi, prec


def _uint8_resample(
    x: np.ndarray, out: tuple, scales: tuple, mode: str, align_corners: bool, antialias: bool
) -> np.ndarray:
    """uint8 (N, C, H, W) resampled as PyTorch's int16 kernel does it: the width first, then
    the height, each pass an integer weighted sum with +2^(prec-1) to round, shifted right by
    prec and clamped to [0, 255] (so the intermediate image is uint8 too); an axis that keeps
    its size is not resampled."""
    y = x
    for axis in (3, 2):
        n_in, n_out = y.shape[axis], out[axis - 2]
        if n_in == n_out:
            continue
        xmin, wi, prec = _uint8_axis_weights(
            n_in, n_out, scales[axis - 2], mode, align_corners, antialias
        )
        src = np.moveaxis(y, axis, -1).astype(np.int64)
        acc = np.full(src.shape[:-1] + (n_out,), 1 << (prec - 1), dtype=np.int64)
        for k in range(wi.shape[1]):
            idx = np.minimum(xmin + k, n_in - 1)  # (a zero weight where past the window)
            acc += src[..., idx] * wi[:, k]
        y = np.moveaxis(np.clip(acc >> prec, 0, 255).astype(np.uint8), -1, axis)
    return np.ascontiguousarray(y)


class Interpolate(Op):
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, plans, name, grad_plans=None):
        # plans: one (indices, weights) per spatial axis, from _axis_plan; grad_plans: the
        # backward's, where its weights are rounded otherwise (float16, see _half_weights)
        ctx.torch_name = name
        ctx.shape, ctx.plans = x.shape, plans
        ctx.grad_plans = plans if grad_plans is None else grad_plans
        return like_suggested(opmath(_resample, x, plans), x)  # (PyTorch's layout)

    @staticmethod
    def backward(ctx, grad):
        return opmath(_resample_adjoint, grad, ctx.grad_plans, ctx.shape), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # a linear map: its backward is the transposed map, itself an op (see below)
        adjoint = InterpolateAdjoint.apply(
            grad, ctx.grad_plans, ctx.shape, ctx.torch_name, ctx.plans
        )
        return adjoint, None, None, None


class InterpolateAdjoint(Op):
    """Interpolate's backward as an op (for create_graph=True); its backward is Interpolate."""

    next_functions_count = 1

    @staticmethod
    def forward(ctx, g, plans, shape, name, forward_plans):
        ctx.torch_name = name.replace("Backward0", "BackwardBackward0")  # PyTorch's name
        ctx.plans, ctx.forward_plans, ctx.forward_name = plans, forward_plans, name
        return opmath(_resample_adjoint, g, plans, shape)

    @staticmethod
    def backward(ctx, grad):
        return opmath(_resample, grad, ctx.forward_plans), None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        forward = Interpolate.apply(grad, ctx.forward_plans, ctx.forward_name, ctx.plans)
        return forward, None, None, None, None


def _output_size(
    x: Tensor, size: Any, scale_factor: Any, recompute: Any, what: str
) -> tuple[tuple, tuple]:
    """`(output sizes, scale factors for the kernel or Nones)`, PyTorch's rules."""
    dim = x.ndim - 2
    spatial = tuple(x.shape[2:])
    if (size is None) == (scale_factor is None):
        raise TensorValueError(
            f"{what}: give exactly one of size and scale_factor, got size={size!r}, "
            f"scale_factor={scale_factor!r}"
        )
    if size is not None:
        if recompute:
            raise TensorValueError(
                f"{what}: recompute_scale_factor is not meaningful with an explicit size"
            )
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dim
        if len(sizes) != dim:
            raise TensorValueError(
                f"{what}: size {size!r} must have one entry per spatial dimension of the input "
                f"(shape {tuple(x.shape)}: {dim} spatial dims, the input is (N, C, d1, ...))"
            )
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
                raise TypeError(f"{what}: size must be an int or a tuple of ints, got {size!r}")
        return tuple(int(s) for s in sizes), (None,) * dim
    scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * dim
    if len(scales) != dim:
        raise TensorValueError(
            f"{what}: scale_factor {scale_factor!r} must have one entry per spatial dimension "
            f"of the input (shape {tuple(x.shape)}: {dim} spatial dims)"
        )
    for s in scales:
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"{what}: scale_factor must be a number or a tuple of numbers, got {scale_factor!r}"
            )
    # PyTorch: floor(in * scale) in double precision
    out = tuple(math.floor(float(n) * float(s)) for n, s in zip(spatial, scales, strict=True))
    kernel_scales = (None,) * dim if recompute else tuple(float(s) for s in scales)
    return out, kernel_scales


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of `(N, C, *spatial)` input (1 to 3 spatial dims) to `size`, or
    by `scale_factor` (output `floor(in * scale_factor)`); see the module docstring for where
    each output sample reads the input."""
    what = "interpolate"
    x = _check_tensor(input, "input", what)
    if mode not in _MODES:
        raise TensorValueError(
            f"{what}: mode must be one of 'nearest', 'nearest-exact', 'linear', 'bilinear', "
            f"'bicubic', 'trilinear', 'area', 'lanczos', got {mode!r}"
        )
    if align_corners is not None and mode not in _INTERPOLATING:
        raise TensorValueError(
            f"{what}: align_corners can only be set with the interpolating modes linear, "
            f"bilinear, bicubic and trilinear, got mode={mode!r}"
        )
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and x.ndim == 4):
        raise TensorValueError(
            "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
            f"requires a 4-D tensor as input (got mode={mode!r}, shape {tuple(x.shape)})"
        )
    if mode == "lanczos" and not antialias:
        raise TensorValueError("Lanczos mode requires antialias=True")
    if mode == "lanczos" and align_corners:
        raise TensorValueError("Lanczos mode does not support align_corners=True")
    # (PyTorch's errors and words for a rank the mode has no kernel for)
    if x.ndim not in (3, 4, 5) or (mode == "bicubic" and x.ndim != 4):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the "
            "modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})"
        )
    if mode in _LINEAR_RANK and x.ndim != _LINEAR_RANK[mode]:
        raise NotImplementedError(
            f"Got {x.ndim}D input, but {mode} mode needs {_LINEAR_RANK[mode]}D input"
        )
    uint8 = x.dtype == np.uint8
    if x.dtype.kind != "f" and not (
        uint8 and (mode in ("nearest", "nearest-exact", "bilinear") or mode == "bicubic")
    ):
        # (PyTorch: NotImplementedError, "... not implemented for 'Long'"; uint8 images have
        # the nearest, bilinear and bicubic kernels only)
        raise DtypeNotImplementedError(
            f"{what}: mode={mode!r} is not implemented for {_dtype.dtype_name(x.dtype)} input "
            "(floating point, or uint8 with nearest, nearest-exact, bilinear or bicubic)"
        )
    if uint8 and mode == "bicubic" and not antialias:
        raise DtypeNotImplementedError(
            f"{what}: mode='bicubic' without antialias on uint8 input is not implemented in "
            "tinyconv (PyTorch rounds it in a way tinyconv does not reproduce); convert to "
            "float, or use antialias=True"
        )
    out, scales = _output_size(x, size, scale_factor, recompute_scale_factor, what)
    spatial = tuple(x.shape[2:])
    if min(spatial) < 1 or min(out) < 1:
        raise RuntimeError(
            f"{what}: input and output sizes must be greater than 0, got input {spatial} and "
            f"output {out}"
        )
    if mode == "area":  # the mean over each output's window: adaptive average pooling
        if x.ndim == 5:
            return adaptive_avg_pool3d(x, out)
        if x.ndim == 3:
            return adaptive_avg_pool2d(x.unsqueeze(2), (1, out[0])).squeeze(2)
        return adaptive_avg_pool2d(x, out)
    if uint8 and mode in ("bilinear", "bicubic"):
        # integer arithmetic, no gradient (integer tensors never require grad)
        y = _uint8_resample(x._data, out, scales, mode, bool(align_corners), antialias)
        return Tensor._make(like_suggested(y, x._data), None, False)
    # (the positions and weights in the dtype PyTorch computes them in: float16's in float32)
    work = np.dtype(np.float32 if x.dtype == np.float16 else x.dtype)
    if antialias:
        t = work.type
        plans = tuple(
            _aa_plan(n, m, s, mode, bool(align_corners), t)
            for n, m, s in zip(spatial, out, scales, strict=True)
        )
        return Interpolate.apply(x, plans, _AA_NAMES[mode])
    plans = tuple(
        _axis_plan(n, m, s, mode, bool(align_corners), work, len(out) == 2)
        for n, m, s in zip(spatial, out, scales, strict=True)
    )
    name = _NAMES[mode].format(len(out))
    if x.dtype == np.float16:  # (the backward kernels keep float32 weights)
        half = tuple(_half_weights(p, mode, len(out)) for p in plans)
        return Interpolate.apply(x, half, name, plans)
    return Interpolate.apply(x, plans, name)


def _half_weights(plan: tuple, mode: str, dims: int) -> tuple:
    """The weights PyTorch's float16 kernels use (their positions and sums are float32):
    bicubic's rounded to float16; linear's and trilinear's fraction lam rounded to float16,
    and 1 - lam computed in float16 from it (bilinear keeps float32 weights)."""
    indices, weights = plan
    f16, f32 = np.float16, np.float32
    if weights is None or (mode != "bicubic" and dims == 2):
        return plan
    if mode == "bicubic":
        return indices, [w.astype(f16).astype(f32) for w in weights]
    lam = weights[1].astype(f16)
    return indices, [(f16(1) - lam).astype(f32), lam.astype(f32)]


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """The older name of interpolate (PyTorch keeps it, deprecated, with this warning)."""
    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        UserWarning,
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _shuffle_factor(v: Any, name: str, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise TensorValueError(f"{what}: {name} must be a positive integer, got {v!r}")
    return int(v)


def _new(out: Tensor, name: str, x: Tensor) -> Tensor:
    """out as a tensor of its own, named as PyTorch's one node: the final reshape is a view of
    x when the permute left the order (r = 1, 1 x 1 images, groups = 1), and PyTorch's result
    never is (an in-place change of it must not reach x)."""
    if out._view_of is not None:
        out = out.clone()
    return _fused(out, name, x)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """`(*, C * r^2, H, W) -> (*, C, H * r, W * r)`: each group of r^2 channels becomes an
    r x r block of pixels (sub-pixel convolution's upsampling). A reshape, a permute and a
    reshape."""
    what = "pixel_shuffle"
    x = _check_tensor(input, "input", what)
    r = _shuffle_factor(upscale_factor, "upscale_factor", what)
    if x.ndim < 3:
        raise RuntimeError(f"{what}: input must be at least 3-D (*, C, H, W), got {tuple(x.shape)}")
    *lead, C, H, W = x.shape
    if C % (r * r):
        raise RuntimeError(
            f"{what}: the channel dim (size {C}, shape {tuple(x.shape)}) must be divisible by "
            f"upscale_factor ** 2 = {r * r}"
        )
    k = len(lead)
    y = x.reshape(*lead, C // (r * r), r, r, H, W)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C', H, r, W, r)
    return _new(y.reshape(*lead, C // (r * r), H * r, W * r), "PixelShuffleBackward0", x)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """`(*, C, H * r, W * r) -> (*, C * r^2, H, W)`: the inverse of pixel_shuffle."""
    what = "pixel_unshuffle"
    x = _check_tensor(input, "input", what)
    r = _shuffle_factor(downscale_factor, "downscale_factor", what)
    if x.ndim < 3:
        raise RuntimeError(f"{what}: input must be at least 3-D (*, C, H, W), got {tuple(x.shape)}")
    *lead, C, H, W = x.shape
    if H % r or W % r:
        raise RuntimeError(
            f"{what}: height and width ({H}, {W}; shape {tuple(x.shape)}) must be divisible by "
            f"downscale_factor={r}"
        )
    k = len(lead)
    y = x.reshape(*lead, C, H // r, r, W // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H', W')
    return _new(y.reshape(*lead, C * r * r, H // r, W // r), "PixelUnshuffleBackward0", x)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """`(N, C, *) -> (N, C, *)`: the C channels, read as a (groups, C / groups) grid, are
    written out column by column (ShuffleNet's mixing of grouped convolutions' outputs). A
    reshape, a transpose and a reshape."""
    what = "channel_shuffle"
    x = _check_tensor(input, "input", what)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{what}: groups must be an int, got {type(groups).__name__}")
    if groups <= 0:
        raise RuntimeError(f"{what}: groups must be positive, got {groups}")
    if x.ndim < 3:
        raise RuntimeError(
            f"{what}: input must have more than 2 dims (N, C, *), got shape {tuple(x.shape)}"
        )
    N, C, *rest = x.shape
    if C % groups:
        raise RuntimeError(
            f"{what}: the number of channels ({C}, shape {tuple(x.shape)}) must be divisible by "
            f"groups ({groups})"
        )
    g = int(groups)
    out = x.reshape(N, g, C // g, *rest).transpose(1, 2).reshape(N, C, *rest)
    return _new(out, "ChannelShuffleBackward0", x)
