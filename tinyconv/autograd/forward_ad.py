"""Forward-mode AD with dual tensors, as ``torch.autograd.forward_ad``.

    with forward_ad.dual_level():
        x = forward_ad.make_dual(primal, tangent)    # a view of primal carrying a tangent v
        y = f(x)                                     # any ops, nn.Module forwards, ...
        jvp = forward_ad.unpack_dual(y).tangent      # J v, y's shape

How tangents travel. PyTorch gives every op a forward formula; tinyconv gives each op one
backward, and gets the forward product from it: for one op out = op(a, b, ...) with input
tangents v, g(u) = J^T u is linear in a placeholder cotangent u, so the gradient of
<g(u), v> with respect to u is J v (the double-reverse trick, as func.jvp). While a dual level
is open, `Function.apply` hands every op to `_run_op` here; an op whose inputs carry tangents
runs once as usual (the result the user sees: its requires_grad, grad_fn and graph are
exactly what they would be without tangents), then once more on fresh leaves that share the
inputs' memory, to build g and take its gradient. The second run is private: it touches no
`.grad`, joins no user graph, and is dropped at once, so no graph outlives the op. It costs
about two forwards and two backwards per op, paid only while a level is open.

Each op's tangent is computed in its output's dtype from tangents cast to the inputs'
dtypes, then cast to the type PyTorch's tangent has (the output's dtype promoted with the
tangents'). Tangents live in a table keyed by the tensor (weakly), emptied when the level
exits. A user's `autograd.Function` must define ``jvp`` (PyTorch's rule); it is called with
the forward's ctx.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

import numpy as np

from .. import _rng
from . import function as _function
from . import grad_mode

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]

_current_level: int = -1  # PyTorch's name and value: -1 when no level is open
# id(tensor) -> (weak reference to the tensor, its tangent) at the open level
_tangents: dict[int, tuple[Any, Any]] = {}


class UnpackedDualTensor(NamedTuple):
    """What unpack_dual returns: the primal (a view without tangent) and the tangent (None
    when the tensor has none at that level)."""

    primal: Any
    tangent: Any


def enter_dual_level() -> int:
    """Open a dual level (0; levels do not nest, as in PyTorch) and return it."""
    global _current_level
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level = 0
    _function.forward_hook = _run_op
    grad_mode.dual_level = True
    return _current_level


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the open level: every tangent made in it is dropped."""
    global _current_level
    if level is None:
        level = _current_level
    if level < 0 or level != _current_level:
        raise RuntimeError(
            "Dual level must be a positive number."
            if level < 0
            else f"Trying to exit a forward AD level that was not the last one that was created "
            f"(level {level}, the open one is {_current_level})."
        )
    _current_level = -1
    _function.forward_hook = None
    grad_mode.dual_level = False
    _tangents.clear()


