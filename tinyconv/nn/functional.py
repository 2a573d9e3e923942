"""Differentiable functions of Tensors: convolution, pooling, activations, losses.

Each op here is a `Function` whose forward and backward call the pure-NumPy
kernels in tinyconv.kernels (or a few lines of NumPy). Arguments are checked
once, here, with messages that name the argument and the shapes involved;
the kernels below trust what they are given.

Shapes follow PyTorch: input `(N, C, H, W)` (or unbatched `(C, H, W)`),
conv weight `(out_channels, in_channels / groups, kH, kW)`.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _dtype
from .._rng import _rng
from ..autograd import ops
from ..autograd.function import sum_to_shape
from ..autograd.ops import Op
from ..autograd.ops_extra import erf_array
from ..kernels import algorithms as conv_algorithms
from ..kernels import conv as conv_k
from ..kernels import pad as pad_k
from ..kernels import pool as pool_k
from ..tensor import Tensor, _as_tensor, _softmax, _to_array

__all__ = [
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "elu",
    "flatten",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mish",
    "mse_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


# -- argument checking (shared by every op here) -------------------------------------


def _check_tensor(x: Any, name: str, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _pair(v: Any, name: str, what: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            v = (v[0], v[0])
        if len(v) != 2:
            raise ValueError(f"{what}: {name} must be an int or a pair of ints, got {v!r}")
        pair = tuple(v)
    else:
        pair = (v, v)
    for p in pair:
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"{what}: {name} must be an int or a pair of ints, got {v!r}")
        if p < minimum:
            rule = "positive" if minimum == 1 else "non-negative"
            raise ValueError(f"{what}: {name} must be {rule}, got {v!r}")
    return int(pair[0]), int(pair[1])


def _batched(x: Tensor, what: str) -> tuple[Tensor, bool]:
    """Accept (N, C, H, W) or unbatched (C, H, W); return 4-D and whether to squeeze back."""
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x.unsqueeze(0), True
    raise ValueError(
        f"{what}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}"
    )


def _check_spatial(x: Tensor, what: str) -> None:
    """Height and width must be non-empty (the batch may be 0), as in PyTorch."""
    if 0 in x.shape[-2:]:
        raise ValueError(f"{what}: input shape {tuple(x.shape)} has an empty height or width; only the batch "
                         "dimension may be 0")


def _same_dtype(x: Tensor, w: Tensor, b: Tensor | None, what: str) -> None:
    for name, t in (("weight", w), ("bias", b)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(
                f"{what}: input dtype {_dtype.dtype_name(x.dtype)} and {name} dtype "
                f"{_dtype.dtype_name(t.dtype)} must be the same; convert one with .to(...)"
            )


def _check_bias(b: Any, out_channels: int, what: str) -> Tensor | None:
    if b is None:
        return None
    _check_tensor(b, "bias", what)
    if b.shape != (out_channels,):
        raise ValueError(
            f"{what}: bias must have shape ({out_channels},) (one per output channel), "
            f"got {tuple(b.shape)}"
        )
    return b


# -- convolution ------------------------------------------------------------------------


class Conv2d(Op):
    """y = conv2d(x, w) + b; the math is derived at the top of kernels/conv.py.

    The kernels are those of the selected algorithm (tinyconv.kernels.conv_algorithm:
    "loops", "im2col" or "fast"); the node records its name, and backward runs the same one.
    """

    torch_name = "ConvolutionBackward0"
    @staticmethod
    def forward(ctx, x, w, b, config):
        # config: (stride, padding, dilation, groups), as conv2d() checked and normalised them
        algo = conv_algorithms.current
        y, cols = algo.conv2d_forward(x, w, b, *config)
        ctx.save_for_backward(x, w)
        ctx.cols = cols  # the im2col matrix, reused by grad_weight (or None: recompute)
        ctx.config = config
        ctx.algorithm = algo.name
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        algo = conv_algorithms.ALGORITHMS[ctx.algorithm]
        gx, gw, gb = algo.conv2d_backward(grad, x, w, ctx.cols, *ctx.config,
                                          need_input=need_x, need_weight=need_w, need_bias=need_b)
        ctx.cols = None
        return gx, gw, gb, None


class ConvTranspose2d(Op):
    """The transposed convolution: conv2d's grad_input as a forward op (algorithm as in Conv2d)."""

    torch_name = "ConvolutionBackward0"
    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, groups):
        algo = conv_algorithms.current
        ctx.save_for_backward(x, w)
        ctx.config = (stride, padding, output_padding, dilation, groups)
        ctx.algorithm = algo.name
        return algo.conv_transpose2d_forward(x, w, b, stride, padding, output_padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        algo = conv_algorithms.ALGORITHMS[ctx.algorithm]
        gx, gw, gb = algo.conv_transpose2d_backward(grad, x, w, *ctx.config, need_input=need_x,
                                                    need_weight=need_w, need_bias=need_b)
        return gx, gw, gb, None, None, None, None, None


def _conv_operands(input: Any, weight: Any, groups: Any, what: str, layout: str) -> tuple[Tensor, bool]:
    """The checks conv2d and conv_transpose2d share: tensors, a 4-D weight, positive groups."""
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    x, unbatched = _batched(input, what)
    if weight.ndim != 4:
        raise ValueError(f"{what}: weight must be 4-D ({layout}, kH, kW), got shape {tuple(weight.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{what}: groups must be a positive integer, got {groups!r}")
    return x, unbatched


def _conv_padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple, what: str) -> tuple:
    """Padding as ((top, bottom), (left, right)); 'same' may be asymmetric, as in PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{what}: padding='same' needs stride 1, got stride={stride}")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        raise ValueError(f"{what}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = _pair(padding, "padding", what, 0)
    return (ph, ph), (pw, pw)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as PyTorch's conv2d.

    input `(N, C, H, W)` or `(C, H, W)`; weight `(O, C // groups, kH, kW)`; bias `(O,)`.
    Output `(N, O, OH, OW)` with OH = floor((H + 2p - d(kH - 1) - 1) / s) + 1.
    """
    config, unbatched = _conv2d_options(input, weight, bias, stride, padding, dilation, groups)
    x = input.unsqueeze(0) if unbatched else input
    y = Conv2d.apply(x, weight, bias, config)
    return y.squeeze(0) if unbatched else y


