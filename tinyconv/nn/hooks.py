"""Module hooks: removable handles, and the identity op that lets a module see its gradients.

A full backward hook wants, after backward has passed through a module, the gradients with
respect to the module's inputs (`grad_input`) and outputs (`grad_output`), and may replace
`grad_input` before it flows on. The engine knows nothing of modules, so the module call
threads its Tensor inputs (and later its outputs) through one identity op each side,
`BackwardHookFunction`: forward copies them through; backward is where the gradients of all
of them arrive together, so that is where the hooks run. A module with several Tensor inputs
(or outputs) packs them into one flat array: one graph node then receives every gradient at
once (the engine gives each node one gradient), and each Tensor the module sees is unpacked
from it by `_Unpack`, whose backward also notes which outputs received a gradient at all
(PyTorch passes None for the others).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._inplace import mark_hook_output
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from . import functional as F


class _HookState:
    """One module call's backward bookkeeping, shared by its input and output nodes."""

    def __init__(self, module: Any, full_hooks: list, pre_hooks: list, n_args: int) -> None:
        self.module = module
        self.full_hooks = full_hooks  # hook(module, grad_input, grad_output)
        self.pre_hooks = pre_hooks  # hook(module, grad_output)
        self.n_args = n_args  # len(args): grad_input has one entry per positional argument
        self.input_slots: tuple = ()  # positions of the args that went through the input node
        self.zero_slots: dict = {}  # Tensor args needing no grad: position -> zeros like it
        self.has_input_node = False
        self.output_slots: tuple = ()  # positions in the result that went through the output node
        self.n_outputs = 1  # grad_output: one entry per element of the result (1 for a Tensor)
        self.grad_outputs: tuple | None = None
        self.received: set = set()  # which packed outputs received a gradient


def _as_tensor(g: Any) -> Any:
    """What a hook receives: a Tensor (under create_graph, the gradient's own graph Tensor)."""
    if g is None or isinstance(g, Tensor):
        return g
    return Tensor._make(np.asarray(g), None, False)


def _as_grad(g: Any, shape: tuple, dtype: Any, what: str, graph: bool) -> Any:
    """A hook's replacement gradient as the node returns it: an array, or under create_graph a
    Tensor (keeping the graph a hook computed it with)."""
    if g is None:
        return None
    arr = g._data if isinstance(g, Tensor) else np.asarray(g)
    if arr.shape != shape:
        raise RuntimeError(
            f"{what}: a returned gradient has shape {tuple(arr.shape)} but the tensor it "
            f"replaces has shape {tuple(shape)}"
        )
    if not graph:
        return arr.astype(dtype, copy=False)
    if not isinstance(g, Tensor):
        return Tensor._make(arr.astype(dtype), None, False)
    return g if arr.dtype == dtype else g.to(dtype)


def _zeros(shape: tuple, dtype: Any, graph: bool) -> Any:
    z = np.zeros(shape, dtype)
    return Tensor._make(z, None, False) if graph else z


def _check_replacement(result: Any, n: int, what: str) -> tuple | None:
    if result is None:
        return None
    if not isinstance(result, (tuple, list)):
        raise TypeError(
            f"{what} must return None or a tuple of {n} gradient(s), got {type(result).__name__}"
        )
    if len(result) != n:
        raise RuntimeError(
            f"{what} returned an invalid number of gradients: got {len(result)}, expected {n}"
        )
    return tuple(result)


class BackwardHookFunction(Function):
    """Identity on the module's Tensors (packed flat when there are several); its backward
    runs the module's backward hooks. Inputs: the arrays, then the _HookState and the side."""

    array_mode = True
    torch_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx: Any, *args: Any) -> np.ndarray:
        *arrays, state, side = args
        ctx.state, ctx.side = state, side
        ctx.metas = [(a.shape, a.dtype) for a in arrays]
        if len(arrays) == 1:
            return arrays[0].copy()  # a copy: writing into it in place must not change the input
        dtype = np.result_type(*arrays)  # exact for the float dtypes (a round trip casts back)
        return np.concatenate([a.reshape(-1).astype(dtype, copy=False) for a in arrays])

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple:
        # the hooks run with grad mode off, as in PyTorch's engine without create_graph
        with grad_mode.set_grad_enabled(False):
            return _hook_backward(ctx, grad, graph=False)

    @staticmethod
    def graph_backward(ctx: Any, grad: Tensor) -> tuple:
        # create_graph: the same, in Tensor ops (the hooks get and may return graph Tensors)
        return _hook_backward(ctx, grad, graph=True)


def _hook_backward(ctx: Any, grad: Any, graph: bool) -> tuple:
    metas, state = ctx.metas, ctx.state
    if len(metas) == 1:
        grads: list = [grad]
    else:  # unpack the flat gradient, each piece in its input's shape and dtype
        grads, start = [], 0
        for shape, dtype in metas:
            n = int(np.prod(shape))
            piece = grad[start : start + n].reshape(shape)
            grads.append(piece.to(dtype) if graph else piece.astype(dtype, copy=False))
            start += n
    if ctx.side == "output":
        if len(metas) > 1:  # outputs nothing used have no gradient: None, as PyTorch
            grads = [g if i in state.received else None for i, g in enumerate(grads)]
        grads = _run_output_hooks(state, grads, metas, graph)
    else:
        grads = _run_input_hooks(state, grads, metas, graph)
    return (*grads, None, None)


