"""unfold and fold: the convolution's im2col and col2im (tinyconv/kernels/conv.py), as ops.

unfold copies every (strided, dilated) kh x kw window of a padded `(N, C, H, W)` input into a
column: `(N, C * kh * kw, L)`, L the number of windows, rows ordered (channel, kernel row,
kernel column), as PyTorch. A convolution is then one matrix product with the weight as a
`(O, C * kh * kw)` matrix (docs/conv_backprop.md shows it). fold is the adjoint: it adds each
column entry back onto the pixel it came from (overlapping windows add up) and crops the
padding. Each is the other's backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import _dtype
from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels import conv as conv_k
from ...tensor import Tensor
from ._checks import _check_tensor, _pair


def _unfold_array(x: np.ndarray, config: tuple, out_size: tuple) -> np.ndarray:
    """im2col of `x (N, C, H, W)` padded, or of unbatched `(C, H, W)` (then `(C*kh*kw, L)`)."""
    kernel, dilation, (ph, pw), stride = config
    x4 = x[None] if x.ndim == 3 else x
    x_pad = conv_k.pad_input(x4, ((ph, ph), (pw, pw)))
    cols = conv_k.im2col(x_pad, kernel, out_size, stride, dilation)
    if not cols.flags.writeable or np.may_share_memory(cols, x):
        # (a 1x1 kernel's columns can be a read-only view of x itself: the op's output is
        # a tensor of its own, writable, as PyTorch's)
        cols = cols.copy()
    return cols[0] if x.ndim == 3 else cols


def _fold_array(cols: np.ndarray, shape: tuple, config: tuple, out_size: tuple) -> np.ndarray:
    """col2im onto the padded image `shape (N, C, H, W)` (or unbatched `(C, H, W)`, from 2-D
    columns), then the padding cropped off."""
    kernel, dilation, (ph, pw), stride = config
    shape4 = (1,) + tuple(shape) if len(shape) == 3 else tuple(shape)
    N, C, H, W = shape4
    cols3 = cols[None] if cols.ndim == 2 else cols
    pad_shape = (N, C, H + 2 * ph, W + 2 * pw)
    out = conv_k.col2im(cols3, pad_shape, kernel, out_size, stride, dilation)
    out = np.ascontiguousarray(out[:, :, ph : ph + H, pw : pw + W])
    return out[0] if len(shape) == 3 else out


class Unfold(Op):
    """im2col: `(N, C, H, W) -> (N, C * kh * kw, L)` (or unbatched `(C, H, W) -> (C * kh * kw,
    L)`); backward is fold (col2im)."""

    torch_name = "Im2ColBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, config, out_size):
        ctx.shape, ctx.config, ctx.out_size = x.shape, config, out_size
        return _unfold_array(x, config, out_size)

    @staticmethod
    def backward(ctx, grad):
        # each column entry was a copy of one pixel: its gradient goes back onto that pixel
        return _fold_array(grad, ctx.shape, ctx.config, ctx.out_size), None, None

    @staticmethod
    def graph_backward(ctx, grad):
        # unfold is linear, so its backward is fold, itself an op (whose backward is unfold)
        return Fold.apply(grad, ctx.shape, ctx.config, ctx.out_size), None, None


class Fold(Op):
    """col2im: `(N, C * kh * kw, L) -> (N, C, H, W)`; backward is unfold (im2col)."""

    torch_name = "Col2ImBackward0"
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, cols, shape, config, out_size):
        ctx.config, ctx.out_size = config, out_size
        return _fold_array(cols, shape, config, out_size)

    @staticmethod
    def backward(ctx, grad):
        # output pixel (h, w) is the sum of the column entries copied from it: each gets its
        # gradient, which is exactly what im2col of the gradient reads
        return _unfold_array(grad, ctx.config, ctx.out_size), None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        return Unfold.apply(grad, ctx.config, ctx.out_size), None, None, None


def _fold_options(
    kernel_size: Any, dilation: Any, padding: Any, stride: Any, spatial: tuple, what: str
) -> tuple[tuple, tuple]:
    """`(config (kernel, dilation, padding, stride), (OH, OW) windows per axis)`, checked."""
    k = _pair(kernel_size, "kernel_size", what, 1)
    d = _pair(dilation, "dilation", what, 1)
    p = _pair(padding, "padding", what, 0)
    s = _pair(stride, "stride", what, 1)
    out = conv_k.conv2d_output_size(*spatial, k, s, ((p[0], p[0]), (p[1], p[1])), d)
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(
            f"{what}: spatial size {tuple(spatial)} with kernel_size={k}, dilation={d}, "
            f"padding={p}, stride={s} gives {out[0]} x {out[1]} sliding windows; there must be "
            "at least one along each axis"
        )
    return (k, d, p, s), out


def _float_input(input: Any, what: str) -> Tensor:
    x = _check_tensor(input, "input", what)
    if x.dtype.kind != "f":
        raise TypeError(
            f"{what}: input must be a floating point tensor, got {_dtype.dtype_name(x.dtype)}"
        )
    return x


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """The sliding windows of `(N, C, H, W)` (or `(C, H, W)`) input as columns:
    `(N, C * kh * kw, L)` (or `(C * kh * kw, L)`), L = OH * OW windows, as a conv2d sees them."""
    what = "unfold"
    x = _float_input(input, what)
    if x.ndim not in (3, 4):
        raise TensorValueError(
            f"{what}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got shape {tuple(x.shape)}"
        )
    config, out = _fold_options(kernel_size, dilation, padding, stride, x.shape[-2:], what)
    return Unfold.apply(x, config, out)  # (an unbatched input stays one node, as PyTorch)


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """Columns `(N, C * kh * kw, L)` (or `(C * kh * kw, L)`) summed back into an image
    `(N, C, *output_size)`: each entry added onto the pixel unfold would have read it from."""
    what = "fold"
    x = _float_input(input, what)
    if x.ndim not in (2, 3):
        raise TensorValueError(
            f"{what}: input must be 2-D (C * kh * kw, L) or 3-D (N, C * kh * kw, L), got "
            f"shape {tuple(x.shape)}"
        )
    unbatched = x.ndim == 2
    size = _pair(output_size, "output_size", what, 1)
    config, out = _fold_options(kernel_size, dilation, padding, stride, size, what)
    kh, kw = config[0]
    CK, L = x.shape[-2:]
    if CK % (kh * kw):
        raise RuntimeError(
            f"{what}: input's dim {0 if unbatched else 1} ({CK}, shape {tuple(x.shape)}) must be "
            f"divisible by the kernel's kh * kw = {kh * kw} (kernel_size={(kh, kw)})"
        )
    if L != out[0] * out[1]:
        raise RuntimeError(
            f"{what}: output_size={size}, kernel_size={(kh, kw)}, dilation={config[1]}, "
            f"padding={config[2]}, stride={config[3]} give {out[0]} * {out[1]} = "
            f"{out[0] * out[1]} sliding windows, but input's last dim (shape {tuple(x.shape)}) "
            f"is {L}"
        )
    shape = (CK // (kh * kw),) + size if unbatched else (x.shape[0], CK // (kh * kw)) + size
    return Fold.apply(x, shape, config, out)
