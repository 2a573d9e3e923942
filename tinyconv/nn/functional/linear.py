"""linear (x @ W.T + b, one Addmm-like node), flatten and one_hot."""

from __future__ import annotations

import math

import numpy as np

from ..._errors import TensorTypeError, TensorValueError
from ...autograd.function import ShownNode
from ...autograd.ops import Op
from ...kernels import threads
from ...kernels.opmath import opmath
from ...kernels.scatter import wide_sum
from ...tensor import Tensor
from ._checks import _check_bias, _check_tensor, _same_dtype

# -- linear, dropout, flatten --------------------------------------------------------------


def _folded(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``x (*, K) @ m (K, P)`` -> ``(*, P)`` as one 2-D GEMM over all of x's rows, as PyTorch's
    linear does. np.matmul broadcasts a 3-D or 4-D x into one small GEMM per leading index
    (ConvNeXt's channels-last (4, 8, 8, 96) @ (96, 384): 32 GEMMs of 8 rows); folded, the
    fwd + both grads of ConvNeXt's linears, 1 thread, median of 21: (4, 8, 8, 96) -> 384
    1.82 -> 0.62 ms, (4, 2, 2, 384) -> 1536 13.3 -> 1.4 ms (PyTorch 1.1 and 6.6)."""
    if x.ndim <= 2:
        return threads.matmul(x, m)
    lead = x.shape[:-1]
    return threads.matmul(x.reshape(math.prod(lead), x.shape[-1]), m).reshape(*lead, m.shape[-1])


def _rows(x) -> int:
    """The number of rows of x `(*, K)` folded to 2-D: prod(*), not -1, which a reshape cannot
    infer when K = 0 (Linear(0, n))."""
    return math.prod(x.shape[:-1])


class Linear(Op):
    torch_name = "AddmmBackward0"  # (MmBackward0 without a bias, ...: set per node in forward)
    aten_name = "aten::linear"  # (the profiler's name: the call, not the node)

    def _shown(self) -> tuple:
        # PyTorch computes addmm(bias, x, weight.t()) (mm without a bias): its node's edges
        # are those, the weight's through a TBackward0 node of its own
        x, w, b = self.edges
        shown_w = None if w is None else ShownNode("TBackward0", w)
        return (b, x, shown_w) if self.has_bias else (x, shown_w)

    @staticmethod
    def forward(ctx, x, w, b):
        # dx needs W and dW needs x: save only those (as PyTorch's mm), so an in-place change
        # of an input that needs no gradient is allowed after the product
        need_x, need_w, _ = ctx.needs_input_grad or (False, False, False)
        ctx.save_for_backward(x if need_w else None, w if need_x else None)
        ctx.has_bias = b is not None
        # PyTorch: addmm (2-D with bias), mm, or a view of either for other ranks
        if x.ndim == 2:
            ctx.torch_name = "AddmmBackward0" if b is not None else "MmBackward0"
        else:
            ctx.torch_name = (
                "ViewBackward0"
                if b is not None
                else "SqueezeBackward4"
                if x.ndim == 1
                else "UnsafeViewBackward0"
            )
        if b is not None and x.dtype == np.float16:
            # PyTorch's addmm (addmv for 1-D x): the float32 product plus the bias, rounded once
            return opmath(lambda x, w, b: _folded(x, w.T) + b, x, w, b)
        y = _folded(x, w.T)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        # y = x W^T + b  =>  dx = grad W,  dW = grad^T x,  db = sum of grad over the batch
        gx = _folded(grad, w) if need_x else None
        g2 = grad.reshape(_rows(grad), grad.shape[-1])
        gw = threads.matmul(g2.T, x.reshape(_rows(x), x.shape[-1])) if need_w else None
        gb = wide_sum(g2, 0) if need_b else None  # (float16 summed in float32, as PyTorch)
        return gx, gw, gb

    @staticmethod
    def graph_backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = grad.reshape(_rows(grad), grad.shape[-1])
        gx = grad.matmul(w) if need_x else None
        gw = g2.transpose(0, 1).matmul(x.reshape(_rows(x), x.shape[-1])) if need_w else None
        gb = g2.sum(0) if need_b else None
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b; input `(*, in_features)`, weight `(out_features, in_features)`."""
    what = "linear"
    _check_tensor(input, "input", what)
    _check_tensor(weight, "weight", what)
    if weight.ndim == 1 and bias is None and input.ndim and input.shape[-1] == weight.shape[0]:
        _same_dtype(input, weight, None, what)
        return input.matmul(weight)  # (a 1-D weight: one output per row, as PyTorch's mv)
    if weight.ndim != 2:
        raise TensorValueError(
            f"{what}: weight must be 2-D (out_features, in_features), got {tuple(weight.shape)}"
        )
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise TensorValueError(
            f"{what}: input's last dimension must be in_features={weight.shape[1]}, got input "
            f"shape {tuple(input.shape)} (weight shape {tuple(weight.shape)}); did you forget to "
            "flatten?"
        )
    b = _check_bias(bias, weight.shape[0], what)
    _same_dtype(input, weight, b, what)
    return Linear.apply(input, weight, b)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    t = _check_tensor(tensor, "tensor", "one_hot")
    if t._data.dtype != np.int64:  # PyTorch refuses int32, uint8, ... too
        raise TensorTypeError(  # (a RuntimeError too, as PyTorch's)
            f"one_hot: tensor must hold integer class indices (int64), got {t.dtype}"
        )
    if not t.numel() and num_classes <= 0:
        raise TensorValueError(
            "one_hot: Can not infer total number of classes from empty tensor; pass num_classes"
        )
    n = int(t._data.max()) + 1 if num_classes == -1 else num_classes
    if t.numel() and (t._data.min() < 0 or t._data.max() >= n):
        raise TensorValueError(
            f"one_hot: class values must be in [0, {n}), got min {t._data.min()}, "
            f"max {t._data.max()}"
        )
    return Tensor._make(np.eye(n, dtype=np.int64)[t._data], None, False)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]; inputs
    `(*, in1)` and `(*, in2)` with the same leading dims, weight `(out, in1, in2)`."""
    what = "bilinear"
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check_tensor(t, name, what)
    if weight.ndim != 3:
        raise RuntimeError(
            f"{what}: weight must be 3-D (out, in1, in2), got shape {tuple(weight.shape)}"
        )
    out, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"{what}: input1 {tuple(input1.shape)} and input2 {tuple(input2.shape)} must have "
            "the same leading dims"
        )
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(
            f"{what}: input1's last dim must be {in1} and input2's {in2} (weight shape "
            f"{tuple(weight.shape)}), got {tuple(input1.shape)} and {tuple(input2.shape)}"
        )
    b = _check_bias(bias, out, what)
    _same_dtype(input1, weight, b, what)
    _same_dtype(input2, weight, None, what)
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # x1 @ W as one matmul: (n, in1) @ (in1, out * in2), then the dot with x2 per output
    t = (x1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)
    # the bias is added last, after the reshape, so the result's grad_fn is PyTorch's
    # (AddBackward0 with a bias, ViewBackward0 without)
    y = (t * x2.unsqueeze(1)).sum(-1).reshape(lead + (out,))
    return y if b is None else y + b
