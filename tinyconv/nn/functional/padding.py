"""F.pad: constant, reflect, replicate and circular padding (kernels/pad.py) as a Function."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import _dtype
from ..._errors import TensorValueError
from ...autograd.ops import Op
from ...kernels import pad as pad_k
from ...kernels.layout import like_suggested, suggested_order
from ...tensor import Tensor
from ._checks import _check_tensor
from ._linear import linear_graph_backward

# -- padding ----------------------------------------------------------------------------


# PyTorch's node per (mode, number of padded dims); circular padding is a CopySlices there
_PAD_NAMES = {
    ("reflect", 1): "ReflectionPad1DBackward0",
    ("reflect", 2): "ReflectionPad2DBackward0",
    ("reflect", 3): "ReflectionPad3DBackward0",
    ("replicate", 1): "ReplicationPad1DBackward0",
    ("replicate", 2): "ReplicationPad2DBackward0",
    ("replicate", 3): "ReplicationPad3DBackward0",
    ("circular", 1): "CopySlices",
    ("circular", 2): "CopySlices",
    ("circular", 3): "CopySlices",
}


class Pad(Op):
    next_functions_count = 1  # PyTorch's node has an edge for the input only

    @staticmethod
    def forward(ctx, x, config):
        # config: (pads, mode, value), checked by pad()
        pads, mode, value = config
        ctx.shape, ctx.pads, ctx.mode = x.shape, pads, mode
        ctx.torch_name = _PAD_NAMES.get((mode, len(pads) // 2), "ConstantPadNdBackward0")
        if mode in ("reflect", "replicate"):
            ctx.save_for_backward(x)  # (PyTorch's reflection/replication nodes save their input)
        if not pads:  # an empty pad copies (np.pad and ascontiguousarray would not keep 0-d)
            return x.copy()
        y = pad_k.pad_forward(x, pads, mode, value)
        # PyTorch's layout: channels-last in, channels-last out (but circular padding, which
        # PyTorch builds from slices into a contiguous tensor); else contiguous
        if mode != "circular" and suggested_order(x) is not None:
            return like_suggested(y, x)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, grad):
        # Constant padding: crop. Reflect/replicate/circular: each copied border
        # element sends its gradient back to the element it was copied from.
        return pad_k.pad_backward(grad, ctx.shape, ctx.pads, ctx.mode), None

    graph_backward = staticmethod(linear_graph_backward)

    @staticmethod
    def linear_apply(ctx, t):
        # the padding with value 0: a constant fill is the affine part, not the linear one
        return Pad.apply(t, (ctx.pads, ctx.mode, 0.0))


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """Pad the last dims: `pad = (left, right, top, bottom, ...)`, last dim first. `value`
    (constant mode only; None means 0) fills the padding."""
    what = "pad"
    _check_tensor(input, "input", what)
    # (an empty pad is allowed: constant mode then copies the input, as PyTorch's)
    if not isinstance(pad, (tuple, list)) or len(pad) % 2:
        raise TensorValueError(
            f"{what}: pad must be a tuple of even length (left, right, top, bottom, ...), got "
            f"{pad!r}"
        )
    if any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) for p in pad):
        raise TypeError(f"{what}: pad entries must be integers, got {pad!r}")
    if len(pad) // 2 > input.ndim:
        raise TensorValueError(
            f"{what}: pad {tuple(pad)} covers {len(pad) // 2} dims but the input has "
            f"shape {tuple(input.shape)}"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise TensorValueError(
            f"{what}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if mode != "constant" and value:  # (0 and None are allowed: they are the default)
        raise TensorValueError(f'{what}: Padding mode "{mode}" doesn\'t take in value argument')
    if value is None:
        value = 0.0
    elif mode == "constant" and not isinstance(value, Tensor):
        # stored into the input's dtype, checked as PyTorch checks it (RuntimeError): no
        # integer outside the dtype's range (-1 for uint8 included), no float beyond it
        dt = input._data.dtype
        if dt.kind == "u" and isinstance(value, (int, float, np.number)) and value < 0:
            raise _dtype._overflow(value, dt, what)
        value = _dtype.fit_number(value, dt, what, int_to_float=True)
    k = len(pad) // 2
    if mode != "constant" and not (1 <= k <= 3 and input.ndim in (k + 1, k + 2)):
        # (PyTorch's rule: a non-constant pad covers the last 1-3 dims of an input with one
        # or two more, batch and channels)
        raise NotImplementedError(
            f"{what}: Padding size {len(pad)} is not supported for {input.ndim}D input tensor "
            f"in {mode} mode (it pads the last 1, 2 or 3 dims of an input with one or two dims "
            "more: (C, ...) or (N, C, ...))"
        )
    shape = input.shape
    for i in range(len(pad) // 2):
        n = shape[-1 - i]
        lo, hi = pad[2 * i], pad[2 * i + 1]
        dim = input.ndim - 1 - i
        # constant and circular padding crop first (PyTorch's narrow): the crops must fit
        crops = max(-lo, 0) + max(-hi, 0) if mode in ("constant", "circular") else -(lo + hi)
        if crops > n:
            raise TensorValueError(
                f"{what}: padding {tuple(pad)} crops more than the input size {n}"
            )
        if mode == "reflect" and (lo >= n or hi >= n):
            raise TensorValueError(
                f"{what}: reflect padding {(lo, hi)} must be smaller than the input size {n} "
                f"of dim {dim} (input shape {tuple(shape)})"
            )
        if mode == "replicate" and n == 0 and (lo or hi):
            raise TensorValueError(f"{what}: can't replicate-pad an empty dimension")
        if mode in ("reflect", "replicate") and (lo < 0 or hi < 0) and n + lo + hi == 0:
            # (PyTorch's reflection / replication kernels need a non-empty output)
            raise TensorValueError(
                f"{what}: input (size {n} of dim {dim}) is too small: padding {(lo, hi)} "
                "leaves an output size of 0"
            )
        if mode == "circular":
            # negative widths crop first; the positive ones wrap around what is left, once
            left_over = n - max(-lo, 0) - max(-hi, 0)
            if max(lo, 0) > left_over or max(hi, 0) > left_over:
                raise TensorValueError(
                    f"{what}: circular padding {(lo, hi)} must be at most the input size "
                    f"{left_over} of dim {dim} after cropping (input shape {tuple(shape)}): "
                    "padding value causes wrapping around more than once"
                )
    return Pad.apply(input, (tuple(int(p) for p in pad), mode, value))
