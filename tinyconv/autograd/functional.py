"""Derivatives of whole functions: vjp, jvp, jacobian, hessian, hvp, vhp.

`func` takes Tensors and returns a Tensor (or a tuple of them). Each helper runs
func on fresh copies of the inputs that require grad, then asks the engine for
gradients (`grad`). Only vector-Jacobian products come out of backprop directly;
the others are built from them:

- jacobian: one vjp per output element (row by row), v = e_i;
- jvp (J v): the vjp u -> u^T J is linear in u, so differentiating <u^T J, v> with
  respect to u gives J v (the "double-vjp trick"; it needs create_graph);
- hessian: the jacobian of the gradient; hvp / vhp: the gradient of <grad f, v>.

As in PyTorch: a single Tensor in gives a single Tensor back, a tuple gives a
tuple; strict=True raises when an output does not depend on an input, otherwise
that block is zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import grad_mode, ops
from .engine import grad as _grad


def _as_tuple(x: Any, what: str, fn_name: str) -> tuple[bool, tuple]:
    """(was it a tuple?, the Tensors as a tuple), checking every item is a Tensor. A list is
    not a tuple here, as in PyTorch: it is refused (TypeError)."""
    is_tuple = isinstance(x, tuple)
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{fn_name}: expected {what} to be a Tensor or a tuple of Tensors, but item "
                f"{i} is a {type(t).__name__}"
            )
    return is_tuple, items


def _prepare_inputs(inputs: tuple, create_graph: bool) -> tuple:
    """Copies of the inputs that require grad: detached, unless create_graph asks to keep
    the caller's graph (then a view, so the result stays differentiable in the inputs)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            # (an integer input raises here, as in PyTorch: its derivative is not zero)
            out.append(t.detach().requires_grad_())
    return tuple(out)


def _call(func: Callable, inputs: tuple, fn_name: str) -> tuple[bool, tuple]:
    with grad_mode.enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "the outputs of the user-provided function", fn_name)


