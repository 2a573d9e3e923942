"""The backward of a linear op as an op of its own, for create_graph backwards.

Padding, average pooling, interpolation, and max pooling once its argmax is fixed, are linear
maps y = J x. Their backward g -> J^T g is linear in g too, so its own backward is
gg -> J gg: the op's linear part run forwards again. `LinearBackward` is that node; the op
names its linear part in `linear_apply(ctx, t)` (a differentiable Tensor op on t, with the
configuration the forward recorded on ctx), and its graph_backward is `linear_graph_backward`.
Both directions are ops with a graph_backward, so derivatives of any order go through.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd import grad_mode
from ...autograd.ops import Op
from ...tensor import Tensor


class LinearBackward(Op):
    """g -> J^T g for the linear op whose node is `node` (its NumPy backward, run forwards).

    `x`, when given, is the op's input, which PyTorch's backward of max and average pooling
    and of reflect and replicate padding takes too (their nodes save it): the result then
    depends on it with a zero derivative, so it requires grad when x does, as PyTorch's."""

    next_functions_count = 1

    @staticmethod
    def forward(ctx, g, node, x=None):
        ctx.node = node
        ctx.torch_name = node.name().replace("Backward0", "BackwardBackward0")
        ctx.x_meta = None if x is None else (x.shape, x.dtype)
        return type(node).backward(node, g)[0]

    @staticmethod
    def backward(ctx, gg):
        with grad_mode.no_grad():
            gg_x = type(ctx.node).linear_apply(ctx.node, Tensor._make(gg, None, False))._data
        return gg_x, None, None if ctx.x_meta is None else np.zeros(*ctx.x_meta)

    @staticmethod
    def graph_backward(ctx, gg):
        zeros = None if ctx.x_meta is None else Tensor._make(np.zeros(*ctx.x_meta), None, False)
        return type(ctx.node).linear_apply(ctx.node, gg), None, zeros


def linear_graph_backward(ctx: Any, grad: Tensor) -> tuple:
    """graph_backward of a linear op whose first argument is its only Tensor input (and, if
    the op saved anything, the first thing it saved is that input)."""
    x = ctx.saved_tensors[0] if ctx._saved else None
    return (LinearBackward.apply(grad, ctx, x),) + (None,) * (len(ctx.edges) - 1)
