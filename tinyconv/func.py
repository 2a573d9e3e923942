"""Function transforms, as torch.func: grad, grad_and_value, vjp, jacrev, jacfwd, hessian,
vmap and functional_call.

tinyconv has no batching machinery, so these are built plainly on the reverse-mode engine
(`tinyconv.autograd.grad`; autograd.forward_ad does the same trick op by op):

- grad / vjp / jacrev run `func` on copies of the differentiated arguments and ask the
  engine for gradients (jacrev: one vector-Jacobian product per output element);
- jvp (a Jacobian-vector product, forward mode's primitive) is two reverse passes: with a
  placeholder cotangent u, the first pass builds g(u) = J^T u as a graph (linear in u); the
  second differentiates <g(u), v> with respect to u, which is J v. jacfwd builds g once and
  runs the second pass once per input element (by columns, as forward mode does), so its cost
  grows with the input's size as PyTorch's does; hessian is jacfwd(jacrev(f));
- vmap is a Python loop over the mapped dimension whose per-sample results are stacked.

Transforms nest (vmap(grad(f)), jacrev(jacrev(f))) and compose with ordinary autograd as
PyTorch's do: a result keeps a graph only when it depends on tensors from outside the
transform that require grad (an argument that requires grad, a closed-over parameter);
otherwise it comes back detached. Arguments may be pytrees: tuples, lists and dicts of
Tensors (e.g. a dict of parameters from functional_call).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

from . import _rng
from .autograd import enable_grad, grad_mode, is_grad_enabled
from .autograd.engine import grad as _engine_grad
from .autograd.engine import topological_order
from .creation import zeros_like
from .nn.utils.stateless import _call as _functional_call
from .tensor import Tensor
from .torch_functions import stack

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "stack_module_state",
    "vjp",
    "vmap",
]


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """module(*args, **kwargs) with the tensors of `parameter_and_buffer_dicts` (a dict, or a
    tuple of dicts, dotted name -> Tensor of that parameter's or buffer's shape) in place of
    the module's own. tie_weights: a tensor the module shares under several names follows
    the one value given; strict: every parameter and buffer must be given, nothing else."""
    return _functional_call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights, strict)


def stack_module_state(models: Any) -> tuple[dict, dict]:
    """(params, buffers) of several models of one class and mode, each a dict name -> the
    models' tensors stacked along a new dim 0 (shape (len(models), *shape)): params as new
    leaves requiring grad where the models' do, buffers detached. For vmap over
    functional_call (model ensembling)."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    if any(m.training != models[0].training for m in models):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )

    def stacked(per_model: list[dict], are_params: bool) -> dict:
        out = {}
        for name in per_model[0]:
            ts = [d[name] for d in per_model]
            if are_params and any(t.requires_grad != ts[0].requires_grad for t in ts):
                raise RuntimeError(
                    f"Expected {name} from each model to have the same .requires_grad"
                )
            out[name] = stack([t.detach() for t in ts])
            if are_params:
                out[name].requires_grad_(ts[0].requires_grad)
        return out

    return (
        stacked([dict(m.named_parameters()) for m in models], True),
        stacked([dict(m.named_buffers()) for m in models], False),
    )


# -- pytrees: tuples, lists and dicts of leaves -------------------------------------------------


def _flatten(tree: Any) -> tuple[list, Any]:
    """(the leaves in order, a spec that _unflatten turns back into the structure)."""
    if isinstance(tree, (tuple, list)):
        keys: Any = None
        items = list(tree)
    elif isinstance(tree, dict):
        keys, items = list(tree), list(tree.values())
    else:
        return [tree], None
    leaves, specs = [], []
    for item in items:
        sub, spec = _flatten(item)
        leaves += sub
        specs.append((len(sub), spec))
    return leaves, (type(tree), keys, specs)


def _unflatten(leaves: list, spec: Any) -> Any:
    if spec is None:
        return leaves[0]
    kind, keys, specs = spec
    items, start = [], 0
    for n, sub in specs:
        items.append(_unflatten(leaves[start : start + n], sub))
        start += n
    if keys is not None:
        return kind(zip(keys, items, strict=True))
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # namedtuples too