def _grads(
    outputs: tuple,
    inputs: tuple,
    grad_outputs: tuple,
    create_graph: bool,
    strict: bool,
    fn_name: str,
    retain_graph: bool | None = None,
) -> tuple:
    """d<grad_outputs, outputs>/d inputs, with zeros (or, strict, an error) where an
    input is not used."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(
                    f"{fn_name}: output {i} of the user-provided function does not require "
                    "gradients; with strict=True the outputs must be computed in a "
                    "differentiable way from the inputs"
                )
    if not pairs:
        return tuple(None for _ in inputs)
    res = _grad(
        [o for o, _ in pairs],
        list(inputs),
        grad_outputs=[g for _, g in pairs],
        retain_graph=True if retain_graph is None else retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )
    if strict:
        for i, g in enumerate(res):
            if g is None:
                raise RuntimeError(
                    f"{fn_name}: the output of the user-provided function is independent of "
                    f"input {i}, which is not allowed with strict=True"
                )
    return res


def _fill_zeros(grads: tuple, like: tuple) -> tuple:
    return tuple(
        Tensor._make(np.zeros_like(x._data), None, False) if g is None else g
        for g, x in zip(grads, like, strict=True)
    )


def _finish(values: tuple, create_graph: bool) -> tuple:
    return tuple(v if create_graph else v.detach() for v in values)


def _check_v(v: Any, outputs: tuple, fn_name: str, what: str) -> tuple:
    """The vector(s) v, one per output (or per input), each of its shape."""
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn_name}: v can only be None if the {what} is a single Tensor with a "
                "single element"
            )
        return (Tensor._make(np.ones_like(outputs[0]._data), None, False),)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(outputs):
        raise RuntimeError(f"{fn_name}: v has {len(vs)} Tensors but the {what} has {len(outputs)}")
    for i, (a, b) in enumerate(zip(vs, outputs, strict=True)):
        if a.shape != b.shape:
            raise RuntimeError(
                f"{fn_name}: entry {i} of v has shape {tuple(a.shape)}, but the {what} entry "
                f"has shape {tuple(b.shape)}; they must match"
            )
    return vs


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    xs = _prepare_inputs(xs, create_graph)
    out_tuple, outs = _call(func, xs, "vjp")
    vs = _check_v(v, outs, "vjp", "output of the user-provided function")
    g = _fill_zeros(_grads(outs, xs, vs, create_graph, strict, "vjp"), xs)
    outs = _finish(outs, create_graph)
    g = _finish(g, create_graph)
    return (outs if out_tuple else outs[0]), (g if is_tuple else g[0])


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    xs = _prepare_inputs(xs, create_graph)
    vs = _check_v(v, xs, "jvp", "inputs")
    out_tuple, outs = _call(func, xs, "jvp")
    # u^T J as a function of u (linear in u): its gradient along v is J v.
    us = tuple(Tensor._make(np.zeros_like(o._data), None, True) for o in outs)
    g = _grads(outs, xs, us, True, strict, "jvp")
    used = [(gi, vi) for gi, vi in zip(g, vs, strict=True) if gi is not None]
    if used and any(gi.requires_grad for gi, _ in used):
        jv = _grad(
            [gi for gi, _ in used if gi.requires_grad],
            list(us),
            grad_outputs=[vi for gi, vi in used if gi.requires_grad],
            create_graph=create_graph,
            allow_unused=True,
        )
    else:
        jv = tuple(None for _ in us)
    jv = _fill_zeros(jv, outs)
    outs = _finish(outs, create_graph)
    jv = _finish(jv, create_graph)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian d func(inputs) / d inputs, one backward per output element.

    One input, one output: shape out.shape + in.shape. Tuples: a tuple (per output)
    of tuples (per input) of such blocks.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise AssertionError(  # (PyTorch asserts it)
            f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}"
        )
    if strategy == "forward-mode":
        # (PyTorch's limits, kept so that code which runs here runs there)
        if create_graph:
            raise NotImplementedError(
                "jacobian: `create_graph=True` and `strategy='forward-mode'` are not supported "
                "together; set `create_graph=False` or `strategy='reverse-mode'`"
            )
        if strict:
            raise RuntimeError(
                "jacobian: `strict=True` and `strategy='forward-mode'` are not supported "
                "together; set `strict=False` or `strategy='reverse-mode'`"
            )
        if not vectorize:
            raise NotImplementedError(
                "jacobian: `strategy='forward-mode'` is only implemented with `vectorize=True`"
            )
        res = jacobian(func, inputs)
        in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
        per_output = res if isinstance(res, tuple) else (res,)
        out_tuple = isinstance(per_output[0], tuple) if in_tuple else isinstance(res, tuple)
        if not out_tuple:
            per_output = (res,)
        # (lists where PyTorch's forward mode returns lists: for a tuple of inputs)
        out = [
            [_by_columns(b, x) for b, x in zip(r, xs, strict=True)]
            if in_tuple
            else _by_columns(r, xs[0])
            for r in per_output
        ]
        return out if out_tuple and in_tuple else tuple(out) if out_tuple else out[0]
    # vectorize only changes how PyTorch batches the rows (vmap); the values are the same.
    is_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    xs = _prepare_inputs(xs, create_graph)
    out_tuple, outs = _call(func, xs, "jacobian")
    blocks = []
    for o in outs:
        rows: list[list] = [[] for _ in xs]
        n = o.numel()
        for k in range(n):
            e = np.zeros(n, dtype=o._data.dtype)
            e[k] = 1
            seed = Tensor._make(e.reshape(o._data.shape), None, False)
            g = _grads((o,), xs, (seed,), create_graph, strict, "jacobian")
            for j, (gj, x) in enumerate(zip(g, xs, strict=True)):
                if gj is None:
                    gj = Tensor._make(np.zeros_like(x._data), None, False)
                rows[j].append(gj)
        per_input = []
        for j, x in enumerate(xs):
            if n:
                block = _stack(rows[j]).reshape(tuple(o.shape) + tuple(x.shape))
            else:
                block = Tensor._make(
                    np.zeros(tuple(o.shape) + tuple(x.shape), dtype=x._data.dtype), None, False
                )
            per_input.append(block if create_graph else block.detach())
        blocks.append(tuple(per_input) if is_tuple else per_input[0])
    return tuple(blocks) if out_tuple else blocks[0]


def _by_columns(block: Tensor, x: Tensor) -> Tensor:
    """A Jacobian block (out.shape + x.shape) laid out as forward mode leaves it: the columns
    (one per element of x) contiguous, then moved last. Same values, PyTorch's strides."""
    n_out = block.ndim - x.ndim
    out_shape = block._data.shape[:n_out]
    cols = np.ascontiguousarray(np.moveaxis(block._data.reshape(*out_shape, x.numel()), -1, 0))
    return Tensor._make(np.moveaxis(cols, 0, -1).reshape(block._data.shape), None, False)


