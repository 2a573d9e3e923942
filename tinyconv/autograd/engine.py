"""Backpropagation: walk the graph from the output back to the leaves.

Each non-leaf Tensor points at the node (`grad_fn`) that made it; each node
points at the nodes (or leaf Tensors) that made its inputs (`edges`).
`backward` orders the nodes so that every node comes after all the nodes that
use its output (a topological order, found with an explicit stack, so a chain
of 100,000 ops needs no recursion), then visits them once each:

    grad of a node's output = sum of what its consumers sent it
    send node.backward(grad) on to its inputs
    at a leaf that requires grad: leaf.grad += what arrived

(While only one node is waiting for its gradient, as along a chain of ops, it
can run at once: the sort starts where two nodes first wait at the same time.)

Observers (anomaly detection, the backward trace) can watch each step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .function import Function

# Callables `observer(node, grad_output, grads_to_inputs)`, run after each node.
observers: list[Callable[[Function, np.ndarray, tuple], None]] = []


def topological_order(root: Function) -> list[Function]:
    """All nodes reachable from `root`, each before the nodes that feed it."""
    order: list[Function] = []
    seen = {root}
    stack = [(root, iter(root.edges))]
    while stack:
        node, edges = stack[-1]
        for nxt in edges:
            if isinstance(nxt, Function) and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(nxt.edges)))
                break
        else:  # all inputs done: node is finished (post-order)
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def accumulate_grad(leaf: Any, grad: np.ndarray) -> None:
    """leaf.grad += grad, as PyTorch does: the first gradient is copied in."""
    if leaf.grad is None:
        leaf.grad = Tensor._make(np.array(grad, dtype=leaf._data.dtype, copy=True), None, False)
    else:
        leaf.grad._data += grad


def _backward_node(
    node: Function, grad_out: np.ndarray, retain_graph: bool, grads: dict[Function, np.ndarray]
) -> None:
    """Run one node's backward: add what it sends to producing nodes into `grads`,
    and what it sends to leaves into their `.grad`."""
    if node._retained is not None:
        kept = node._retained()
        if kept is not None:
            accumulate_grad(kept, grad_out)
    grads_in = node._run_backward(grad_out)
    if not retain_graph:
        node._release()
    for obs in observers:
        obs(node, grad_out, grads_in)
    for edge, g in zip(node.edges, grads_in, strict=False):
        if edge is None or g is None:
            continue
        if isinstance(edge, Function):
            prev = grads.get(edge)
            grads[edge] = g if prev is None else prev + g
        else:
            accumulate_grad(edge, g)


def run_backward(root: Function, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate `grad` (d loss / d root's output) through the graph to the leaves."""
    grads: dict[Function, np.ndarray] = {root: grad}
    # Fast path: while only one node is waiting, its gradient is complete (any other
    # node that could add to it has run, or never received a gradient itself), so
    # run it without sorting anything. The top of a graph is often such a chain:
    # sum <- pow <- sub <- conv2d. Once two nodes wait, one may feed the other:
    # then everything below the last node run goes in topological order.
    last = root
    while len(grads) == 1:
        (last,) = grads
        _backward_node(last, grads.pop(last), retain_graph, grads)
    if not grads:
        return
    for node in topological_order(last)[1:]:  # [0] is `last` itself, already run
        grad_out = grads.pop(node, None)
        if grad_out is None:  # no gradient reached this node (e.g. unused branch)
            continue
        _backward_node(node, grad_out, retain_graph, grads)


def backward(tensor: Any, gradient: Any = None, retain_graph: bool = False) -> None:
    """Compute d(tensor)/d(leaf) for every leaf that requires grad; add into `.grad`."""
    if tensor._base is not None and tensor._gv != tensor._vc[0]:
        tensor._refresh_view()  # a view whose base changed in place: rebase its history first
    if not tensor._requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require grad and has no grad_fn; "
            "make an input require grad first (e.g. tensor(..., requires_grad=True))"
        )
    data = tensor._data
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(
                f"backward(): grad can be implicitly created only for scalar outputs, "
                f"but this tensor has shape {tuple(data.shape)}; reduce it (e.g. .sum()) "
                "or pass gradient= of the same shape"
            )
        grad = np.empty_like(data)  # np.ones_like, without its Python overhead
        grad.fill(1)
    else:
        grad = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if grad.shape != data.shape:
            raise RuntimeError(
                f"backward(): gradient has shape {tuple(grad.shape)} but the tensor has "
                f"shape {tuple(data.shape)}; they must match"
            )
        grad = grad.astype(data.dtype, copy=False)
    if tensor.grad_fn is None:  # a leaf: its gradient is the seed itself
        accumulate_grad(tensor, grad)
        return
    run_backward(tensor.grad_fn, grad, retain_graph)


# the Tensor <-> Function cycle every autograd has: tensor.py imports this module, so Tensor
# is bound here at the end, once it exists (used at call time)
from ..tensor import Tensor  # noqa: E402