class dual_level:  # noqa: N801  (PyTorch's name)
    """Context manager (or decorator) in which dual tensors exist; `as` gives the level.
    Tangents made inside are dropped on exit."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()

    def __call__(self, func: Any) -> Any:
        return grad_mode._decorate(dual_level, func)


def _level_of(level: int | None, what: str) -> int:
    if level is None:
        return _current_level
    if level != _current_level or level < 0:
        raise RuntimeError(f"Invalid level given to {what}")
    return level


def _tangent(t: Any) -> Any:
    """t's tangent at the open level, or None (a plain dict lookup: it runs per op input)."""
    entry = _tangents.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def _set_tangent(t: Any, tangent: Any) -> None:
    key = id(t)
    if tangent is None:
        _tangents.pop(key, None)
        return

    def forget(ref: Any, key: int = key) -> None:  # (t died: its id may be reused)
        entry = _tangents.get(key)
        if entry is not None and entry[0] is ref:
            del _tangents[key]

    _tangents[key] = (weakref.ref(t, forget), tangent)


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A view of `tensor` whose tangent (forward gradient) is `tangent`, of the same shape.
    A tangent laid out unlike `tensor` is copied into `tensor`'s layout (as PyTorch does)."""
    if _current_level < 0 and level is None:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    _level_of(level, "make_dual")
    if not isinstance(tensor, Tensor) or tensor._data.dtype.kind not in "fc":
        what = tensor.dtype if isinstance(tensor, Tensor) else type(tensor).__name__
        raise ValueError(f"Expected primal to be floating point or complex, but got: {what}")
    if not isinstance(tangent, Tensor) or tangent._data.dtype.kind not in "fc":
        what = tangent.dtype if isinstance(tangent, Tensor) else type(tangent).__name__
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {what}")
    if tangent._data.shape != tensor._data.shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )
    if _tangent(tensor) is not None:
        raise RuntimeError(
            "Making a dual Tensor based on a Tensor that already has a forward gradient at the "
            f"same level {_current_level} is not supported."
        )
    if tangent.stride() != tensor.stride() and tensor._data.size > 1:
        # (PyTorch copies a tangent into the primal's layout unless their strides agree)
        like = np.empty_like(tensor._data, dtype=tangent._data.dtype)
        if tangent._requires_grad:
            tangent = tangent.clone()
        else:
            like[...] = tangent._data
            tangent = make_tensor(like, None, False)
    dual = tensor.view(tensor.shape)  # PyTorch's dual is a view of the primal (ViewBackward0)
    _set_tangent(dual, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent) of `tensor`: inside a level the primal is a view of tensor without
    its tangent, and the tangent is None for a tensor without one; outside, (tensor, None)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(
            "_unpack_dual(): argument 'dual' (position 1) must be Tensor, not "
            f"{type(tensor).__name__}"
        )
    if _current_level < 0 and level is None:
        return UnpackedDualTensor(tensor, None)
    _level_of(level, "_fw_primal")
    tangent = _tangent(tensor)
    forward_hook, _function.forward_hook = _function.forward_hook, None
    try:
        primal = tensor.view(tensor.shape)
    finally:
        _function.forward_hook = forward_hook
    return UnpackedDualTensor(primal, tangent)


# -- how an op's tangent is computed ------------------------------------------------------------


def _tensor_args(args: tuple) -> list[tuple[int, int | None, Any]]:
    """(position, position inside a list/tuple argument or None, tensor) of every Tensor in args
    (cat and stack take their tensors as one list)."""
    found = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            found.append((i, None, a))
        elif type(a) in (list, tuple):
            for j, b in enumerate(a):
                if isinstance(b, Tensor):
                    found.append((i, j, b))
    return found


def _run_op(cls: type, args: tuple) -> Any:
    """`cls.apply(*args)`, and when inputs carry tangents, the output's tangent J v."""
    tensors = _tensor_args(args)
    duals = [(i, j, t, v) for i, j, t in tensors for v in (_tangent(t),) if v is not None]
    if not duals or grad_mode._inference:  # (inference mode propagates no tangent, as PyTorch)
        _function.forward_hook = None
        try:
            return cls.apply(*args)
        finally:
            _function.forward_hook = _run_op
    if not cls.array_mode:  # a user's Function: its jvp rule, called inside apply
        return _run_user(cls, args, tensors)
    rng = _rng.get_rng_state()  # (an op drawing random numbers must draw them again below)
    _function.forward_hook = None
    try:
        out = cls.apply(*args)
        after = _rng.get_rng_state()
        _rng.set_rng_state(rng)
        try:
            tangents = _jvp(cls, args, tensors, duals, out)
        finally:
            _rng.set_rng_state(after)
    finally:
        _function.forward_hook = _run_op
    for o, v in zip(out if type(out) is tuple else (out,), tangents, strict=True):
        if v is not None:
            _set_tangent(o, v)
    return out