# A training loop calls conv2d with the same shapes and options at every step,
# and the checks (a dozen Python-level tests, ~5 us: longer than a tiny
# convolution) give the same answer every time. So the checked, normalised
# options are kept per call signature: the tensors' shapes and dtypes and the
# options as given. Only ints, strings and pairs of ints go into a key: in
# Python 1.0 == 1 and True == 1, but a float or bool stride is an error.
_conv2d_checked: dict[tuple, tuple] = {}
_CHECKED_MAX = 256  # signatures kept (more only in programs that keep changing shapes)


def _plain(v: Any) -> bool:
    """An int, a str or a pair of ints: an option for which == means the same option."""
    t = type(v)
    return t is int or t is str or (t is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int)


def _conv2d_options(input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
                    dilation: Any, groups: Any) -> tuple:
    """conv2d's checked options `((stride, pads, dilation, groups), unbatched)`; raises on bad arguments."""
    key = None
    if (isinstance(input, Tensor) and isinstance(weight, Tensor) and (bias is None or isinstance(bias, Tensor))
            and _plain(stride) and _plain(padding) and _plain(dilation) and type(groups) is int):
        key = (input._data.shape, input._data.dtype, weight._data.shape, weight._data.dtype,
               None if bias is None else (bias._data.shape, bias._data.dtype),
               stride, padding, dilation, groups)
        options = _conv2d_checked.get(key)
        if options is not None:
            return options
    options = _check_conv2d(input, weight, bias, stride, padding, dilation, groups)
    if key is not None and len(_conv2d_checked) < _CHECKED_MAX:
        _conv2d_checked[key] = options
    return options


