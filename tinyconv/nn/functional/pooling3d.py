"""Max, average and adaptive pooling over (N, C, D, H, W) or (C, D, H, W) inputs
(kernels/pool3d.py: each a pair of 2-D pools), with pooling.py's checks in three dims."""

from __future__ import annotations

from typing import Any

from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels import pool as pool_k
from ...kernels import pool3d as pool3d_k
from ...tensor import Tensor
from ._checks import _unbatch
from ._linear import linear_graph_backward
from .pooling import (
    _adaptive_args,
    _check_adaptive_grad,
    _float_input,
    _gather_argmax,
    _lp_pool,
    _pool_args,
    _refuse_empty_window_grad,
    _with_indices,
)


def _volume(shape: tuple) -> tuple:
    """``(N, C, D, H, W)`` -> ``(N, C, D, H*W)``: argmax indices ``d*H*W + h*W + w`` address
    the D*H*W volume as the 2-D helpers address an H*W plane."""
    N, C, D, H, W = shape
    return (N, C, D, H * W)


class MaxPool3d(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "MaxPool3DWithIndicesBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, config, indices_out):
        # config: (kernel_size, stride, padding, dilation, ceil_mode), checked by max_pool3d();
        # indices_out: a list to receive the argmax positions (return_indices=True), or None
        kernel_size, stride, padding, dilation, _ = config
        y, indices = pool3d_k.max_pool3d_forward(x, *config)
        ctx.indices, ctx.shape = indices, x.shape
        ctx.save_for_backward(x)  # (as PyTorch's node)
        ctx.disjoint = pool_k.max_pool2d_windows_disjoint(kernel_size, stride, dilation)
        ctx.empty = pool3d_k.max_pool3d_empty_windows(
            x.shape[2:], y.shape[2:], kernel_size, stride, padding, dilation
        )
        if indices_out is not None:
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        _refuse_empty_window_grad(grad, ctx.empty, "max_pool3d")
        # each window's gradient goes to the element that won the max
        gx = pool3d_k.max_pool3d_backward(
            grad, ctx.indices, ctx.shape, disjoint=ctx.disjoint, empty=ctx.empty
        )
        return gx, None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        # with the argmax fixed, max pooling picks one element per window: a gather
        return _gather_argmax(t, ctx.indices, _volume(ctx.shape), ctx.empty)


class AvgPool3d(Op):
    torch_saves = True  # (PyTorch's node saves tensors: see Function.torch_saves)
    torch_name = "AvgPool3DBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, x, config):
        # config: (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.shape, ctx.config = x.shape, config
        ctx.save_for_backward(x)  # (as PyTorch's node)
        return pool3d_k.avg_pool3d_forward(x, *config)

    @staticmethod
    def backward(ctx, grad):
        return pool3d_k.avg_pool3d_backward(grad, ctx.shape, *ctx.config), None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return AvgPool3d.apply(t, ctx.config)


class AdaptiveAvgPool3d(Op):
    torch_name = "AdaptiveAvgPool3DBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, x, output_size, unbatched):
        ctx.shape, ctx.unbatched, ctx.output_size = x.shape, unbatched, output_size
        if tuple(output_size) == (1, 1, 1):  # PyTorch takes a mean over D, H and W then
            ctx.torch_name = "MeanBackward1"
        else:
            ctx.save_for_backward(x)  # as PyTorch's node: an in-place change raises
        return pool3d_k.adaptive_avg_pool3d_forward(x, output_size)

    @staticmethod
    def backward(ctx, grad):
        _check_adaptive_grad(grad, ctx.unbatched, "adaptive_avg_pool3d")
        return pool3d_k.adaptive_avg_pool3d_backward(grad, ctx.shape), None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return AdaptiveAvgPool3d.apply(t, ctx.output_size, ctx.unbatched)


class AdaptiveMaxPool3d(Op):
    torch_name = "AdaptiveMaxPool3DBackward0"
    next_functions_count = 1

    @staticmethod
    def forward(ctx, x, output_size, indices_out, unbatched):
        y, indices = pool3d_k.adaptive_max_pool3d_forward(x, output_size)
        ctx.indices, ctx.shape, ctx.unbatched = indices, x.shape, unbatched
        ctx.save_for_backward(x)  # (as PyTorch's node)
        if indices_out is not None:
            indices_out.append(indices)
        return y

    @staticmethod
    def backward(ctx, grad):
        _check_adaptive_grad(grad, ctx.unbatched, "adaptive_max_pool3d")
        # windows may overlap: the gradients of windows sharing an argmax add up
        return pool3d_k.max_pool3d_backward(grad, ctx.indices, ctx.shape), None, None, None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        return _gather_argmax(t, ctx.indices, _volume(ctx.shape), None)


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over each window; `(N, C, D, H, W) -> (N, C, OD, OH, OW)` (or unbatched). Indices
    (return_indices=True) are `d*H*W + h*W + w` into each (n, c) volume, as PyTorch's."""
    x, unbatched, k, s, p, d = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d", 3
    )
    sink: list | None = [] if return_indices else None
    y = MaxPool3d.apply(x, (k, s, p, d, bool(ceil_mode)), sink)
    return _with_indices(y, sink, unbatched, input)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple:
    """max_pool3d's (values, indices), whatever return_indices says (as PyTorch)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window; `(N, C, D, H, W) -> (N, C, OD, OH, OW)` (or unbatched)."""
    what = "avg_pool3d"
    x, unbatched, k, s, p, _ = _pool_args(
        input, kernel_size, stride, padding, 1, ceil_mode, what, 3
    )
    _float_input(x, what)
    if any(n < ki for n, ki in zip(x.shape[2:], k, strict=True)):
        # PyTorch's avg_pool3d (not its avg_pool2d) wants the kernel inside the unpadded input
        raise TensorValueError(
            f"{what}: the input's (D, H, W) = {tuple(x.shape[2:])} is smaller than kernel_size "
            f"{k} (avg_pool3d needs each side to hold the kernel without the padding)"
        )
    if divisor_override is not None and divisor_override <= 0:
        raise TensorValueError(f"{what}: divisor_override must be positive, got {divisor_override}")
    y = AvgPool3d.apply(x, (k, s, p, bool(ceil_mode), bool(count_include_pad), divisor_override))
    return _unbatch(y, unbatched, input)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average-pool to a fixed `output_size` `(OD, OH, OW)` (an int, a triple, None keeps a
    size); windows per axis as adaptive_avg_pool2d's."""
    what = "adaptive_avg_pool3d"
    x, unbatched, size = _adaptive_args(input, output_size, what, 3)
    _float_input(x, what)
    y = AdaptiveAvgPool3d.apply(x, size, unbatched)
    return _unbatch(y, unbatched, input)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max-pool to a fixed `output_size` `(OD, OH, OW)` (and the int64 indices
    `d*H*W + h*W + w` with return_indices=True)."""
    what = "adaptive_max_pool3d"
    x, unbatched, size = _adaptive_args(input, output_size, what, 3)
    _float_input(x, what)
    sink: list | None = [] if return_indices else None
    y = AdaptiveMaxPool3d.apply(x, size, sink, unbatched)
    return _with_indices(y, sink, unbatched, input)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple:
    """adaptive_max_pool3d's (values, indices), whatever return_indices says (as PyTorch)."""
    return adaptive_max_pool3d(input, output_size, True)


def lp_pool3d(
    input: Tensor, norm_type: Any, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling of `(N, C, D, H, W)` or `(C, D, H, W)` input: (sum of x^p)^(1/p)
    per window."""
    return _lp_pool(
        input, norm_type, kernel_size, stride, ceil_mode, avg_pool3d, max_pool3d, "lp_pool3d"
    )