def _stack(ts: list) -> Tensor:
    """The rows of a Jacobian block as one Tensor (differentiable, for create_graph)."""
    return ops.Stack.apply(0, *ts)


def _scalar_function(func: Callable, fn_name: str) -> Callable:
    """func checked to return a single one-element Tensor (for hessian/hvp/vhp)."""

    def wrapped(*xs: Any) -> Tensor:
        out = func(*xs)
        if isinstance(out, (tuple, list)):
            if len(out) != 1:
                raise RuntimeError(
                    f"{fn_name}: the user-provided function must return a single Tensor with "
                    f"one element, got a tuple of {len(out)}"
                )
            out = out[0]
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError(
                f"{fn_name}: the user-provided function must return a single Tensor with one "
                "element"
            )
        return out

    return wrapped


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar function: the jacobian of its gradient.

    One input: shape in.shape + in.shape; a tuple: a tuple of tuples of blocks.
    """
    f = _scalar_function(func, "hessian")
    is_tuple, _ = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Any) -> tuple:
        out = f(*xs)
        g = _grads(
            (out,),
            xs,
            (Tensor._make(np.ones_like(out._data), None, False),),
            True,
            strict,
            "hessian",
        )
        return _fill_zeros(g, xs)

    res = jacobian(
        gradient,
        inputs,
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    if not is_tuple:
        return res[0]
    return res


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), H v) for a scalar function: the gradient of <grad func, v>."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """(func(inputs), v^T H) for a scalar function (H is symmetric, so this equals H v)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def _hessian_product(
    func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, fn_name: str
) -> tuple:
    f = _scalar_function(func, fn_name)
    is_tuple, xs = _as_tuple(inputs, "inputs", fn_name)
    xs = _prepare_inputs(xs, create_graph)
    vs = _check_v(v, xs, fn_name, "inputs")
    with grad_mode.enable_grad():
        out = f(*xs)
    g = _grads(
        (out,), xs, (Tensor._make(np.ones_like(out._data), None, False),), True, strict, fn_name
    )
    used = [(gi, vi) for gi, vi in zip(g, vs, strict=True) if gi is not None and gi.requires_grad]
    if used:
        hv = _grad(
            [gi for gi, _ in used],
            list(xs),
            grad_outputs=[vi for _, vi in used],
            create_graph=create_graph,
            allow_unused=True,
        )
    else:
        hv = tuple(None for _ in xs)
    if strict and any(h is None for h in hv):
        raise RuntimeError(
            f"{fn_name}: the gradient of the user-provided function is independent of an "
            "input, which is not allowed with strict=True"
        )
    hv = _finish(_fill_zeros(hv, xs), create_graph)
    out = out if create_graph else out.detach()
    return out, (hv if is_tuple else hv[0])


from ..tensor import Tensor  # noqa: E402