class _Unpack(Function):
    """Output i of a packed BackwardHookFunction, in its own shape and dtype."""

    array_mode = True
    torch_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(
        ctx: Any, flat: np.ndarray, start: int, shape: tuple, dtype: Any, slot: tuple
    ) -> np.ndarray:
        ctx.start, ctx.size, ctx.flat_meta, ctx.slot = start, flat.size, flat.dtype, slot
        n = int(np.prod(shape))
        return flat[start : start + n].reshape(shape).astype(dtype)

    @staticmethod
    def backward(ctx: Any, grad: np.ndarray) -> tuple:
        state, i = ctx.slot
        state.received.add(i)
        full = np.zeros(ctx.size, dtype=ctx.flat_meta)
        full[ctx.start : ctx.start + grad.size] = grad.reshape(-1)
        return full, None, None, None, None

    @staticmethod
    def graph_backward(ctx: Any, grad: Tensor) -> tuple:
        state, i = ctx.slot
        state.received.add(i)
        flat = grad.reshape(-1).to(ctx.flat_meta)
        full = F.pad(flat, (ctx.start, ctx.size - ctx.start - flat.shape[0]))
        return full, None, None, None, None


def _run_output_hooks(state: _HookState, grads: list, metas: list, graph: bool) -> list:
    full: list = [None] * state.n_outputs  # None for non-Tensors and outputs needing no grad
    for pos, g in zip(state.output_slots, grads, strict=True):
        full[pos] = g
    grad_output = tuple(_as_tensor(g) for g in full)
    for hook in state.pre_hooks:
        res = _check_replacement(
            hook(state.module, grad_output), state.n_outputs, "Backward pre hook"
        )
        if res is not None:
            grad_output = res
    state.grad_outputs = grad_output
    if not state.has_input_node and state.full_hooks:
        # No input needs a gradient: the hooks fire here, with None for every input (they
        # may not replace them: there is nothing to replace), as PyTorch does.
        none = (None,) * state.n_args
        for hook in state.full_hooks:
            res = hook(state.module, none, grad_output)
            if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                raise RuntimeError(
                    "Backward hook for Modules where no input requires gradient should "
                    "always return None or None for all gradients."
                )
    out = []
    for pos, (shape, dtype) in zip(state.output_slots, metas, strict=True):
        g = _as_grad(grad_output[pos], shape, dtype, "Backward pre hook", graph)
        # (a None gradient flows on as zeros: the node needs one per input)
        out.append(_zeros(shape, dtype, graph) if g is None else g)
    return out


def _run_input_hooks(state: _HookState, grads: list, metas: list, graph: bool) -> list:
    if not state.full_hooks or state.grad_outputs is None:
        # no gradient came through the module's outputs in this backward (e.g. the second
        # backward of create_graph passing through here again): the hooks do not run, as PyTorch
        return grads
    # grad_input: one entry per positional argument; Tensors that need no gradient get
    # zeros of their shape, other arguments None (what PyTorch passes)
    full: list = [None] * state.n_args
    for pos, arr in state.zero_slots.items():
        full[pos] = arr
    for pos, g in zip(state.input_slots, grads, strict=True):
        full[pos] = g
    grad_input = tuple(_as_tensor(g) for g in full)
    grad_output, state.grad_outputs = state.grad_outputs, None  # used once per backward
    for hook in state.full_hooks:
        res = _check_replacement(
            hook(state.module, grad_input, grad_output), state.n_args, "Backward hook"
        )
        if res is not None:
            grad_input = tuple(res)
    out = []
    for pos, (shape, dtype) in zip(state.input_slots, metas, strict=True):
        g = _as_grad(grad_input[pos], shape, dtype, "Backward hook", graph)
        out.append(g)
    return out


def _thread(tensors: list, state: _HookState, side: str) -> list:
    """Pass `tensors` (all needing grad) through one BackwardHookFunction; the new Tensors."""
    flat = BackwardHookFunction.apply(*tensors, state, side)
    if len(tensors) == 1:
        out = [flat]
    else:
        out, start = [], 0
        for i, t in enumerate(tensors):
            out.append(_Unpack.apply(flat, start, t._data.shape, t._data.dtype, (state, i)))
            start += t._data.size
    for i, t in enumerate(out):  # (no in-place op on them under grad mode, as in PyTorch)
        mark_hook_output(t, i)
    return out


def setup_input_hook(state: _HookState, args: tuple) -> tuple:
    """The positional args the module's forward will see: its Tensors that need a gradient
    threaded through the input node (when grad mode is on)."""
    if not grad_mode.is_grad_enabled():
        return args
    slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not slots:
        return args
    state.has_input_node = True
    state.input_slots = tuple(slots)
    state.zero_slots = {
        i: np.zeros_like(a._data)
        for i, a in enumerate(args)
        if isinstance(a, Tensor) and i not in slots
    }
    new = _thread([args[i] for i in slots], state, "input")
    args = list(args)
    for i, t in zip(slots, new, strict=True):
        args[i] = t
    return tuple(args)


def setup_output_hook(state: _HookState, result: Any, warn: Callable[[str], None]) -> Any:
    """The module's result with its Tensors that need a gradient threaded through the
    output node; a Tensor or a tuple of Tensors, as PyTorch hooks (anything else warns)."""
    if not grad_mode.is_grad_enabled():
        return result
    single = isinstance(result, Tensor)
    if not single and not isinstance(result, tuple):
        warn(
            "For backward hooks to be called, module output should be a Tensor or a tuple of "
            f"Tensors but received {type(result)}"
        )
        return result
    items = [result] if single else list(result)
    slots = [i for i, r in enumerate(items) if isinstance(r, Tensor) and r.requires_grad]
    if not slots:
        return result
    state.output_slots, state.n_outputs = tuple(slots), len(items)
    new = _thread([items[i] for i in slots], state, "output")
    for i, t in zip(slots, new, strict=True):
        items[i] = t
    return items[0] if single else tuple(items)