def _check_conv2d(input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
                  dilation: Any, groups: Any) -> tuple:
    """Check conv2d's arguments, with messages naming them; return the normalised options."""
    what = "conv2d"
    x, unbatched = _conv_operands(input, weight, groups, what, "out_channels, in_channels/groups")
    O, Cg, kh, kw = weight.shape
    C, H, W = x.shape[1:]
    if kh < 1 or kw < 1 or Cg < 1 or O < 1:
        raise ValueError(f"{what}: weight shape {tuple(weight.shape)} has a zero size; out_channels, "
                         "in_channels/groups and the kernel size must all be at least 1")
    if O % groups:
        raise ValueError(f"{what}: out_channels ({O}, weight shape {tuple(weight.shape)}) must be "
                         f"divisible by groups={groups}")
    if C != Cg * groups:
        raise ValueError(
            f"{what}: input has {C} channels but weight expects {Cg * groups} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    b = _check_bias(bias, O, what)
    _same_dtype(x, weight, b, what)
    _check_spatial(input, what)
    stride = _pair(stride, "stride", what, 1)
    dilation = _pair(dilation, "dilation", what, 1)
    pads = _conv_padding(padding, (kh, kw), dilation, stride, what)
    for size, (p0, p1), k, d, axis in ((H, pads[0], kh, dilation[0], "height"),
                                        (W, pads[1], kw, dilation[1], "width")):
        if size + p0 + p1 < d * (k - 1) + 1:
            raise ValueError(
                f"{what}: kernel {axis} {k} (dilated to {d * (k - 1) + 1}) is larger than the padded "
                f"input {axis} {size + p0 + p1} (input shape {tuple(input.shape)}, padding={padding})"
            )
    return (stride, pads, dilation, int(groups)), unbatched


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """The gradient of conv2d w.r.t. its input, as an op (a.k.a. "deconvolution").

    input `(N, C_in, H, W)`; weight `(C_in, O // groups, kH, kW)`; output
    `(N, O, (H - 1) s - 2p + d (kH - 1) + output_padding + 1, ...)`.
    """
    what = "conv_transpose2d"
    x, unbatched = _conv_operands(input, weight, groups, what, "in_channels, out_channels/groups")
    Cin, Og, kh, kw = weight.shape
    C = x.shape[1]
    if kh < 1 or kw < 1 or Cin < 1 or Og < 1:
        raise ValueError(f"{what}: weight shape {tuple(weight.shape)} has a zero size; in_channels, "
                         "out_channels/groups and the kernel size must all be at least 1")
    if C != Cin:
        raise ValueError(f"{what}: input has {C} channels but weight expects {Cin} "
                         f"(weight shape {tuple(weight.shape)}, groups={groups})")
    if Cin % groups:
        raise ValueError(f"{what}: in_channels ({Cin}) must be divisible by groups={groups}")
    b = _check_bias(bias, Og * groups, what)
    _same_dtype(x, weight, b, what)
    _check_spatial(input, what)
    stride = _pair(stride, "stride", what, 1)
    dilation = _pair(dilation, "dilation", what, 1)
    pad = _pair(padding, "padding", what, 0)
    out_pad = _pair(output_padding, "output_padding", what, 0)
    for op_, s, d in zip(out_pad, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"{what}: output_padding {out_pad} must be smaller than either stride "
                             f"{stride} or dilation {dilation}")
    oh, ow = conv_k.conv_transpose2d_output_size(x.shape[2], x.shape[3], (kh, kw), stride, pad,
                                                 out_pad, dilation)
    if oh < 1 or ow < 1:
        raise ValueError(f"{what}: the output would be empty ({oh} x {ow}) for input shape "
                         f"{tuple(input.shape)} and padding {pad}")
    y = ConvTranspose2d.apply(x, weight, b, stride, pad, out_pad, dilation, int(groups))
    return y.squeeze(0) if unbatched else y


# -- padding ----------------------------------------------------------------------------


# PyTorch's node per (mode, number of padded dims); circular padding is a CopySlices there
_PAD_NAMES = {("reflect", 1): "ReflectionPad1DBackward0", ("reflect", 2): "ReflectionPad2DBackward0",
              ("reflect", 3): "ReflectionPad3DBackward0", ("replicate", 1): "ReplicationPad1DBackward0",
              ("replicate", 2): "ReplicationPad2DBackward0", ("replicate", 3): "ReplicationPad3DBackward0",
              ("circular", 1): "CopySlices", ("circular", 2): "CopySlices", ("circular", 3): "CopySlices"}


class Pad(Op):
    @staticmethod
    def forward(ctx, x, pads, mode, value):
        ctx.shape, ctx.pads, ctx.mode = x.shape, pads, mode
        ctx.torch_name = _PAD_NAMES.get((mode, len(pads) // 2), "ConstantPadNdBackward0")
        return pad_k.pad_forward(x, pads, mode, value)

    @staticmethod
    def backward(ctx, grad):
        # Constant padding: crop. Reflect/replicate/circular: each copied border
        # element sends its gradient back to the element it was copied from.
        return pad_k.pad_backward(grad, ctx.shape, ctx.pads, ctx.mode), None, None, None


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dims: `pad = (left, right, top, bottom, ...)`, last dim first."""
    what = "pad"
    _check_tensor(input, "input", what)
    if not isinstance(pad, (tuple, list)) or len(pad) % 2 or not pad:
        raise ValueError(f"{what}: pad must be a tuple of even length (left, right, top, bottom, ...), got {pad!r}")
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"{what}: pad entries must be integers, got {pad!r}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"{what}: pad {tuple(pad)} covers {len(pad) // 2} dims but the input has "
                         f"shape {tuple(input.shape)}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"{what}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    shape = input.shape
    for i in range(len(pad) // 2):
        n = shape[-1 - i]
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if mode != "constant" and (lo < 0 or hi < 0):
            raise ValueError(f"{what}: negative padding {tuple(pad)} is only allowed with mode='constant'")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"{what}: reflect padding {(lo, hi)} must be smaller than the input size {n} "
                             f"of dim {input.ndim - 1 - i} (input shape {tuple(shape)})")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"{what}: circular padding {(lo, hi)} must be at most the input size {n} "
                             f"of dim {input.ndim - 1 - i} (input shape {tuple(shape)})")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise ValueError(f"{what}: can't replicate-pad an empty dimension")
        if n + lo + hi < 0:
            raise ValueError(f"{what}: padding {tuple(pad)} crops more than the input size {n}")
    return Pad.apply(input, tuple(int(p) for p in pad), mode, value)


# -- pooling ----------------------------------------------------------------------------


class MaxPool2d(Op):
    torch_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode, indices_out):
        y, indices = pool_k.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        ctx.indices, ctx.shape = indices, x.shape
        ctx.disjoint = pool_k.max_pool2d_windows_disjoint(kernel_size, stride, dilation)
        ctx.empty = pool_k.max_pool2d_empty_windows(x.shape[2], x.shape[3], y.shape[2:], kernel_size,
                                                    stride, padding, dilation)
        if indices_out is not None:  # return_indices=True: hand the argmax positions out
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.empty is not None and np.any(grad[..., ctx.empty] != 0):
            # PyTorch sends such a gradient to the pixel its index names, which the
            # window never read (or past the input's end): refuse, do not guess.
            i, j = (int(v[0]) for v in np.nonzero(ctx.empty))
            raise RuntimeError(
                f"max_pool2d: output window ({i}, {j}) lies entirely in the padding (its value is "
                "the padding's -inf, a constant) and received a non-zero gradient; PyTorch would "
                "send it to a pixel outside the window. Use less padding or dilation, or "
                "ceil_mode=False")
        # Each window's gradient goes to the element that won the max.
        gx = pool_k.max_pool2d_backward(grad, ctx.indices, ctx.shape, disjoint=ctx.disjoint,
                                        empty=ctx.empty)
        return (gx,) + (None,) * 6


class AvgPool2d(Op):
    torch_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
        ctx.shape = x.shape
        ctx.config = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return pool_k.avg_pool2d_forward(x, *ctx.config)

    @staticmethod
    def backward(ctx, grad):
        # Each window's gradient is spread evenly over the elements it averaged.
        return (pool_k.avg_pool2d_backward(grad, ctx.shape, *ctx.config),) + (None,) * 7


def _pool_args(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool, what: str) -> tuple:
    _check_tensor(input, "input", what)
    x, unbatched = _batched(input, what)
    _check_spatial(input, what)
    k = _pair(kernel_size, "kernel_size", what, 1)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else _pair(stride, "stride", what, 1)
    p = _pair(padding, "padding", what, 0)
    d = _pair(dilation, "dilation", what, 1)
    for pi, ki in zip(p, k):
        if pi > ki // 2:
            raise ValueError(f"{what}: padding {p} should be at most half of kernel_size {k}")
    oh, ow = pool_k.pool2d_output_size(x.shape[2], x.shape[3], k, s, p, d, bool(ceil_mode))
    if oh < 1 or ow < 1:
        raise ValueError(f"{what}: the output would be empty ({oh} x {ow}) for input shape "
                         f"{tuple(input.shape)}, kernel_size {k}, stride {s}, padding {p}")
    return x, unbatched, k, s, p, d


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over each window; `(N, C, H, W) -> (N, C, OH, OW)`. Indices index the H*W plane."""
    x, unbatched, k, s, p, d = _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    sink: list | None = [] if return_indices else None
    y = MaxPool2d.apply(x, k, s, p, d, bool(ceil_mode), sink)
    if return_indices:
        ind = Tensor._make(sink[0], None, False)
        return (y.squeeze(0), ind.squeeze(0)) if unbatched else (y, ind)
    return y.squeeze(0) if unbatched else y


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over each window; `(N, C, H, W) -> (N, C, OH, OW)`."""
    what = "avg_pool2d"
    x, unbatched, k, s, p, _ = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode, what)
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(x.dtype)}")
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"{what}: divisor_override must be positive, got {divisor_override}")
    y = AvgPool2d.apply(x, k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override)
    return y.squeeze(0) if unbatched else y


def _adaptive_args(input: Any, output_size: Any, what: str) -> tuple:
    """``(x (N, C, H, W), unbatched, (OH, OW))``; a None in output_size keeps that input size."""
    _check_tensor(input, "input", what)
    x, unbatched = _batched(input, what)
    if 0 in x.shape[1:]:
        raise ValueError(f"{what}: input shape {tuple(input.shape)} has an empty channel, height or "
                         "width; only the batch dimension may be 0")
    H, W = x.shape[2:]
    if output_size is None:
        return x, unbatched, (H, W)
    sizes = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * 2
    if len(sizes) == 1:
        sizes = sizes * 2
    if len(sizes) != 2:
        raise ValueError(f"{what}: output_size must be an int or a pair, got {output_size!r}")
    sizes = [n if s is None else s for s, n in zip(sizes, (H, W))]
    return x, unbatched, _pair(tuple(sizes), "output_size", what, 1)


class AdaptiveAvgPool2d(Op):
    torch_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, output_size):
        ctx.shape = x.shape
        return pool_k.adaptive_avg_pool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, grad):
        # Each window's gradient is spread evenly over the pixels it averaged.
        return pool_k.adaptive_avg_pool2d_backward(grad, ctx.shape), None


class AdaptiveMaxPool2d(Op):
    torch_name = "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, output_size, indices_out):
        y, indices = pool_k.adaptive_max_pool2d_forward(x, output_size)
        ctx.indices, ctx.shape = indices, x.shape
        if indices_out is not None:  # return_indices=True: hand the argmax positions out
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        # Each window's gradient goes to the element that won the max (windows may overlap).
        return pool_k.max_pool2d_backward(grad, ctx.indices, ctx.shape), None, None


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average-pool to a fixed `output_size`: `(N, C, H, W) -> (N, C, OH, OW)`.

    Window i of an axis covers `[floor(i*H/OH), ceil((i+1)*H/OH))`, PyTorch's uneven windows.
    """
    what = "adaptive_avg_pool2d"
    x, unbatched, size = _adaptive_args(input, output_size, what)
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(x.dtype)}")
    y = AdaptiveAvgPool2d.apply(x, size)
    return y.squeeze(0) if unbatched else y


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max-pool to a fixed `output_size`: `(N, C, H, W) -> (N, C, OH, OW)` (and the int64
    indices `h * W + w` of each maximum with `return_indices=True`); windows as in
    `adaptive_avg_pool2d`."""
    what = "adaptive_max_pool2d"
    x, unbatched, size = _adaptive_args(input, output_size, what)
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(x.dtype)}")
    sink: list | None = [] if return_indices else None
    y = AdaptiveMaxPool2d.apply(x, size, sink)
    if return_indices:
        ind = Tensor._make(sink[0], None, False)
        return (y.squeeze(0), ind.squeeze(0)) if unbatched else (y, ind)
    return y.squeeze(0) if unbatched else y


# -- activations ------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _check_tensor(input, "input", "relu").relu()


def sigmoid(input: Tensor) -> Tensor:
    return _check_tensor(input, "input", "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _check_tensor(input, "input", "tanh").tanh()


class LeakyRelu(Op):
    torch_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * slope).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, grad * ctx.slope).astype(grad.dtype, copy=False), None


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return LeakyRelu.apply(_check_tensor(input, "input", "leaky_relu"), float(negative_slope))


def softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    return _softmax(ops.Softmax, _check_tensor(input, "input", "softmax"), dim, dtype, "softmax")


def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    return _softmax(ops.LogSoftmax, _check_tensor(input, "input", "log_softmax"), dim, dtype,
                    "log_softmax")


# -- linear, dropout, flatten --------------------------------------------------------------


class Linear(Op):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        # PyTorch: addmm (2-D with bias), mm, or a view of either for other ranks
        if x.ndim == 2:
            ctx.torch_name = "AddmmBackward0" if b is not None else "MmBackward0"
        else:
            ctx.torch_name = "ViewBackward0" if b is not None else \
                "SqueezeBackward4" if x.ndim == 1 else "UnsafeViewBackward0"
        y = x @ w.T
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        # y = x W^T + b  =>  dx = grad W,  dW = grad^T x,  db = sum of grad over the batch
        gx = grad @ w if need_x else None
        g2 = grad.reshape(-1, grad.shape[-1])
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b; input `(*, in_features)`, weight `(out_features, in_features)`."""
    what = "linear"
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    if weight.ndim != 2:
        raise ValueError(f"{what}: weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{what}: input's last dimension must be in_features={weight.shape[1]}, got input shape "
            f"{tuple(input.shape)} (weight shape {tuple(weight.shape)}); did you forget to flatten?"
        )
    b = _check_bias(bias, weight.shape[0], what)
    _same_dtype(input, weight, b, what)
    return Linear.apply(input, weight, b)


class Dropout(Op):
    torch_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.mask, None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    _check_tensor(input, "input", "dropout")
    if not training or p == 0:
        return input
    keep = _rng().random(input.shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return Dropout.apply(input, (keep * scale).astype(input.dtype))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    t = _check_tensor(tensor, "tensor", "one_hot")
    if t.dtype.kind not in "iu":
        raise TypeError("one_hot: tensor must hold integer class indices")
    n = int(t._data.max()) + 1 if num_classes == -1 else num_classes
    if t.numel() and (t._data.min() < 0 or t._data.max() >= n):
        raise ValueError(f"one_hot: class values must be in [0, {n}), got min {t._data.min()}, "
                         f"max {t._data.max()}")
    return Tensor._make(np.eye(n, dtype=np.int64)[t._data], None, False)


# -- normalization ---------------------------------------------------------------------------


class BatchNorm(Op):
    """Batch normalization over every axis but the channel axis 1, per channel c:

        y = xhat * w + b,    xhat = (x - mu) * r,    r = 1 / sqrt(var + eps)

    Training: mu and var are the batch's mean and *biased* variance over the
    M = x.size / C values of channel c; the running stats (if given) move by
    `momentum` towards mu and the *unbiased* variance var * M / (M - 1).
    Eval: mu and var are the running stats, constants.

    Backward, with g = dL/dy and gh = dL/dxhat = g * w:
        dL/db = sum(g),   dL/dw = sum(g * xhat)        (sums over the channel's M values)
        eval:     dL/dx = gh * r                       (mu and r are constants)
        training: mu and r depend on x too. Chaining dxhat_j/dx_i = r (delta_ij - 1/M - xhat_i xhat_j / M)
                  (from dmu/dx_i = 1/M and dr/dx_i = -r^3 (x_i - mu) / M) gives
                  dL/dx = r / M * (M gh - sum(gh) - xhat * sum(gh * xhat)).
    """

    torch_name = "NativeBatchNormBackward0"
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # a per-channel vector, broadcast against x
        if training:
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            var = np.mean(centered * centered, axis=axes)  # biased: divides by M
            if running_mean is not None:  # buffers, updated in place (not part of the graph)
                m = x.size // x.shape[1]
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (m / (m - 1))  # unbiased: divides by M - 1
        else:
            mean, var = running_mean.astype(x.dtype, copy=False), running_var.astype(x.dtype, copy=False)
            centered = x - mean.reshape(shape)
        r = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centered * r.reshape(shape)
        y = xhat if weight is None else xhat * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        elif y is xhat:  # no affine: the output must not be xhat itself, which backward needs
            y = xhat.copy()  # (an in-place op on the output would change it: a wrong gradient)
        ctx.save_for_backward(weight)  # xhat and r are ours: no one else can modify them in place
        ctx.xhat, ctx.r, ctx.axes, ctx.shape, ctx.training = xhat, r, axes, shape, training
        return y

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        xhat, r, axes, shape = ctx.xhat, ctx.r, ctx.axes, ctx.shape
        gx = gw = gb = None
        if need_w:
            gw = np.sum(grad * xhat, axis=axes)
        if need_b:
            gb = np.sum(grad, axis=axes)
        if need_x:
            gh = grad if weight is None else grad * weight.reshape(shape)
            if ctx.training:
                m = xhat.size // xhat.shape[1]
                sum_gh = np.sum(gh, axis=axes).reshape(shape)
                sum_gh_xhat = np.sum(gh * xhat, axis=axes).reshape(shape)
                gx = (r.reshape(shape) / m) * (m * gh - sum_gh - xhat * sum_gh_xhat)
            else:
                gx = gh * r.reshape(shape)
        return gx, gw, gb, None, None, None, None, None


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of `(N, C, ...)` input to zero mean and unit variance, then scale
    by weight and shift by bias. Training uses the batch's statistics and updates the running ones in
    place; eval uses the running ones."""
    what = "batch_norm"
    _check_tensor(input, "input", what)
    if input.ndim < 2:
        raise ValueError(f"{what}: input must have a batch and a channel dimension (N, C, ...), "
                         f"got shape {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise TypeError(f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(input.dtype)}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is None:
            continue
        _check_tensor(t, name, what)
        if tuple(t.shape) != (C,):
            raise ValueError(f"{what}: {name} must have shape ({C},), one value per channel of the input "
                             f"(shape {tuple(input.shape)}, channels on dim 1), got shape {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{what}: give both running_mean and running_var, or neither")
    _same_dtype(input, weight, bias, what)
    if not training and running_mean is None:
        raise RuntimeError(f"{what}: running_mean and running_var must be given in evaluation mode "
                           "(training=False); pass training=True to normalise with the batch's statistics")
    if training and input.numel() // max(C, 1) <= 1:
        raise ValueError(f"{what}: expected more than 1 value per channel when training, got input of "
                         f"shape {tuple(input.shape)}")
    rm = running_mean._data if running_mean is not None else None
    rv = running_var._data if running_var is not None else None
    y = BatchNorm.apply(input, weight, bias, rm, rv, bool(training), float(momentum), float(eps))
    if training and running_mean is not None:
        running_mean._vc[0] += 1
        running_var._vc[0] += 1
    return y


# -- losses ----------------------------------------------------------------------------------


# PyTorch runs these losses as one fused node; tinyconv builds them from smaller ops, and
# names the last one as PyTorch names its node, so that `print(loss)` reads the same.
_LOSS_NAMES = {"mse_loss": "MseLossBackward0", "binary_cross_entropy": "BinaryCrossEntropyBackward0",
               "binary_cross_entropy_with_logits": "BinaryCrossEntropyWithLogitsBackward0"}


def _reduce(loss: Tensor, reduction: str, what: str) -> Tensor:
    if reduction in ("mean", "sum", "none"):
        out = loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
        if what in _LOSS_NAMES and out.grad_fn is not None:
            out.grad_fn.torch_name = _LOSS_NAMES[what]
        return out
    raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _weighted(loss: Tensor, weight: Any, what: str) -> Tensor:
    """loss * weight, with a clear error when weight doesn't broadcast to the loss's shape."""
    w = _as_tensor(weight)
    try:
        if np.broadcast_shapes(tuple(w.shape), tuple(loss.shape)) != tuple(loss.shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{what}: weight shape {tuple(w.shape)} doesn't broadcast to the loss's shape "
                         f"{tuple(loss.shape)} (one weight per element, or a shape that broadcasts to it)") from None
    return loss * w


def _check_reduction(reduction: str, what: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_target(target: Any, what: str) -> Tensor:
    """A loss's target as a Tensor; lists are converted, with errors that name the target."""
    if isinstance(target, Tensor):
        return target
    if isinstance(target, np.ndarray):
        return _as_tensor(target)
    return Tensor._make(_to_array(target, None, f"{what}: target"), None, False)


def _loss_pair(input: Any, target: Any, what: str) -> tuple[Tensor, Tensor]:
    _check_tensor(input, "input", what)
    target = _as_target(target, what)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise ValueError(f"{what}: input shape {tuple(input.shape)} and target shape "
                             f"{tuple(target.shape)} don't broadcast") from None
        warnings.warn(
            f"{what}: target size {tuple(target.shape)} differs from input size {tuple(input.shape)}; "
            "they will be broadcast, which is likely not what you want",
            UserWarning, stacklevel=3,
        )
    return input, target


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: reduce((input - target)^2)."""
    _check_reduction(reduction, "mse_loss")
    x, t = _loss_pair(input, target, "mse_loss")
    diff = x - t
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _check_reduction(reduction, "l1_loss")
    x, t = _loss_pair(input, target, "l1_loss")
    return _reduce((x - t).abs(), reduction, "l1_loss")


class NllLoss(Op):
    """loss_n = -weight[t_n] * logp[n, t_n] over the class axis 1 (ignore_index skipped)."""

    torch_name = "NllLossBackward0"
    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        C = logp.shape[1]
        valid = target != ignore_index
        safe_t = np.where(valid, target, 0)
        # w_n: the class weight of each sample's target (0 for ignored samples)
        w_n = (weight[safe_t] if weight is not None else np.ones(target.shape, logp.dtype)) * valid
        picked = np.take_along_axis(logp, np.expand_dims(safe_t, 1), axis=1).squeeze(1)
        losses = -w_n * picked
        ctx.config = (logp.shape, C, safe_t, w_n, reduction)
        if reduction == "none":
            return losses.astype(logp.dtype, copy=False)
        total = losses.sum()
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # no samples: nan, as PyTorch
                total = total / w_n.sum()  # PyTorch: weighted mean over non-ignored samples
        return np.asarray(total, dtype=logp.dtype)

    @staticmethod
    def backward(ctx, grad):
        shape, _, safe_t, w_n, reduction = ctx.config
        scale = grad if reduction == "none" else np.broadcast_to(grad, w_n.shape)
        if reduction == "mean":
            scale = scale / w_n.sum()
        g = np.zeros(shape, dtype=grad.dtype)
        np.put_along_axis(g, np.expand_dims(safe_t, 1), np.expand_dims(-w_n * scale, 1), axis=1)
        return g, None, None, None, None


def _class_targets(input: Tensor, target: Any, what: str) -> tuple[Tensor, np.ndarray, bool]:
    """Check (N, C, ...) input against (N, ...) class-index targets; unbatched (C,) with () too."""
    _check_tensor(input, "input", what)
    t = _as_target(target, what)
    if input.ndim == 0:
        raise ValueError(f"{what}: input must have a class dimension, got a 0-d tensor")
    if input.dtype.kind != "f":
        raise TypeError(f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(input.dtype)}")
    if input.shape[0 if input.ndim == 1 else 1] == 0:
        raise ValueError(f"{what}: input shape {tuple(input.shape)} has no classes (the class dimension is empty)")
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    td = t._data.reshape(1) if unbatched and t.ndim == 0 else t._data
    if td.dtype.kind not in "iu":
        raise TypeError(f"{what}: class-index target must be an integer tensor (int64), got "
                        f"{_dtype.dtype_name(td.dtype)}")
    expected = (x.shape[0],) + tuple(x.shape[2:])
    if td.shape != expected:
        raise ValueError(f"{what}: target shape {tuple(t.shape)} doesn't match input shape "
                         f"{tuple(input.shape)} (expected target shape {expected if not unbatched else ()})")
    return x, td, unbatched


def _check_targets_in_range(td: np.ndarray, C: int, ignore_index: int, what: str) -> None:
    bad = (td != ignore_index) & ((td < 0) | (td >= C))
    if bad.any():
        raise ValueError(f"{what}: target {int(td[bad].flat[0])} is out of range for {C} classes "
                         f"(targets must be in [0, {C - 1}])")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets; input holds log-probabilities `(N, C, ...)`."""
    what = "nll_loss"
    _check_reduction(reduction, what)
    x, td, unbatched = _class_targets(input, target, what)
    C = x.shape[1]
    _check_targets_in_range(td, C, ignore_index, what)
    w = None
    if weight is not None:
        w = _as_tensor(weight)._data
        if w.shape != (C,):
            raise ValueError(f"{what}: weight must have shape ({C},), one per class, got {w.shape}")
    loss = NllLoss.apply(x, td, w, ignore_index, reduction)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits `(N, C, ...)` against class indices `(N, ...)` or class probabilities.

    Computed as nll_loss(log_softmax(input)), with the log-softmax shifted by
    the max so logits of 1e4 give finite losses and gradients.
    """
    what = "cross_entropy"
    _check_reduction(reduction, what)
    _check_tensor(input, "input", what)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(f"{what}: input must have a class dimension ((C,) or (N, C, ...)), got a 0-d tensor")
    if input.dtype.kind != "f":
        raise TypeError(f"{what}: input (the logits) must be a floating point tensor, got "
                        f"{_dtype.dtype_name(input.dtype)}")
    t = _as_target(target, what)
    class_dim = 0 if input.ndim == 1 else 1
    if input.shape[class_dim] == 0:
        raise ValueError(f"{what}: input shape {tuple(input.shape)} has no classes (the class dimension is empty)")
    if weight is not None and tuple(_as_tensor(weight).shape) != (input.shape[class_dim],):
        raise ValueError(f"{what}: weight must have shape ({input.shape[class_dim]},), one per class, got "
                         f"{tuple(_as_tensor(weight).shape)}")
    logp = log_softmax(input, dim=class_dim)
    if t.dtype.kind == "f":  # class probabilities, same shape as input
        if t.shape != input.shape:
            raise ValueError(f"{what}: probability targets must have the input's shape {tuple(input.shape)}, "
                             f"got {tuple(t.shape)}")
        C = input.shape[class_dim]
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / C
        terms = logp * t
        if weight is not None:
            wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
            terms = terms * _as_tensor(weight).reshape(wshape)
        loss = -terms.sum(class_dim)
        return _reduce(loss, reduction, what)
    x, td, _ = _class_targets(input, t, what)
    _check_targets_in_range(td, x.shape[1], ignore_index, what)
    loss = nll_loss(logp, t, weight=weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing:
        C = x.shape[1]
        smooth = -logp.sum(class_dim) / C
        if weight is not None:
            wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
            smooth = -(logp * _as_tensor(weight).reshape(wshape)).sum(class_dim) / C
        valid = Tensor._make((td != ignore_index).astype(logp.dtype).reshape(smooth.shape), None, False)
        smooth = smooth * valid
        if reduction == "mean":
            if weight is not None:
                wt = _as_tensor(weight)._data[np.where(td != ignore_index, td, 0)] * (td != ignore_index)
                smooth = smooth.sum() / float(wt.sum())
            else:
                smooth = smooth.sum() / float(valid._data.sum())
        else:
            smooth = _reduce(smooth, reduction, what)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    return loss


class BinaryCrossEntropy(Op):
    """loss = -[t log p + (1 - t) log(1 - p)], each log clamped at -100, as PyTorch.

    Its own op (not log, clamp and mul) so that p = 0 or 1 gives a finite gradient:
    d loss / dp = (p - t) / (p (1 - p)), with the denominator kept >= 1e-12 as PyTorch does.
    """

    torch_name = "BinaryCrossEntropyBackward0"
    @staticmethod
    def forward(ctx, p, t):
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 just below
            log_p = np.maximum(np.log(p), -100)
            log_1mp = np.maximum(np.log1p(-p), -100)
        ctx.save_for_backward(p, t)
        ctx.logs = (log_p, log_1mp)
        return -(t * log_p + (1 - t) * log_1mp)

    @staticmethod
    def backward(ctx, grad):
        p, t = ctx.saved_tensors
        need_p, need_t = ctx.needs_input_grad
        gp = gt = None
        if need_p:
            gp = sum_to_shape(grad * (p - t) / np.maximum(p * (1 - p), 1e-12), p.shape, p.dtype)
        if need_t:
            log_p, log_1mp = ctx.logs
            gt = sum_to_shape(grad * (log_1mp - log_p), t.shape, t.dtype)
        return gp, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in [0, 1]; logs clamped at -100 as PyTorch."""
    what = "binary_cross_entropy"
    _check_reduction(reduction, what)
    x, t = _loss_pair(input, target, what)
    if x._data.size and not ((x._data >= 0) & (x._data <= 1)).all():  # NaN is refused too, as in PyTorch
        raise ValueError(f"{what}: input must hold probabilities in [0, 1]; apply sigmoid first, or use "
                         "binary_cross_entropy_with_logits")
    if t.dtype != x.dtype:  # PyTorch refuses a mixed pair here (unlike the with_logits version)
        raise RuntimeError(f"{what}: target dtype {t.dtype} must equal the input dtype {x.dtype}; "
                           f"convert the target with .to(input.dtype)")
    loss = BinaryCrossEntropy.apply(x, t)
    if weight is not None:
        loss = _weighted(loss, weight, what)
    return _reduce(loss, reduction, what)


class BinaryCrossEntropyWithLogits(Op):
    """loss = (1 - t) x + lw softplus(-x), lw = 1 + (pw - 1) t (lw = 1 without pos_weight).

    softplus(-x) = log(1 + e^-x) = max(-x, 0) + log1p(e^-|x|): no exp overflows, and adding
    the log1p term last keeps small losses (x = 30, t = 1 gives 9.4e-14) exact. The gradient
    is the closed form lw sigmoid(x) - pw t (sigmoid(x) - t without pos_weight), so x = 0
    gets 0.5 - t, where a chain through |x| would give -t.
    """

    torch_name = "BinaryCrossEntropyWithLogitsBackward0"
    @staticmethod
    def forward(ctx, x, t, pw):
        log1p_term = np.log1p(np.exp(-np.abs(x)))
        ctx.save_for_backward(x, t, pw)
        if pw is None:
            return (1 - t) * x + np.maximum(-x, 0) + log1p_term
        return (1 - t) * x + (1 + (pw - 1) * t) * (np.maximum(-x, 0) + log1p_term)

    @staticmethod
    def backward(ctx, grad):
        x, t, pw = ctx.saved_tensors
        need_x, need_t, need_pw = ctx.needs_input_grad
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        gx = gt = gpw = None
        if pw is None:
            if need_x:
                gx = grad * (sig - t)
            if need_t:
                gt = grad * -x
        else:
            softplus_neg = np.maximum(-x, 0) + np.log1p(e)
            if need_x:
                gx = grad * ((1 + (pw - 1) * t) * sig - pw * t)
            if need_t:
                gt = grad * ((pw - 1) * softplus_neg - x)
            if need_pw:
                gpw = sum_to_shape(grad * t * softplus_neg, pw.shape, pw.dtype)
        if gx is not None:
            gx = sum_to_shape(gx, x.shape, x.dtype)
        if gt is not None:
            gt = sum_to_shape(gt, t.shape, t.dtype)
        return gx, gt, gpw


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits, computed stably as (1 - t) x + max(-x, 0) + log1p(e^-|x|)."""
    what = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, what)
    x, t = _loss_pair(input, target, what)
    # PyTorch's dtypes: computed in the promoted dtype, the loss comes out in the *target's*
    # dtype (float32 logits with a float64 target give float64, and the reverse float32);
    # an integer target is refused. Each gradient comes back in its own input's dtype.
    if t.dtype.kind != "f":
        raise RuntimeError(f"{what}: target must be a floating point tensor (the loss takes its dtype), "
                           f"got dtype {t.dtype}; convert it with .float()")
    out_dtype = t.dtype
    if t.dtype != x.dtype:
        work = _dtype.promote_types(x.dtype, t.dtype)
        x, t = x.to(work), t.to(work)
    pw = None
    if pos_weight is not None:
        pw = _as_tensor(pos_weight)
        try:
            np.broadcast_shapes(tuple(pw.shape), tuple(x.shape))
        except ValueError:
            raise ValueError(f"{what}: pos_weight shape {tuple(pw.shape)} doesn't broadcast with input "
                             f"shape {tuple(x.shape)} (give one weight per class, shape (C,))") from None
        pw = pw.to(x.dtype) if pw.dtype != x.dtype else pw
    loss = BinaryCrossEntropyWithLogits.apply(x, t, pw)
    if weight is not None:
        loss = _weighted(loss, weight, what)
    if loss.dtype != out_dtype:
        loss = loss.to(out_dtype)
    return _reduce(loss, reduction, what)



# -- more activations and normalisation (GELU, SiLU, ..., layer_norm, normalize) -------------


def _float_act(input: Any, what: str) -> Tensor:
    """Activations below are defined for floating point tensors only, as in PyTorch."""
    x = _check_tensor(input, "input", what)
    if x.dtype.kind != "f":
        raise RuntimeError(f"{what}: not implemented for {_dtype.dtype_name(x.dtype)} tensors "
                           "(only floating point, as in PyTorch); convert with .float()")
    return x


def _maybe_inplace(input: Tensor, out_fn: Any, inplace: bool, what: str) -> Tensor:
    """`inplace=True` writes the result into input (the Tensor's in-place path), else a new tensor."""
    if inplace:
        return input._inplace_result(out_fn, what + "(inplace=True)")
    return out_fn(input)


class Gelu(Op):
    """x * Phi(x) (Phi the standard normal CDF), or its tanh approximation."""

    torch_name = "GeluBackward0"
    _K = math.sqrt(2 / math.pi)

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.tanh = approximate == "tanh"
        if ctx.tanh:
            return (0.5 * x * (1 + np.tanh(Gelu._K * (x + 0.044715 * x ** 3)))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + erf_array(x / math.sqrt(2)))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.tanh:
            t = np.tanh(Gelu._K * (x + 0.044715 * x ** 3))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Gelu._K * (1 + 3 * 0.044715 * x * x)
        else:  # Phi(x) + x phi(x)
            d = 0.5 * (1 + erf_array(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (grad * d).astype(grad.dtype, copy=False), None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; approximate='tanh' uses PyTorch's tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float_act(input, "gelu"), approximate)


def _sigmoid_np(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Silu(Op):
    torch_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid_np(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = _sigmoid_np(x)
        return grad * (s * (1 + x * (1 - s)))  # (x s)' = s + x s (1 - s)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _float_act(input, "silu")
    return _maybe_inplace(x, Silu.apply, inplace, "silu")


class Elu(Op):
    torch_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        with np.errstate(over="ignore"):
            return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # x <= 0 gets alpha e^x (so alpha at 0, as PyTorch); NaN passes the gradient, as PyTorch
        return np.where(x <= 0, grad * ctx.alpha * np.exp(np.minimum(x, 0)), grad).astype(grad.dtype, copy=False), None


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    x = _float_act(input, "elu")
    return _maybe_inplace(x, lambda t: Elu.apply(t, float(alpha)), inplace, "elu")


class Softplus(Op):
    torch_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        # log(1 + e^(bx)) / beta; linear above the threshold, where it equals x to rounding
        soft = np.logaddexp(0, bx) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return np.where(bx > ctx.threshold, grad, grad * _sigmoid_np(bx)).astype(grad.dtype, copy=False), None, None


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    return Softplus.apply(_float_act(input, "softplus"), float(beta), float(threshold))


class Hardtanh(Op):
    torch_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        # the gradient passes strictly inside (lo, hi), as PyTorch's hardtanh
        ctx.save_for_backward((x > lo) & (x < hi))
        return np.clip(x, lo, hi).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    x = _check_tensor(input, "input", "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _maybe_inplace(x, lambda t: Hardtanh.apply(t, min_val, max_val), inplace, "hardtanh")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6)."""
    x = _check_tensor(input, "input", "relu6")
    return _maybe_inplace(x, lambda t: Hardtanh.apply(t, 0, 6), inplace, "relu6")


class Hardswish(Op):
    torch_name = "HardswishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # 0 up to -3, x/3 + 1/2 on (-3, 3), 1 from 3 on (PyTorch's choice at the joins)
        d = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))
        return (grad * d).astype(grad.dtype, copy=False)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    x = _float_act(input, "hardswish")
    return _maybe_inplace(x, Hardswish.apply, inplace, "hardswish")


class Hardsigmoid(Op):
    torch_name = "HardsigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # PyTorch multiplies by 1/6 rounded to float32 (in every dtype); so does this, to give its numbers
        return (grad * ((x > -3) & (x < 3)) * float(np.float32(1 / 6))).astype(grad.dtype, copy=False)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    x = _float_act(input, "hardsigmoid")
    return _maybe_inplace(x, Hardsigmoid.apply, inplace, "hardsigmoid")


class Mish(Op):
    torch_name = "MishBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * np.tanh(np.logaddexp(0, x))).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = np.tanh(np.logaddexp(0, x))
        # (x tanh(sp(x)))' = tanh(sp) + x (1 - tanh^2(sp)) sigmoid(x)
        return (grad * (t + x * (1 - t * t) * _sigmoid_np(x))).astype(grad.dtype, copy=False)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    x = _float_act(input, "mish")
    return _maybe_inplace(x, Mish.apply, inplace, "mish")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """input / max(||input||_p over dim, eps): unit-norm slices along `dim`."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by tinyconv")
    x = _float_act(input, "normalize")
    denom = x.norm(p, dim, keepdim=True).clamp(min=eps)
    return x / denom.expand_as(x)


class LayerNorm(Op):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims."""

    torch_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, n_dims, eps):
        axes = tuple(range(x.ndim - n_dims, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased, as PyTorch
        rstd = 1 / np.sqrt(var + eps)
        xhat = ((x - mean) * rstd).astype(x.dtype, copy=False)
        ctx.axes = axes
        ctx.save_for_backward(xhat, rstd, weight)
        out = xhat
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        xhat, rstd, weight = ctx.saved_tensors
        axes = ctx.axes
        batch = tuple(range(xhat.ndim - len(axes)))
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = gw = gb = None
        if nx:
            gxhat = grad * weight if weight is not None else grad
            # d xhat: project out the mean and the xhat direction, then scale by 1/std
            gx = rstd * (gxhat - gxhat.mean(axis=axes, keepdims=True)
                         - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True))
            gx = gx.astype(xhat.dtype, copy=False)
        if nw:
            gw = (grad * xhat).sum(axis=batch)
        if nb:
            gb = grad.sum(axis=batch)
        return gx, gw, gb, None, None


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last dims `normalized_shape` of input (N, *, normalized_shape)."""
    what = "layer_norm"
    x = _float_act(input, what)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise RuntimeError(f"{what}: input of shape {tuple(x.shape)} does not end in normalized_shape "
                           f"{shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f"{what}: {name} has shape {tuple(p.shape)}, expected normalized_shape {shape}")
        if p is not None and p.dtype != x.dtype:
            raise RuntimeError(f"{what}: {name} has dtype {_dtype.dtype_name(p.dtype)} but input has "
                               f"{_dtype.dtype_name(x.dtype)}")
    return LayerNorm.apply(x, weight, bias, k, float(eps))