def _jvp(cls: type, args: tuple, tensors: list, duals: list, out: Any) -> list:
    """The tangent of each output of cls.apply(*args) (None for outputs that are not floating
    point): J v by two reverse passes over a private run of the op. Under grad mode the
    private run starts from views of the inputs that require grad, so the tangent is itself
    differentiable with respect to the primals (and to tangents that require grad)."""
    track = grad_mode.enabled
    new = [list(a) if type(a) in (list, tuple) else a for a in args]
    leaves, vs = [], []
    dual_ids = {id(t): v for _, _, t, v in duals}
    for i, j, t in tensors:
        v = dual_ids.get(id(t))
        if track and t._requires_grad:
            leaf = t.view_as(t)  # (a view: in t's graph, and an input to take gradients at)
        else:  # a fresh leaf sharing t's memory, requiring grad where a tangent flows in
            leaf = make_tensor(t._data, None, v is not None)
        if v is not None:
            leaves.append(leaf)
            v = v if track else v.detach()
            vs.append(v.to(t.dtype) if v._data.dtype != t._data.dtype else v)
        if j is None:
            new[i] = leaf
        else:
            new[i][j] = leaf
    new = [type(args[i])(a) if type(args[i]) is tuple else a for i, a in enumerate(new)]
    outs = out if type(out) is tuple else (out,)
    wide = np.result_type(*(v._data.dtype for _, _, _, v in duals))
    with grad_mode.enable_grad():
        private = cls.apply(*new)
        privs = private if type(private) is tuple else (private,)
        live = [p for p in privs if isinstance(p, Tensor) and p._requires_grad]
        us = [make_tensor(np.zeros_like(p._data), None, True) for p in live]
        if live:
            g = _engine.grad(
                live, leaves, us, create_graph=True, allow_unused=True, materialize_grads=True
            )
            # (a gradient that does not depend on u is zero: sign, round, comparisons)
            pairs = [(gk, vk) for gk, vk in zip(g, vs, strict=True) if gk._requires_grad]
            jv = iter(
                _engine.grad(
                    [gk for gk, _ in pairs],
                    us,
                    [vk for _, vk in pairs],
                    create_graph=track,
                    allow_unused=True,
                    materialize_grads=True,
                )
                if pairs
                else [make_tensor(np.zeros_like(u._data), None, False) for u in us]
            )
        primal_formula = not (cls.is_view or issubclass(cls, _LINEAR))
        tangents = []
        for o, p in zip(outs, privs, strict=True):
            if not isinstance(o, Tensor) or o._data.dtype.kind not in "fc":
                tangents.append(None)
                continue
            # (PyTorch's formulas promote the tangents with the primals; a cast casts them)
            dt = o._data.dtype if cls is _ops.Cast else np.result_type(o._data.dtype, wide)
            if isinstance(p, Tensor) and p._requires_grad:
                v = next(jv)
                if v._data.dtype != dt:
                    v = v.to(dt)
            else:
                v = make_tensor(np.zeros(o._data.shape, dt), None, False)
            # PyTorch's tangent requires grad when its formula reads something that does
            want = track and (
                any(w._requires_grad for w in vs) or (primal_formula and o._requires_grad)
            )
            if not want:
                v = v.detach()
            elif not v._requires_grad:  # (read, but only times zeros: a zero gradient there)
                v = _ZeroLink.apply(v, *(t for _, _, t in tensors if t._requires_grad))
            tangents.append(v)
    return tangents


def _run_user(cls: type, args: tuple, tensors: list) -> Any:
    """A user's Function with dual inputs: PyTorch calls its jvp(ctx, *input tangents) after
    the forward (zeros for tensors without tangent, None for other arguments)."""
    if cls.jvp is _function.Function.jvp:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )
    grads: list = [None] * len(args)
    for i, j, t in tensors:
        if j is None:
            v = _tangent(t)
            if v is None:
                v = make_tensor(np.zeros_like(t._data), None, False)
            elif v._data.dtype != t._data.dtype:  # (PyTorch hands jvp the input's dtype)
                hook, _function.forward_hook = _function.forward_hook, None
                try:
                    v = v.to(t.dtype)
                finally:
                    _function.forward_hook = hook
            grads[i] = v
    box = {"in": grads, "grad": grad_mode.enabled}
    _function.forward_hook = None
    _function.user_jvp.append(box)  # apply() takes it after the forward and leaves the result
    try:
        out = cls.apply(*args)
    finally:
        _function.forward_hook = _run_op
        if box in _function.user_jvp:
            _function.user_jvp.remove(box)
    result = box.get("out")
    outs = out if type(out) is tuple else (out,)
    results = result if type(result) is tuple else (result,)
    if len(results) != len(outs):
        raise RuntimeError(
            f"{cls.__name__}.jvp returned {len(results)} tangent(s) for {len(outs)} output(s)"
        )
    for o, v in zip(outs, results, strict=True):
        if isinstance(o, Tensor) and isinstance(v, Tensor):
            if o._requires_grad and not v._requires_grad:
                # PyTorch's tangent requires grad here (jvp may read the forward's output,
                # which is in the graph there), but tinyconv cannot tell what its gradient
                # would be: it joins the graph through a node whose backward raises
                hook, _function.forward_hook = _function.forward_hook, None
                try:
                    v = _UnknownTangentGrad.apply(
                        v, *(t for _, _, t in tensors if t._requires_grad)
                    )
                finally:
                    _function.forward_hook = hook
            _set_tangent(o, v)
    return out


