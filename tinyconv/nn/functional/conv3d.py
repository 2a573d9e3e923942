"""conv3d and conv_transpose3d: tinyconv.kernels.conv3d (one 2-D convolution of the depth
slices, through the selected 2-D algorithm) wrapped as Functions, with their argument checks.

Shapes: input (N, C, D, H, W) or unbatched (C, D, H, W); weight (out, in/groups, kD, kH, kW)
for conv3d, (in, out/groups, kD, kH, kW) for conv_transpose3d.
"""

from __future__ import annotations

from typing import Any

from ...autograd.ops import Op
from ...kernels import algorithms as conv_algorithms
from ...kernels import conv3d as conv3d_k
from ...tensor import Tensor
from .conv import _check_conv, _check_conv_transpose, _conv_input_grad, _conv_weight_grad


class Conv3d(Op):
    """y = conv3d(x, w) + b; kernels/conv3d.py derives it as one conv2d. The 2-D kernels are
    those of the selected algorithm (tinyconv.kernels.conv_algorithm); backward runs the same."""

    torch_name = "ConvolutionBackward0"
    next_functions_count = 3  # (input, weight, bias), as PyTorch's node; not the options

    @staticmethod
    def forward(ctx, x, w, b, config):
        # config: (stride, padding, dilation, groups), as conv3d() checked and normalised them
        algo = conv_algorithms.current
        y, cols = conv3d_k.conv3d_forward(x, w, b, *config, algo.conv2d_forward)
        ctx.save_for_backward(x, w)
        ctx.cols = cols  # the 2-D kernel's columns, when it keeps them (else None)
        ctx.config = config
        ctx.algorithm = algo.name
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        algo = conv_algorithms.ALGORITHMS[ctx.algorithm]
        gx, gw, gb = conv3d_k.conv3d_backward(
            grad,
            x,
            w,
            ctx.cols,
            *ctx.config,
            algo.conv2d_backward,
            need_input=need_x,
            need_weight=need_w,
            need_bias=need_b,
        )
        ctx.cols = None
        return gx, gw, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        # create_graph: the same two convolutions as differentiable ops, as Conv2d's
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        stride, pads, dilation, groups = ctx.config
        gx = conv3d_input(x.shape, w, grad, stride, pads, dilation, groups) if need_x else None
        gw = conv3d_weight(x, w.shape, grad, stride, pads, dilation, groups) if need_w else None
        gb = grad.sum((0, 2, 3, 4)) if need_b else None
        return gx, gw, gb, None


class ConvTranspose3d(Op):
    """The transposed convolution: conv3d's grad_input as a forward op (algorithm as Conv3d's)."""

    torch_name = "ConvolutionBackward0"
    next_functions_count = 3

    @staticmethod
    def forward(ctx, x, w, b, config):
        # config: (stride, padding, output_padding, dilation, groups), checked by
        # conv_transpose3d()
        algo = conv_algorithms.current
        ctx.save_for_backward(x, w)
        ctx.config = config
        ctx.algorithm = algo.name
        return conv3d_k.conv_transpose3d_forward(x, w, b, *config, algo.conv_transpose2d_forward)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        algo = conv_algorithms.ALGORITHMS[ctx.algorithm]
        gx, gw, gb = conv3d_k.conv_transpose3d_backward(
            grad,
            x,
            w,
            *ctx.config,
            algo.conv_transpose2d_backward,
            need_input=need_x,
            need_weight=need_w,
            need_bias=need_b,
        )
        return gx, gw, gb, None

    @staticmethod
    def graph_backward(ctx, grad):
        # y = conv3d_input(w, x): its input gradient is conv3d of grad with the same weight, and
        # its weight gradient the weight gradient of that conv3d, with x as its output gradient
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        stride, padding, _, dilation, groups = ctx.config
        gx = gw = gb = None
        if need_x:
            gx = conv3d(grad, w, None, stride, padding, dilation, groups)
            if gx.shape[2:] != x.shape[2:]:  # output_padding >= stride (allowed by dilation)
                gx = gx[:, :, : x.shape[2], : x.shape[3], : x.shape[4]]
        if need_w:
            gw = conv3d_weight(grad, w.shape, x, stride, padding, dilation, groups)
        if need_b:
            gb = grad.sum((0, 2, 3, 4))
        return gx, gw, gb, None


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D cross-correlation, as PyTorch's conv3d.

    input `(N, C, D, H, W)` or `(C, D, H, W)`; weight `(O, C // groups, kD, kH, kW)`; bias
    `(O,)`. Output `(N, O, OD, OH, OW)` with OD = floor((D + 2p - d(kD - 1) - 1) / s) + 1
    (likewise OH, OW); padding may be an int, a triple, 'valid' or 'same'.
    """
    config, unbatched = _check_conv(
        input, weight, bias, stride, padding, dilation, groups, "conv3d", 3
    )
    x = input.unsqueeze(0) if unbatched else input
    y = Conv3d.apply(x, weight, bias, config)
    return y.squeeze(0) if unbatched else y


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """The gradient of conv3d w.r.t. its input, as an op.

    input `(N, C_in, D, H, W)` or `(C_in, D, H, W)`; weight `(C_in, O // groups, kD, kH, kW)`;
    output `(N, O, (D - 1) s - 2p + d (kD - 1) + output_padding + 1, ...)`.
    """
    x, b, config, unbatched = _check_conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation,
        "conv_transpose3d", 3,
    )  # fmt: skip
    y = ConvTranspose3d.apply(x, weight, b, config)
    return y.squeeze(0) if unbatched else y


def conv3d_input(
    input_size: Any,
    weight: Tensor,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv3d with respect to its input, as torch.nn.grad.conv3d_input:
    `conv_transpose3d(grad_output, weight)` cut to `input_size` `(N, C, D, H, W)`.
    Differentiable in weight and grad_output."""
    return _conv_input_grad(
        "conv3d_input", input_size, weight, grad_output, stride, padding, dilation, groups,
        conv_transpose3d, 3,
    )  # fmt: skip


def conv3d_weight(
    input: Tensor,
    weight_size: Any,
    grad_output: Tensor,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """The gradient of conv3d with respect to its weight, as torch.nn.grad.conv3d_weight: a
    conv3d of the input with grad_output as the kernel (see conv2d_weight).
    Differentiable in input and grad_output."""
    return _conv_weight_grad(
        "conv3d_weight", input, weight_size, grad_output, stride, padding, dilation, groups,
        conv3d, 3,
    )  # fmt: skip