def _broadcast_dims(dims: Any, spec: Any, what: str) -> list:
    """One entry of `dims` per leaf of the structure `spec`: an int or None applies to the
    whole subtree, a tuple/list/dict must follow the structure."""
    if spec is None or not isinstance(dims, (tuple, list, dict)):
        return [dims] * _count(spec)
    kind, keys, specs = spec
    entries = [dims[k] for k in keys] if keys is not None and isinstance(dims, dict) else dims
    if isinstance(dims, dict) != (keys is not None) or len(entries) != len(specs):
        raise ValueError(f"vmap: {what} {dims!r} does not match the structure of its argument")
    out = []
    for d, (_, sub) in zip(entries, specs, strict=True):
        out += _broadcast_dims(d, sub, what)
    return out


def _count(spec: Any) -> int:
    return 1 if spec is None else sum(n for n, _ in spec[2])


# -- the differentiated arguments ---------------------------------------------------------------


def _argnums(argnums: Any, nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not all(isinstance(n, int) for n in nums):
        raise RuntimeError(
            f"argnums must be int or Tuple[int, ...], got: {type(argnums)} ({argnums!r})"
        )
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for n in nums:
        if not -nargs <= n < nargs:
            raise RuntimeError(f"Got argnum={n}, but only {nargs} positional inputs")
    return tuple(n % nargs for n in nums)


def _track(t: Any) -> Tensor:
    """A copy of `t` to differentiate against: still connected to t's graph when t requires
    grad (so the result can be differentiated again from outside), else a fresh leaf."""
    if not isinstance(t, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
    if t.requires_grad:
        return t.view_as(t)
    leaf = t.detach().requires_grad_()
    depth = grad_mode.func_transforms  # (the transforms around this one)
    while len(_private_leaves) <= depth:
        _private_leaves.append(weakref.WeakValueDictionary())
    _private_leaves[depth][id(leaf)] = leaf
    return leaf


# The fresh leaves each transform differentiates against, by id, per nesting depth. A leaf
# of a transform nested inside this one (a nested grad's) is no tensor of the outside: a
# result that reaches it owes it nothing. An enclosing transform's leaf is outside this one.
_private_leaves: list[weakref.WeakValueDictionary] = []


def _inner_leaf(t: Tensor) -> bool:
    """Whether t is the fresh leaf of a transform nested inside the one running now."""
    key = id(t)
    return any(d.get(key) is t for d in _private_leaves[grad_mode.func_transforms + 1 :])


def _prepare(args: tuple, nums: tuple[int, ...]) -> tuple[list, list, list]:
    """(args with the differentiated ones replaced by copies, per argnum (copies, spec),
    all copies flat)."""
    new_args = list(args)
    trees, flat = [], []
    for n in nums:
        leaves, spec = _flatten(args[n])
        copies = [_track(t) for t in leaves]
        new_args[n] = _unflatten(copies, spec)
        trees.append((copies, spec))
        flat += copies
    return new_args, trees, flat


def _depends_on_outside(t: Tensor, own: set) -> bool:
    """Does t's graph reach a tensor requiring grad that is not one of our copies?"""
    if not t.requires_grad:
        return False
    if t.grad_fn is None:
        return id(t) not in own and not _inner_leaf(t)
    for node in topological_order(t.grad_fn):
        for e in node.edges:
            if isinstance(e, Tensor) and id(e) not in own and not _inner_leaf(e):
                return True
    return False


def _release(tree: Any, own: set) -> Any:
    """Every Tensor of `tree` detached unless it depends on tensors outside the transform."""
    leaves, spec = _flatten(tree)
    out = [
        t.detach() if isinstance(t, Tensor) and not _depends_on_outside(t, own) else t
        for t in leaves
    ]
    return _unflatten(out, spec)


def _vjps(outputs: list, inputs: list, cotangents: list, create_graph: bool) -> list:
    """sum_k <cotangents[k], d outputs[k] / d inputs>, zeros for inputs not reached."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents, strict=True) if o.requires_grad]
    if not pairs:
        return [zeros_like(t).detach() for t in inputs]
    outs, cts = zip(*pairs, strict=True)
    return list(
        _engine_grad(
            list(outs),
            inputs,
            list(cts),
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
            materialize_grads=True,
        )
    )


def _per_argnum(argnums: Any, trees: list, values: list) -> Any:
    """Split flat per-copy values into the argnums' structures (one, or a tuple of them)."""
    out, start = [], 0
    for copies, spec in trees:
        out.append(_unflatten(values[start : start + len(copies)], spec))
        start += len(copies)
    return out[0] if isinstance(argnums, int) else tuple(out)


def _call_in_transform(
    func: Callable, *args: Any, _vmap: int = 0, _forward: int = 0, **kwargs: Any
) -> Any:
    """func(*args, **kwargs) with grad_mode.func_transforms raised (and func_vmaps, func_forward
    for a vmap, a forward-mode transform): a user's autograd.Function called there must follow
    PyTorch's rules for it (Function.apply checks)."""
    grad_mode.func_transforms += 1
    grad_mode.func_vmaps += _vmap
    grad_mode.func_forward += _forward
    try:
        return func(*args, **kwargs)
    finally:
        grad_mode.func_transforms -= 1
        grad_mode.func_vmaps -= _vmap
        grad_mode.func_forward -= _forward


def _split_aux(out: Any, has_aux: bool, who: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, tuple) or len(out) != 2:
        raise RuntimeError(
            f"{who}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    for leaf in _flatten(out[1])[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return out


# -- grad, vjp, jacobians ---------------------------------------------------------------------


def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning (gradient, value) of `func`, whose output is a 0-d Tensor, with
    respect to the argument(s) `argnums` (an int, or a tuple: then a tuple of gradients, each of
    its argument's shape and structure). With has_aux, func returns (output, aux) and the
    result is (gradient, (value, aux))."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = "grad_and_value(f)(*args)"
        new_args, trees, flat = _prepare(args, _argnums(argnums, len(args)))
        with enable_grad():
            out, aux = _split_aux(_call_in_transform(func, *new_args, **kwargs), has_aux, who)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{who}: Expected f(*args) to return a Tensor, got {type(out)}")
        if out.ndim != 0:
            raise RuntimeError(
                f"{who}: Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{out.ndim} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        own = {id(t) for t in flat}
        outside = _depends_on_outside(out, own) and is_grad_enabled()
        grads = _vjps([out], flat, [None], create_graph=outside)
        grads = _release(grads, own)
        value = _release(out, own)
        result = _per_argnum(argnums, trees, grads)
        if has_aux:
            return result, (value, _release(aux, own))
        return result, value

    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of `func` (0-d Tensor output) with respect to the
    argument(s) `argnums`, each of its argument's shape; with has_aux, (gradient, aux)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(func(*primals), vjp_fn[, aux]): vjp_fn(cotangents), with cotangents shaped like the
    output, returns a tuple with one gradient per primal (of its shape and structure).
    vjp_fn may be called several times."""
    new_args, trees, flat = _prepare(primals, tuple(range(len(primals))))
    with enable_grad():
        out, aux = _split_aux(_call_in_transform(func, *new_args), has_aux, "vjp(f, *primals)")
    out_leaves, out_spec = _flatten(out)
    for leaf in out_leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    own = {id(t) for t in flat}

    def vjp_fn(cotangents: Any) -> tuple:
        cts, ct_spec = _flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function, got {len(cts)} cotangent(s) for {len(out_leaves)} "
                "output(s)"
            )
        for i, (c, o) in enumerate(zip(cts, out_leaves, strict=True)):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {c.shape} and "
                    f"output[{i}] has a shape of {o.shape}."
                )
        outside = is_grad_enabled() and any(
            _depends_on_outside(t, own) for t in out_leaves + cts if isinstance(t, Tensor)
        )
        grads = _release(_vjps(out_leaves, flat, cts, create_graph=outside), own)
        return tuple(_per_argnum(tuple(primals), trees, grads))

    result = (_release(out, own), vjp_fn)
    return (*result, _release(aux, own)) if has_aux else result


def _jacobian(func: Callable, argnums: Any, has_aux: bool, who: str) -> Callable:
    """The Jacobian of every output leaf with respect to every argnums leaf, by rows: for an
    output of shape So and an input of shape Si, a Tensor of shape So + Si."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        new_args, trees, flat = _prepare(args, _argnums(argnums, len(args)))
        with enable_grad():
            out, aux = _split_aux(_call_in_transform(func, *new_args, **kwargs), has_aux, who)
        out_leaves, out_spec = _flatten(out)
        own = {id(t) for t in flat}
        outside = is_grad_enabled() and any(
            isinstance(o, Tensor) and _depends_on_outside(o, own) for o in out_leaves
        )
        per_output = []
        for o in out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(f"{who}: Expected f to return tensors, got {type(o)}")
            rows = []  # one vjp per element of o, with the one-hot cotangent e_k
            for k in range(o.numel()):
                e = zeros_like(o).detach()
                e.view(-1)[k] = 1
                rows.append(_vjps([o], flat, [e], create_graph=outside))
            blocks = []
            for i, t in enumerate(flat):
                col = [r[i] for r in rows]
                block = stack(col) if col else zeros_like(t).detach().reshape(0, *t.shape)
                blocks.append(block.reshape((*o.shape, *t.shape)))
            per_output.append(_per_argnum(argnums, trees, _release(blocks, own)))
        jac = _unflatten(per_output, out_spec)
        return (jac, _release(aux, own)) if has_aux else jac

    return wrapper


def _linearize(outputs: list, inputs: list) -> Callable:
    """A function of tangents (one per input, of its shape) returning the Jacobian-vector
    products J v, one per output (zeros where an output does not depend on the inputs).

    Why two reverse passes give a forward-mode product: g(u) = J^T u is linear in the
    placeholder u, so its vector-Jacobian product with v, d<g(u), v>/du, is J v."""
    live = [o for o in outputs if o.requires_grad]
    us = [zeros_like(o).detach().requires_grad_() for o in live]
    g = _vjps(live, inputs, us, create_graph=True) if live else []

    def apply(tangents: list, create_graph: bool) -> list:
        products = iter(_vjps(g, us, tangents, create_graph) if live else [])
        return [next(products) if o.requires_grad else zeros_like(o).detach() for o in outputs]

    return apply


def jvp(
    func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False
) -> tuple:
    """(func(*primals), the Jacobian-vector product J @ tangents), each in the structure of
    func's output; with has_aux, func returns (output, aux) and aux comes third. primals and
    tangents are tuples of Tensors (or pytrees) of the same structure and shapes. strict is
    accepted and has no effect."""
    who = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"{who}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    p_leaves, p_spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    if t_spec != p_spec:
        raise RuntimeError(
            f"{who}: Expected primals and tangents to have the same python structure, got "
            f"{len(p_leaves)} primal(s) and {len(t_leaves)} tangent(s) in "
            f"{type(primals).__name__} / {type(tangents).__name__}"
        )
    for p, t in zip(p_leaves, t_leaves, strict=True):
        if not isinstance(t, Tensor) or tuple(t.shape) != tuple(p.shape):
            shape = list(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {shape}."
            )
        if t.dtype != p.dtype:  # PyTorch's tangents promote op by op; ours follow the primal
            raise RuntimeError(
                f"{who}: a tangent of dtype {t.dtype} for a primal of dtype {p.dtype}; tinyconv "
                "needs each tangent in its primal's dtype (see README)"
            )
    new_args, _, flat = _prepare(primals, tuple(range(len(primals))))
    with enable_grad():
        out, aux = _split_aux(_call_in_transform(func, *new_args, _forward=1), has_aux, who)
        out_leaves, out_spec = _flatten(out)
        for leaf in out_leaves:
            if not isinstance(leaf, Tensor):
                raise RuntimeError(
                    f"{who}: expected f(*primals) to return only tensors, got unsupported type "
                    f"{type(leaf)}"
                )
        own = {id(t) for t in flat}
        outside = is_grad_enabled() and any(
            isinstance(t, Tensor) and _depends_on_outside(t, own) for t in out_leaves + t_leaves
        )
        products = _linearize(out_leaves, flat)(t_leaves, outside)
    result = (_release(out, own), _release(_unflatten(products, out_spec), own))
    return (*result, _release(aux, own)) if has_aux else result


def linearize(func: Callable, *primals: Any) -> tuple:
    """(func(*primals), jvp_fn): jvp_fn(*tangents) is the Jacobian-vector product at primals,
    as torch.func.linearize (here each call is a jvp; func runs again each time)."""
    out = func(*primals)
    p_leaves, _ = _flatten(primals)

    def jvp_fn(*tangents: Any) -> Any:
        t_leaves, _ = _flatten(tangents)
        if len(t_leaves) != len(p_leaves):
            raise RuntimeError(
                f"Expected the tangents to have {len(p_leaves)} tensors (as the primals), got "
                f"{len(t_leaves)}"
            )
        for k, (p, t) in enumerate(zip(p_leaves, t_leaves, strict=True)):
            if not isinstance(t, Tensor) or tuple(t.shape) != tuple(p.shape):
                shape = t.shape if isinstance(t, Tensor) else type(t).__name__
                raise RuntimeError(
                    f"tangent:{k} with shape {shape} in flattened pytree doesn't match the shape "
                    f"{p.shape} of the corresponding primal."
                )
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def _jacobian_by_columns(func: Callable, argnums: Any, has_aux: bool, who: str) -> Callable:
    """The Jacobian of every output leaf with respect to every argnums leaf, by columns (one
    Jacobian-vector product per input element, as forward mode): shape So + Si."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        new_args, trees, flat = _prepare(args, _argnums(argnums, len(args)))
        with enable_grad():
            out, aux = _split_aux(
                _call_in_transform(func, *new_args, _vmap=1, _forward=1, **kwargs), has_aux, who
            )
            out_leaves, out_spec = _flatten(out)
            for o in out_leaves:
                if not isinstance(o, Tensor):
                    raise RuntimeError(f"{who}: Expected f to return tensors, got {type(o)}")
            own = {id(t) for t in flat}
            outside = is_grad_enabled() and any(_depends_on_outside(o, own) for o in out_leaves)
            jvp_of = _linearize(out_leaves, flat)
            blocks: list[list] = [[] for _ in out_leaves]  # [output][input] -> block
            for i, t in enumerate(flat):
                cols: list[list] = [[] for _ in out_leaves]
                for k in range(t.numel()):  # the tangent e_k of input i, zeros elsewhere
                    tangents = [zeros_like(x).detach() for x in flat]
                    tangents[i].view(-1)[k] = 1
                    for j, col in enumerate(jvp_of(tangents, outside)):
                        cols[j].append(col)
                for j, o in enumerate(out_leaves):
                    block = (  # (columns stacked first, as forward mode's batch: its strides)
                        stack(cols[j]).movedim(0, -1)
                        if cols[j]
                        else zeros_like(o).detach().reshape((*o.shape, 0))
                    )
                    blocks[j].append(block.reshape((*o.shape, *t.shape)))
        per_output = [_per_argnum(argnums, trees, _release(b, own)) for b in blocks]
        jac = _unflatten(per_output, out_spec)
        return (jac, _release(aux, own)) if has_aux else jac

    return wrapper


def jacrev(
    func: Callable, argnums: Any = 0, *, has_aux: bool = False, chunk_size: int | None = None
) -> Callable:
    """The Jacobian of `func` with respect to argument(s) `argnums`, computed by reverse mode
    (one vjp per output element): output shape So and input shape Si give shape So + Si.
    chunk_size is accepted and has no effect (rows are always computed one at a time)."""
    _check_chunk_size(chunk_size)
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(
    func: Callable, argnums: Any = 0, has_aux: bool = False, *, randomness: str = "error"
) -> Callable:
    """The Jacobian of `func`, as torch.func.jacfwd (shape So + Si), by columns: one
    Jacobian-vector product (see jvp) per input element. randomness is accepted for
    compatibility (no vmap runs here)."""
    _check_randomness(randomness)
    return _jacobian_by_columns(func, argnums, has_aux, "jacfwd")


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """The Hessian of `func` (0-d output) with respect to `argnums`: jacfwd(jacrev(func)),
    shape Si + Si for an input of shape Si."""
    return jacfwd(jacrev(func, argnums), argnums)


# -- vmap -----------------------------------------------------------------------------------------


def _check_chunk_size(chunk_size: Any) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")


def _check_randomness(randomness: Any) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )


def _batch_size(leaves: list, dims: list, name: str) -> int:
    sizes = []
    for t, d in zip(leaves, dims, strict=True):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(
                f"vmap({name}, ...): in_dims entries must be int or None, got {d!r} ({type(d)})"
            )
        if not isinstance(t, Tensor):
            raise ValueError(
                f"vmap({name}, ...): Got in_dim={d} for an input but the input is of type "
                f"{type(t)}. We cannot vmap over non-Tensor arguments, please use None as the "
                "respective in_dim"
            )
        if not -t.ndim <= d < t.ndim:
            raise ValueError(
                f"vmap({name}, ...): Got in_dim={d} for some input, but that input is a Tensor "
                f"of dimensionality {t.ndim} so expected in_dim to satisfy "
                f"{-t.ndim} <= in_dim < {t.ndim}."
            )
        sizes.append(t.shape[d])
    if not sizes:
        raise ValueError(
            f"vmap({name}, ...): at least one input must be a Tensor mapped over (an in_dim "
            "that is not None)"
        )
    if len(set(sizes)) > 1:
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    if sizes[0] == 0:
        raise ValueError(
            f"vmap({name}, ...): the mapped dimension has size 0; tinyconv's vmap is a loop over "
            "the samples and cannot tell the output's shape without running one"
        )
    return sizes[0]


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """func mapped over a dimension of its inputs, implemented plainly as a Python loop: for
    each index i along the mapped dims, call func on the i-th slices (inputs with in_dim None
    are passed whole, keyword arguments too), then stack the results along `out_dims`.

    Shapes: an input (B, *S) with in_dim 0 reaches func as (*S); an output (*T) per sample
    comes back as (B, *T) with out_dim 0. in_dims / out_dims are an int, or a tuple (per
    argument / per output) of ints or None (in_dims), matching pytree structures. randomness:
    'error' raises if func draws random numbers, 'same' gives every sample the same draws,
    'different' lets them differ. chunk_size is checked and has no effect (the loop already
    runs one sample at a time). Unlike PyTorch's vmap, the loop does not stop func from
    calling .item() or branching on values; out_dims=None raises (see README)."""
    _check_randomness(randomness)
    _check_chunk_size(chunk_size)
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not (isinstance(in_dims, int) and not isinstance(in_dims, bool)) and not isinstance(
            in_dims, tuple
        ):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int "
                "or a (potentially nested) tuple matching the structure of inputs, got: "
                f"{type(in_dims)}."
            )
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible "
                f"with the structure of `inputs`: in_dims has {len(in_dims)} entries but "
                f"there are {len(args)} inputs"
            )
        leaves, spec = _flatten(tuple(args))
        dims = _broadcast_dims(in_dims, spec, "in_dims")
        size = _batch_size(leaves, dims, name)
        state = _rng.get_rng_state()
        results = []
        for i in range(size):
            if randomness == "same":
                _rng.set_rng_state(state)
            sliced = [t if d is None else t.select(d, i) for t, d in zip(leaves, dims, strict=True)]
            before = _rng.get_rng_state() if randomness == "error" else None
            results.append(_call_in_transform(func, *_unflatten(sliced, spec), _vmap=1, **kwargs))
            if before is not None and not bool((_rng.get_rng_state() == before).all()):
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap"
                )
        return _stack_results(results, out_dims, name)

    return wrapper


def _stack_results(results: list, out_dims: Any, name: str) -> Any:
    first, spec = _flatten(results[0])
    odims = _broadcast_dims(out_dims, spec, "out_dims")
    per_sample = [_flatten(r)[0] for r in results]
    stacked = []
    for j, (leaf, d) in enumerate(zip(first, odims, strict=True)):
        if not isinstance(leaf, Tensor):
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaf)}"
            )
        if d is None:
            raise ValueError(
                f"vmap({name}, ..., out_dims=None): tinyconv's vmap is a loop and cannot tell "
                "an output that does not depend on the mapped inputs; use an int out_dim"
            )
        # (stacked on dim 0 and moved: a view, with the strides PyTorch's vmap gives)
        stacked.append(stack([r[j] for r in per_sample]).movedim(0, d))
    return _unflatten(stacked, spec)
