"""conv2d and conv_transpose2d: the kernel-backed ops (tinyconv.kernels.conv / conv_fast)
wrapped as Functions, with their argument checks.

Shapes: input (N, C, H, W) or unbatched (C, H, W); weight (out, in/groups, kH, kW) for
conv2d, (in, out/groups, kH, kW) for conv_transpose2d.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels import algorithms as conv_algorithms
from ...kernels.layout import suggested_order
from ...tensor import Tensor
from ._checks import (
    _batched,
    _check_bias,
    _check_spatial,
    _check_tensor,
    _ntuple,
    _one_node,
    _same_dtype,
    _single,
)
from .padding import pad

# -- convolution ------------------------------------------------------------------------


def _channels_last(a: np.ndarray) -> bool:
    """Does the 4-d array `a` sit in memory channels-last, as PyTorch's suggest_memory_format
    tells (kernels.layout.strides_like_channels_last)?"""
    return a.ndim == 4 and suggested_order(a) is not None


def _output_layout(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y in PyTorch's layout for a CPU convolution's output: channels-last when the input or
    the weight is (a channels-last weight makes a channels-last output from a contiguous
    input), else contiguous. The same values; a copy only when the kernel chose otherwise."""
    want = _channels_last(x) or _channels_last(w)
    if want == _channels_last(y):
        return y
    if want:
        return np.ascontiguousarray(y.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(y)


class Conv2d(Op):
    """y = conv2d(x, w) + b; the math is derived at the top of kernels/conv.py.

    The kernels are those of the selected algorithm (tinyconv.kernels.conv_algorithm:
    "loops", "im2col" or "fast"); the node records its name, and backward runs the same one.
    """

    torch_name = "ConvolutionBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node; not the options

    @staticmethod
    def forward(ctx, x, w, b, config):
        # config: (stride, padding, dilation, groups), as conv2d() checked and normalised them
        algo = conv_algorithms.current
        y, cols = algo.conv2d_forward(x, w, b, *config)
        y = _output_layout(y, x, w)
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
        gx, gw, gb = algo.conv2d_backward(
            grad,
            x,
            w,
            ctx.cols,
            *ctx.config,
            need_input=need_x,
            need_weight=need_w,
            need_bias=need_b,
        )
        ctx.cols = None
        return gx, gw, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        # create_graph: the same two convolutions, as differentiable ops (see conv2d_input)
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        stride, pads, dilation, groups = ctx.config
        gx = conv2d_input(x.shape, w, grad, stride, pads, dilation, groups) if need_x else None
        gw = conv2d_weight(x, w.shape, grad, stride, pads, dilation, groups) if need_w else None
        gb = grad.sum((0, 2, 3)) if need_b else None
        return gx, gw, gb, None


class ConvTranspose2d(Op):
    """The transposed convolution: conv2d's grad_input as a forward op (algorithm as in Conv2d)."""

    torch_name = "ConvolutionBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node; not the options

    @staticmethod
    def forward(ctx, x, w, b, config):
        # config: (stride, padding, output_padding, dilation, groups), checked by conv_transpose2d()
        algo = conv_algorithms.current
        ctx.save_for_backward(x, w)
        ctx.config = config
        ctx.algorithm = algo.name
        return _output_layout(algo.conv_transpose2d_forward(x, w, b, *config), x, w)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        algo = conv_algorithms.ALGORITHMS[ctx.algorithm]
        gx, gw, gb = algo.conv_transpose2d_backward(
            grad, x, w, *ctx.config, need_input=need_x, need_weight=need_w, need_bias=need_b
        )
        return gx, gw, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        # y = conv2d_input(w, x): its input gradient is conv2d of grad with the same weight, and
        # its weight gradient the weight gradient of that conv2d, with x as its output gradient
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        stride, padding, _, dilation, groups = ctx.config
        gx = gw = gb = None
        if need_x:
            gx = conv2d(grad, w, None, stride, padding, dilation, groups)
            if gx.shape[2:] != x.shape[2:]:  # output_padding >= stride (allowed by dilation)
                gx = gx[:, :, : x.shape[2], : x.shape[3]]
        if need_w:
            gw = conv2d_weight(grad, w.shape, x, stride, padding, dilation, groups)
        if need_b:
            gb = grad.sum((0, 2, 3))
        return gx, gw, gb, None


def _conv_operands(
    input: Any, weight: Any, groups: Any, what: str, layout: str, n: int = 2
) -> tuple[Tensor, bool]:
    """The checks the convolutions share: tensors, an (n + 2)-D weight, positive groups."""
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    x, unbatched = _batched(input, what, n)
    if weight.ndim != n + 2:
        kernel = ", ".join("k" + a for a in "DHW"[3 - n :])
        raise TensorValueError(
            f"{what}: weight must be {n + 2}-D ({layout}, {kernel}), got shape "
            f"{tuple(weight.shape)}"
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise TensorValueError(f"{what}: groups must be a positive integer, got {groups!r}")
    return x, unbatched


def _conv_padding(padding: Any, kernel: tuple, dilation: tuple, stride: tuple, what: str) -> tuple:
    """Padding as ((top, bottom), (left, right)) (a pair more in front for 3-D kernels);
    'same' may be asymmetric, as in PyTorch."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if stride != (1,) * n:
                raise TensorValueError(
                    f"{what}: padding='same' needs stride 1, got stride={stride}"
                )
            out = []
            for k, d in zip(kernel, dilation, strict=False):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        kind = "a pair" if n == 2 else "a triple"
        raise TensorValueError(
            f"{what}: padding must be an int, {kind}, 'valid' or 'same', got {padding!r}"
        )
    return tuple((p, p) for p in _ntuple(padding, n, "padding", what, 0))


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
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
    return (
        t is int
        or t is str
        or (t is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int)
    )


def _conv2d_options(
    input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any
) -> tuple:
    """conv2d's checked options `((stride, pads, dilation, groups), unbatched)`; raises on bad
    arguments."""
    key = None
    if (
        isinstance(input, Tensor)
        and isinstance(weight, Tensor)
        and (bias is None or isinstance(bias, Tensor))
        and (type(stride) is int or _plain(stride))  # (ints first: no call for the usual case)
        and (type(padding) is int or _plain(padding))
        and (type(dilation) is int or _plain(dilation))
        and type(groups) is int
    ):
        key = (
            input._data.shape,
            input._data.dtype,
            weight._data.shape,
            weight._data.dtype,
            None if bias is None else (bias._data.shape, bias._data.dtype),
            stride,
            padding,
            dilation,
            groups,
        )
        options = _conv2d_checked.get(key)
        if options is not None:
            return options
    options = _check_conv2d(input, weight, bias, stride, padding, dilation, groups)
    if key is not None and len(_conv2d_checked) < _CHECKED_MAX:
        _conv2d_checked[key] = options
    return options


def _check_conv2d(
    input: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any
) -> tuple:
    """Check conv2d's arguments, with messages naming them; return the normalised options."""
    return _check_conv(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def _check_conv(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    what: str,
    n: int,
) -> tuple:
    """conv2d's (n = 2) or conv3d's (n = 3) checks: `((stride, pads, dilation, groups),
    unbatched)`, pads as (before, after) per spatial axis."""
    x, unbatched = _conv_operands(
        input, weight, groups, what, "out_channels, in_channels/groups", n
    )
    O, Cg = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    C = x.shape[1]
    if min(kernel) < 1 or Cg < 1 or O < 1:
        raise TensorValueError(
            f"{what}: weight shape {tuple(weight.shape)} has a zero size; out_channels, "
            "in_channels/groups and the kernel size must all be at least 1"
        )
    if O % groups:
        raise TensorValueError(
            f"{what}: out_channels ({O}, weight shape {tuple(weight.shape)}) must be "
            f"divisible by groups={groups}"
        )
    if C != Cg * groups:
        raise TensorValueError(
            f"{what}: input has {C} channels but weight expects {Cg * groups} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    b = _check_bias(bias, O, what)
    _same_dtype(x, weight, b, what)
    if x.shape[0]:  # (an empty batch may have an empty side that padding fills, as in PyTorch)
        _check_spatial(input, what, n)
    stride = _ntuple(stride, n, "stride", what, 1)
    dilation = _ntuple(dilation, n, "dilation", what, 1)
    pads = _conv_padding(padding, kernel, dilation, stride, what)
    for size, (p0, p1), k, d, axis in zip(
        x.shape[2:], pads, kernel, dilation, _AXES[n], strict=True
    ):
        if size + p0 + p1 < d * (k - 1) + 1:
            raise TensorValueError(
                f"{what}: kernel {axis} {k} (dilated to {d * (k - 1) + 1}) is larger than the "
                f"padded input {axis} {size + p0 + p1} (input shape {tuple(input.shape)}, "
                f"padding={padding})"
            )
    return (stride, pads, dilation, int(groups)), unbatched


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The gradient of conv2d w.r.t. its input, as an op (a.k.a. "deconvolution").

    input `(N, C_in, H, W)`; weight `(C_in, O // groups, kH, kW)`; output
    `(N, O, (H - 1) s - 2p + d (kH - 1) + output_padding + 1, ...)`.
    """
    x, b, config, unbatched = _check_conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation,
        "conv_transpose2d", 2,
    )  # fmt: skip
    y = ConvTranspose2d.apply(x, weight, b, config)
    return y.squeeze(0) if unbatched else y


def _check_conv_transpose(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
    what: str,
    n: int,
) -> tuple:
    """conv_transpose2d's (n = 2) or conv_transpose3d's (n = 3) checks: `(x batched, bias,
    (stride, padding, output_padding, dilation, groups), unbatched)`."""
    x, unbatched = _conv_operands(
        input, weight, groups, what, "in_channels, out_channels/groups", n
    )
    Cin, Og = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    C = x.shape[1]
    if min(kernel) < 1 or Cin < 1 or Og < 1:
        raise TensorValueError(
            f"{what}: weight shape {tuple(weight.shape)} has a zero size; in_channels, "
            "out_channels/groups and the kernel size must all be at least 1"
        )
    if C != Cin:
        raise TensorValueError(
            f"{what}: input has {C} channels but weight expects {Cin} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    if Cin % groups:
        raise TensorValueError(f"{what}: in_channels ({Cin}) must be divisible by groups={groups}")
    b = _check_bias(bias, Og * groups, what)
    _same_dtype(x, weight, b, what)
    _check_spatial(input, what, n)
    stride = _ntuple(stride, n, "stride", what, 1)
    dilation = _ntuple(dilation, n, "dilation", what, 1)
    pad = _ntuple(padding, n, "padding", what, 0)
    out_pad = _ntuple(output_padding, n, "output_padding", what, 0)
    for op_, s, d in zip(out_pad, stride, dilation, strict=True):
        if op_ >= s and op_ >= d:
            raise TensorValueError(
                f"{what}: output_padding {out_pad} must be smaller than either stride "
                f"{stride} or dilation {dilation}"
            )
    out = [
        (m - 1) * s - 2 * p + d * (k - 1) + op_ + 1
        for m, k, s, p, op_, d in zip(
            x.shape[2:], kernel, stride, pad, out_pad, dilation, strict=True
        )
    ]
    if min(out) < 1:
        raise TensorValueError(
            f"{what}: the output would be empty ({' x '.join(map(str, out))}) for input shape "
            f"{tuple(input.shape)} and padding {pad}"
        )
    return x, b, (stride, pad, out_pad, dilation, int(groups)), unbatched


# -- the convolution's two gradients, as differentiable functions ----------------------------
#
# conv2d's backward is two convolutions: the input gradient is the transposed convolution of
# the output gradient with the same weight, and the weight gradient is the correlation of the
# input with the output gradient. Written here with conv_transpose2d and conv2d themselves
# (Tensor ops with graphs), they are what conv2d's create_graph backward runs, so the gradient
# of a gradient is one more convolution. tinyconv.nn.grad exposes them as torch.nn.grad does.


def _grad_pads(padding: Any, what: str, n: int = 2) -> tuple:
    """padding as ((top, bottom), (left, right)) (n pairs): an int, n ints, or already that
    form (what conv2d's asymmetric padding='same' normalises to)."""
    if (
        isinstance(padding, (tuple, list))
        and len(padding) == n
        and all(isinstance(p, (tuple, list)) for p in padding)
    ):
        pads = tuple(tuple(int(v) for v in p) for p in padding)
        if any(len(p) != 2 or min(p) < 0 for p in pads):
            raise TensorValueError(
                f"{what}: padding must be an int, {n} ints, or {n} (before, after) pairs of "
                f"non-negative ints, got {padding!r}"
            )
        return pads
    return tuple((p, p) for p in _ntuple(padding, n, "padding", what, 0))


def _grad_checks(
    t: Any, name: str, weight_shape: tuple, grad_output: Any, groups: Any, what: str, n: int = 2
) -> None:
    _check_tensor(t, name, what)
    _check_tensor(grad_output, "grad_output", what)
    if t.ndim != n + 2 or grad_output.ndim != n + 2 or len(weight_shape) != n + 2:
        raise TensorValueError(
            f"{what}: {name}, grad_output and the weight must be {n + 2}-D, got shapes "
            f"{tuple(t.shape)}, {tuple(grad_output.shape)} and {tuple(weight_shape)}"
        )
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise TensorValueError(f"{what}: groups must be a positive integer, got {groups!r}")
    if grad_output.shape[1] != weight_shape[0]:
        raise TensorValueError(
            f"{what}: grad_output has {grad_output.shape[1]} channels but the weight "
            f"{tuple(weight_shape)} has {weight_shape[0]} output channels"
        )


def _expected_out(size: int, pads: tuple, k: int, s: int, d: int) -> int:
    return (size + pads[0] + pads[1] - d * (k - 1) - 1) // s + 1


_AXES = {2: ("height", "width"), 3: ("depth", "height", "width")}


def conv2d_input(
    input_size: Any,
    weight: Tensor,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv2d with respect to its input, as torch.nn.grad.conv2d_input:
    `conv_transpose2d(grad_output, weight)` with the output_padding that gives `input_size`.

    input_size `(N, C, H, W)`; weight `(O, C // groups, kH, kW)`; grad_output `(N, O, OH, OW)`.
    Differentiable in weight and grad_output.
    """
    return _conv_input_grad(
        "conv2d_input", input_size, weight, grad_output, stride, padding, dilation, groups,
        conv_transpose2d, 2,
    )  # fmt: skip


def _conv_input_grad(
    what: str,
    input_size: Any,
    weight: Any,
    grad_output: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    conv_transpose: Any,
    n: int,
) -> Tensor:
    """conv{n}d_input: the transposed convolution (``conv_transpose``, conv_transpose2d or
    conv_transpose3d) of grad_output, cut or extended to ``input_size``."""
    size = tuple(int(v) for v in input_size)
    if len(size) != n + 2:
        dims = ", ".join("DHW"[3 - n :])
        raise TensorValueError(f"{what}: input_size must be (N, C, {dims}), got {input_size!r}")
    _check_tensor(weight, "weight", what)
    _grad_checks(weight, "weight", tuple(weight.shape), grad_output, groups, what, n)
    stride = _ntuple(stride, n, "stride", what, 1)
    dilation = _ntuple(dilation, n, "dilation", what, 1)
    pads = _grad_pads(padding, what, n)
    kernel = tuple(weight.shape[2:])
    for m, p, k, s, d, o, axis in zip(
        size[2:], pads, kernel, stride, dilation, grad_output.shape[2:], _AXES[n], strict=True
    ):
        if _expected_out(m, p, k, s, d) != o:
            raise TensorValueError(
                f"{what}: an input {axis} of {m} gives a conv{n}d output {axis} of "
                f"{_expected_out(m, p, k, s, d)}, but grad_output has {o} "
                f"(grad_output shape {tuple(grad_output.shape)})"
            )
    if size[1] != weight.shape[1] * groups or size[0] != grad_output.shape[0]:
        raise TensorValueError(
            f"{what}: input_size {size} does not fit weight {tuple(weight.shape)} with "
            f"groups={groups} and grad_output {tuple(grad_output.shape)}"
        )
    # the transposed convolution's full output spans (OH - 1) s + d (kH - 1) + 1 rows of the
    # padded input; the convolution read rows top .. top + H of it, so those are the gradient
    full = [
        (o - 1) * s + d * (k - 1) + 1
        for o, s, d, k in zip(grad_output.shape[2:], stride, dilation, kernel, strict=True)
    ]
    if all(p[0] == p[1] for p in pads):
        # symmetric: the transposed convolution crops the padding; output_padding adds the rows
        # past the last window that the floor division left unread (their gradient is zero)
        p = tuple(q[0] for q in pads)
        out_pad = tuple(m + 2 * pi - f for m, pi, f in zip(size[2:], p, full, strict=True))
        return conv_transpose(grad_output, weight, None, stride, p, out_pad, groups, dilation)
    # asymmetric ('same' with an even kernel): the whole transposed output, then its window
    out_pad = tuple(max(0, p[0] + m - f) for p, m, f in zip(pads, size[2:], full, strict=True))
    g = conv_transpose(grad_output, weight, None, stride, 0, out_pad, groups, dilation)
    window = tuple(slice(p[0], p[0] + m) for p, m in zip(pads, size[2:], strict=True))
    return g[(slice(None), slice(None), *window)]


def conv2d_weight(
    input: Tensor,
    weight_size: Any,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv2d with respect to its weight, as torch.nn.grad.conv2d_weight:
    the correlation of the (padded) input with grad_output, itself a conv2d.

    input `(N, C, H, W)`; weight_size `(O, C // groups, kH, kW)`; grad_output `(N, O, OH, OW)`.
    Differentiable in input and grad_output.

    grad_w[o, c, i, j] = sum over n, p, q of x_pad[n, c, s p + d i, s q + d j] g[n, o, p, q]:
    a convolution over (p, q) of the input, with grad_output as the kernel, the roles of
    stride and dilation swapped, and the batch as the channels summed over.
    """
    return _conv_weight_grad(
        "conv2d_weight", input, weight_size, grad_output, stride, padding, dilation, groups,
        conv2d, 2,
    )  # fmt: skip


def _conv_weight_grad(
    what: str,
    input: Any,
    weight_size: Any,
    grad_output: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
    conv: Any,
    n: int,
) -> Tensor:
    """conv{n}d_weight: a convolution (``conv``, conv2d or conv3d) of the input with
    grad_output as its kernel (see conv2d_weight)."""
    wsize = tuple(int(v) for v in weight_size)
    _grad_checks(input, "input", wsize, grad_output, groups, what, n)
    stride = _ntuple(stride, n, "stride", what, 1)
    dilation = _ntuple(dilation, n, "dilation", what, 1)
    pads = _grad_pads(padding, what, n)
    N, C = input.shape[:2]
    O, Cg = wsize[:2]
    kernel = wsize[2:]
    G = int(groups)
    if C != Cg * G or O % G or grad_output.shape[0] != N:
        raise TensorValueError(
            f"{what}: input {tuple(input.shape)}, weight_size {wsize} (groups={G}) and "
            f"grad_output {tuple(grad_output.shape)} do not fit together"
        )
    for m, p, k, s, d, o, axis in zip(
        input.shape[2:], pads, kernel, stride, dilation, grad_output.shape[2:], _AXES[n],
        strict=True,
    ):  # fmt: skip
        if _expected_out(m, p, k, s, d) < o or o < 1:
            raise TensorValueError(
                f"{what}: grad_output {axis} {o} does not fit a conv{n}d of input {axis} {m} "
                f"(kernel {k}, stride {s}, padding {p}, dilation {d})"
            )
    if N == 0:  # an empty batch: the sum over no samples is zero (still in the graph)
        total = input.sum() + grad_output.sum()
        return total.reshape((1,) * (n + 2)).expand(*wsize) * 0
    # F.pad takes the last axis's pair first
    flat = tuple(v for p in reversed(pads) for v in p)
    x = pad(input, flat) if any(flat) else input
    padded = tuple(x.shape[2:])
    # channels of group k and sample n become channel k N + n of a (Cg, G N, ...) input ...
    x = x.reshape(N, G, Cg, *padded).permute(2, 1, 0, *range(3, n + 3))
    x = x.reshape(Cg, G * N, *padded)
    # ... and grad_output (N, O, ...) the weight (O, N, ...) of a G-group convolution
    g = grad_output.transpose(0, 1)
    gw = conv(x, g, None, stride=dilation, padding=0, dilation=stride, groups=G)
    # (Cg, O, kH', kW'): kH' > kH when the last window left rows unread; those are not taps
    gw = gw.transpose(0, 1)
    if tuple(gw.shape[2:]) == kernel:
        return gw
    return gw[(slice(None), slice(None), *(slice(0, k) for k in kernel))]


# -- 1-D convolutions: the 2-D ones on a height-1 image ------------------------------------
#
# A 1-D convolution of (N, C, L) input is the 2-D one of (N, C, 1, L) with a (kh=1, kw) kernel:
# one convolution in the code (its kernels, checks, backward and double backward), reached
# through an unsqueeze and a squeeze.


def _conv1d_operands(input: Any, weight: Any, what: str, layout: str) -> None:
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    if input.ndim not in (2, 3):
        raise TensorValueError(
            f"{what}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {tuple(input.shape)}"
        )
    if weight.ndim != 3:
        raise TensorValueError(
            f"{what}: weight must be 3-D ({layout}, kW), got {tuple(weight.shape)}"
        )


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation: input `(N, C, L)` or `(C, L)`, weight `(O, C // groups, k)`,
    output `(N, O, floor((L + 2p - d(k - 1) - 1) / s) + 1)`; padding may be 'same' or 'valid'."""
    what = "conv1d"
    _conv1d_operands(input, weight, what, "out_channels, in_channels/groups")
    s = _single(stride, "stride", what, 1)
    d = _single(dilation, "dilation", what, 1)
    p = padding if isinstance(padding, str) else (0, _single(padding, "padding", what, 0))
    C, L = input.shape[-2], input.shape[-1]
    if C != weight.shape[1] * groups:
        raise TensorValueError(
            f"{what}: input has {C} channels but weight expects {weight.shape[1] * groups} "
            f"(weight shape {tuple(weight.shape)}, groups={groups})"
        )
    pad = 0 if isinstance(padding, str) else p[1]
    k = weight.shape[2]
    if padding != "same" and L + 2 * pad < d * (k - 1) + 1:
        raise TensorValueError(
            f"{what}: kernel size {k} (dilated to {d * (k - 1) + 1}) is larger than the padded "
            f"input length {L + 2 * pad} (input shape {tuple(input.shape)}, padding={padding})"
        )
    y = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups)
    # (batched: PyTorch's one ConvolutionBackward0; unbatched: its squeeze of that, as here)
    return _conv1d_out(y, input, weight, bias)


def _conv1d_out(y: Tensor, input: Tensor, weight: Tensor, bias: Any) -> Tensor:
    """A 1-d convolution's `(N, O, L)` output from its 2-d one `y` `(N, O, 1, L)`: batched,
    PyTorch's one ConvolutionBackward0, and not a view (an in-place op on it records its own
    node, not a CopySlices into the hidden `y`); unbatched, its squeeze of that, a view."""
    if input.ndim != 3:
        return y.squeeze(-2)
    out = _one_node(y.squeeze(-2), y, input, weight, bias)
    out._view_of = None
    return out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The gradient of conv1d w.r.t. its input, as an op: input `(N, C_in, L)` or `(C_in, L)`,
    weight `(C_in, O // groups, k)`, output length `(L - 1) s - 2p + d (k - 1) + output_padding
    + 1`."""
    what = "conv_transpose1d"
    _conv1d_operands(input, weight, what, "in_channels, out_channels/groups")
    s = _single(stride, "stride", what, 1)
    d = _single(dilation, "dilation", what, 1)
    p = _single(padding, "padding", what, 0)
    op = _single(output_padding, "output_padding", what, 0)
    y = conv_transpose2d(
        input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, s), (0, p), (0, op), groups, (1, d)
    )
    return _conv1d_out(y, input, weight, bias)


def conv1d_input(
    input_size: Any,
    weight: Tensor,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv1d with respect to its input, as torch.nn.grad.conv1d_input:
    conv2d_input on a height-1 image. input_size `(N, C, L)`; weight `(O, C // groups, k)`;
    grad_output `(N, O, OL)`."""
    what = "conv1d_input"
    size = tuple(int(v) for v in input_size)
    if len(size) != 3:
        raise TensorValueError(f"{what}: input_size must be (N, C, L), got {input_size!r}")
    _conv1d_operands(grad_output, weight, what, "out_channels, in_channels/groups")
    s = _single(stride, "stride", what, 1)
    d = _single(dilation, "dilation", what, 1)
    p = _single(padding, "padding", what, 0)
    g = conv2d_input(
        (*size[:2], 1, size[2]), weight.unsqueeze(2), grad_output.unsqueeze(2),
        (1, s), (0, p), (1, d), groups,
    )  # fmt: skip
    return g.squeeze(2)


def conv1d_weight(
    input: Tensor,
    weight_size: Any,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv1d with respect to its weight, as torch.nn.grad.conv1d_weight:
    conv2d_weight on a height-1 image. input `(N, C, L)`; weight_size `(O, C // groups, k)`;
    grad_output `(N, O, OL)`."""
    what = "conv1d_weight"
    wsize = tuple(int(v) for v in weight_size)
    if len(wsize) != 3:
        raise TensorValueError(
            f"{what}: weight_size must be (out_channels, in_channels/groups, kW), "
            f"got {weight_size!r}"
        )
    _conv1d_operands(input, grad_output, what, "N, out_channels")
    s = _single(stride, "stride", what, 1)
    d = _single(dilation, "dilation", what, 1)
    p = _single(padding, "padding", what, 0)
    g = conv2d_weight(
        input.unsqueeze(2), (*wsize[:2], 1, wsize[2]), grad_output.unsqueeze(2),
        (1, s), (0, p), (1, d), groups,
    )  # fmt: skip
    return g.squeeze(2)