def _carry(src: Any, dst: Any) -> None:
    """An in-place op wrote its result `src` into `dst` (or copied dst aside as `src`'s
    stand-in): dst's tangent becomes src's."""
    if _current_level >= 0:
        _set_tangent(dst, _tangent(src))


def _written(dst: Any, src: Any, index: Any = None) -> None:
    """dst, or dst[index] (an _indexing plan), was overwritten with src's values (a Tensor,
    or a constant): the tangent there becomes src's, zeros for a constant or a tensor
    without one (PyTorch's copy_, fill_ and index_put_ formulas)."""
    if _current_level < 0:
        return
    old = _tangent(dst)
    new = _tangent(src) if isinstance(src, Tensor) else None
    if old is None and new is None:
        return
    kinds = [dst._data.dtype] + [v._data.dtype for v in (old, new) if v is not None]
    arr = np.zeros(dst._data.shape, np.result_type(*kinds))
    if old is not None and index is not None:
        arr[...] = old._data
    value = new._data if new is not None else 0
    if index is None:
        arr[...] = value
    else:
        index.put(arr, np.asarray(value, arr.dtype))
    _set_tangent(dst, make_tensor(arr, None, False))


from ..tensor import Tensor, make_tensor  # noqa: E402  (Tensor needs grad mode first)
from . import engine as _engine  # noqa: E402
from . import ops as _ops  # noqa: E402
from .function import Function  # noqa: E402

# The ops whose tangent PyTorch computes from the input tangents alone (sums, views, joins,
# casts): their tangent requires grad only when an input tangent does. Every other op's
# formula reads the primals too, so there it requires grad with the op's output.
_LINEAR = (_ops.Add, _ops.Sub, _ops.Neg, _ops.Cast, _ops.Clone, _ops.Sum, _ops.Mean,
           _ops.Reshape, _ops.Permute, _ops.Expand, _ops.Flip, _ops.Index, _ops.Cat,
           _ops.Stack, _ops.Where, _ops.TakeAlongAxis)  # fmt: skip


class _UnknownTangentGrad(Function):
    """A custom Function's tangent that jvp computed outside the graph while its output
    requires grad: the values, in the graph, with a backward that raises rather than give a
    gradient that could be wrong (PyTorch's may flow through the forward's output)."""

    array_mode = True

    @staticmethod
    def forward(ctx, tangent, *primals):
        return tangent

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(
            "forward_ad: this tangent comes from a custom Function's jvp that did not use "
            "graph tensors, and tinyconv cannot tell its gradient with respect to the "
            "primals (PyTorch's may flow through the forward's output kept on ctx); save "
            "what jvp reads with ctx.save_for_forward(...) to differentiate it"
        )


class _ZeroLink(Function):
    """A tangent that PyTorch's formula computes from primals requiring grad, but which does
    not depend on them (x * 2, whose formula adds the zero tangent of 2 times x): the same
    values, in the graph with a zero gradient to those primals, so requires_grad is
    PyTorch's and backward through it gives PyTorch's (zero) gradients."""

    array_mode = True

    @staticmethod
    def forward(ctx, tangent, *primals):
        ctx.metas = [(p.shape, p.dtype) for p in primals]
        return tangent

    @staticmethod
    def backward(ctx, grad):
        return (grad, *(np.zeros(shape, dtype) for shape, dtype in ctx.metas))

    @staticmethod
    def graph_backward(ctx, grad):
        zeros = (make_tensor(np.zeros(shape, dtype), None, False) for shape, dtype in ctx.metas)
        return (grad, *zeros)
