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

Gradients are NumPy arrays, and each node runs its NumPy `backward`. With
`create_graph=True` they are Tensors instead, and each node runs its
`graph_backward`, the same math written in tinyconv's own differentiable ops,
so the gradient has a graph of its own and can be differentiated again.

`grad(outputs, inputs)` runs the same walk but hands back the gradients that
reach `inputs` instead of adding them into `.grad`, and skips every node that
cannot reach an input.

Observers (anomaly detection, the backward trace) can watch each step.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._errors import TensorValueError
from .._indexing import _dense_layout
from . import function as _function
from . import grad_mode, ieee
from .function import Function
from .ieee import quiet as _quiet
from .ieee import restore as _restore

# Callables `observer(node, grad_output, grads_to_inputs)`, run after each node.
observers: list[Callable[[Function, np.ndarray, tuple], None]] = []

# Hooks registered on leaf tensors (Tensor.register_hook), by id(tensor): (weakref, {key: fn}).
# Kept beside the engine rather than on every Tensor, since few tensors ever get one.
# Hooks on non-leaf tensors live on the node that made them (`node._tensor_hooks`).
leaf_hooks: dict[int, tuple[Any, dict[int, Callable]]] = {}
# Tensor.register_post_accumulate_grad_hook: id(leaf) -> (weakref to it, {handle id: hook(leaf)})
post_accumulate_hooks: dict[int, tuple[Any, dict[int, Callable]]] = {}
# Tensor.grad_dtype set on a leaf: id(leaf) -> (weakref to it, the dtype its .grad takes,
# or None: the gradient's own); a leaf not here takes its own dtype
grad_dtypes: dict[int, tuple[Any, Any]] = {}


def set_grad_dtype(leaf: Any, dtype: np.dtype | None) -> None:
    """Tensor.grad_dtype's setter: record it (dropped with the leaf)."""
    key = id(leaf)
    # (the dict bound as a default: at interpreter exit the module global is None)
    ref = weakref.ref(leaf, lambda _r, key=key, d=grad_dtypes: d.pop(key, None))
    grad_dtypes[key] = (ref, dtype)


def grad_dtype_of(leaf: Any) -> np.dtype | None:
    """The dtype a leaf's ``.grad`` takes: its grad_dtype if set (None: whatever dtype the
    gradient has), else its own dtype."""
    if grad_dtypes:
        entry = grad_dtypes.get(id(leaf))
        if entry is not None and entry[0]() is leaf:
            return entry[1]
    return leaf._data.dtype


class RemovableHandle:
    """What `register_hook` (tensors) and `register_*_hook` (modules) return: `handle.remove()`
    takes the hook out again; as a context manager, the hook lives for the `with` block.
    It holds its hook dicts weakly, so a handle kept around does not keep them alive."""

    next_id = 0

    def __init__(self, hooks_dict: dict, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = extra_dict if isinstance(extra_dict, (list, tuple)) else [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras if d is not None)

    def remove(self) -> None:
        """Remove the hook (again is harmless)."""
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register_hook(tensor: Any, hook: Callable) -> RemovableHandle:
    """Run `hook(grad)` whenever a gradient for `tensor` is computed; a returned
    Tensor replaces the gradient. See Tensor.register_hook."""
    if not tensor._requires_grad:
        raise RuntimeError(
            "register_hook: cannot register a hook on a tensor that does not require gradient"
        )
    node = tensor.grad_fn
    if node is None:
        key = id(tensor)
        entry = leaf_hooks.get(key)
        if entry is None or entry[0]() is not tensor:
            # (the dict bound as a default: at interpreter exit the module global is None)
            ref = weakref.ref(tensor, lambda _r, key=key, d=leaf_hooks: d.pop(key, None))
            entry = leaf_hooks[key] = (ref, OrderedDict())  # (weakly referable, for handles)
        hooks = entry[1]
    else:
        if node._tensor_hooks is None:
            node._tensor_hooks = OrderedDict()
        hooks = node._tensor_hooks
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_post_accumulate_grad_hook(tensor: Any, hook: Callable) -> RemovableHandle:
    """Run `hook(tensor)` after each backward has accumulated into the leaf's .grad."""
    if tensor.grad_fn is not None:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
            "registered on non-leaf tensors"
        )
    if not tensor._requires_grad:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
            "does not require gradient"
        )
    key = id(tensor)
    entry = post_accumulate_hooks.get(key)
    if entry is None or entry[0]() is not tensor:
        ref = weakref.ref(tensor, lambda _r, key=key, d=post_accumulate_hooks: d.pop(key, None))
        entry = post_accumulate_hooks[key] = (ref, OrderedDict())
    handle = RemovableHandle(entry[1])
    entry[1][handle.id] = hook
    return handle


def _call_hook(fn: Callable, arg: Any, create_graph: bool) -> Any:
    """fn(arg) in the grad mode of PyTorch's engine during backward: on only with
    create_graph (so a hook may update a leaf in place, `p.add_(p.grad, alpha=-lr)`)."""
    if grad_mode.enabled == create_graph:
        return fn(arg)
    with grad_mode.set_grad_enabled(create_graph):
        return fn(arg)


def _run_hooks(hooks: dict, grad: Any, create_graph: bool) -> Any:
    """Call each tensor hook on the gradient in order; a returned Tensor replaces it."""
    for fn in list(hooks.values()):
        seen = grad if create_graph else make_tensor(grad, None, False)
        new = _call_hook(fn, seen, create_graph)
        if new is not None:
            if not isinstance(new, Tensor):
                raise TypeError(
                    f"a tensor hook must return a Tensor or None, got {type(new).__name__}"
                )
            if new.shape != seen.shape:
                raise RuntimeError(
                    f"a tensor hook returned a gradient of shape {tuple(new.shape)}, but the "
                    f"tensor has shape {tuple(seen.shape)}"
                )
            if new._data.dtype != seen._data.dtype:  # (PyTorch refuses it too)
                raise RuntimeError(
                    f"hook '{getattr(fn, '__name__', fn)}' has changed the type of value (was "
                    f"{seen.type()} got {new.type()})"
                )
            grad = new if create_graph else new._data
    return grad


def topological_order(root: Any) -> list[Function]:
    """All nodes reachable from `root` (a node, or a list of nodes), each before the
    nodes that feed it."""
    roots = root if isinstance(root, list) else [root]
    order: list[Function] = []
    # (a root reached from an earlier root is placed by that walk, after the nodes that feed
    # it: seeding `seen` with every root would let backward([z, y]) run y's node before z's
    # gradient reached it when y feeds z)
    seen: set = set()
    for r in roots:
        if not isinstance(r, Function) or r in seen:
            continue
        seen.add(r)
        stack = [(r, iter(r.edges))]
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


def _grad_like(grad: Any, data: np.ndarray, dtype: Any = None) -> np.ndarray:
    """A copy of `grad` with the leaf's dtype and memory layout, as PyTorch lays out `.grad`
    like its parameter. An op's own layout (conv_fast's weight gradient is (cols @ G.T).T,
    transposed) would make every optimiser step mix layouts: SGD momentum on ResNet-18's
    weights took 90 ms a step with transposed gradients, 22 ms with C-ordered ones.
    ``dtype``: a grad_dtype set on the leaf (an np.dtype, or False for the gradient's own)."""
    if dtype is not None:
        out = np.empty_like(data, dtype=np.asarray(grad).dtype if dtype is False else dtype)
        np.copyto(out, grad, casting="unsafe")
        return out
    if (
        grad.__class__ is np.ndarray
        and grad.dtype == data.dtype
        and grad.shape == data.shape
        and grad.flags.c_contiguous
        and data.flags.c_contiguous
    ):
        # the usual case, both C-ordered: a plain copy is that layout already (the general
        # path below costs ~2.5x as much, paid by every first gradient of every leaf)
        return grad.copy()
    if np.shape(grad) != data.shape:  # (a scalar or a bad shape: as np.array makes it)
        return np.array(grad, dtype=data.dtype, copy=True)
    # the leaf's layout (C order for a C-contiguous parameter) when it covers its memory
    # densely, else C order (an expanded leaf's), as PyTorch's AccumulateGrad
    dense = _dense_layout(data) is not None
    out = np.empty_like(data) if dense else np.empty(data.shape, data.dtype)
    np.copyto(out, grad, casting="unsafe")  # (a cast as np.array(grad, dtype=...) makes it)
    return out


def _unshared(grad: Any, data: np.ndarray) -> bool:
    """Whether `grad`, which arrived from _backward_node, can become the leaf's `.grad` as it
    is: an array in the leaf's dtype, shape and (C) layout that nothing else refers to.

    PyTorch's AccumulateGrad likewise takes a gradient no one else holds instead of
    copying it; the copy cost ~4% of a ResNet-18 training step (45 MB of weight
    gradients, 140 -> 134 ms at 1 thread). Reference counts decide it: on the way from
    _backward_node's loop to here a gradient nothing else holds has exactly
    _UNSHARED_REFS references (measured below), so any other holder (another edge that
    got the same array, a saved tensor, a cache, the user) shows as more. A view counts
    only when it is the one view of an array of its own size that nothing else holds:
    two views of one gradient must not both become a `.grad`.
    """
    if not (
        grad.__class__ is np.ndarray
        and grad.dtype == data.dtype
        and grad.shape == data.shape
        and grad.flags.c_contiguous
        and grad.flags.writeable
        and data.flags.c_contiguous
        and sys.getrefcount(grad) == _UNSHARED_REFS
    ):
        return False
    base = grad.base
    # (base's references: grad's .base, the name `base`, getrefcount's argument)
    return base is None or (
        base.__class__ is np.ndarray
        and base.base is None
        and base.nbytes == grad.nbytes
        and sys.getrefcount(base) == 3
    )


def _count_unshared_refs() -> int:
    """The references a gradient nothing else holds has inside _unshared, measured on the
    same path: a tuple of gradients from a node's backward, walked by a ``zip`` loop (which,
    in CPython, keeps the last items in the tuple it reuses), then two calls deep. Measured
    rather than written down, so that no interpreter's bookkeeping can make a shared
    gradient look unshared."""

    def inner(grad: Any) -> int:  # stands for _unshared
        return sys.getrefcount(grad)

    def outer(leaf: Any, grad: Any) -> int:  # stands for accumulate_grad
        return inner(grad)

    grads_in = (np.empty(1),)
    refs = 0
    for _edge, g in zip((None,), grads_in):  # noqa: B905 (as _backward_node's loop)
        refs = outer(None, g)
    return refs


_UNSHARED_REFS = _count_unshared_refs()


def accumulate_grad(
    leaf: Any, grad: Any, create_graph: bool = False, from_node: bool = False
) -> None:
    """leaf.grad += grad, as PyTorch does: the first gradient is copied in (or taken as it
    is, when `from_node` says it came straight from _backward_node and nothing else holds
    it: _unshared); with create_graph the sum is out of place, so the gradient keeps its
    graph."""
    if leaf_hooks:
        entry = leaf_hooks.get(id(leaf))
        if entry is not None and entry[0]() is leaf and entry[1]:
            grad = _run_hooks(entry[1], grad, create_graph)
            from_node = False  # (the hooks' result may be held anywhere)
    if not leaf._requires_grad:
        # detach_() or requires_grad_(False) after the graph was built: PyTorch's
        # AccumulateGrad then stores nothing (its hooks above still ran)
        return
    # (`_grad`, not the `grad` property: a leaf's property only adds a check for non-leaves)
    old = leaf._grad
    # (a grad_dtype set on the leaf: None keeps the gradient's dtype, a dtype casts to it)
    own = grad_dtype_of(leaf) if grad_dtypes else leaf._data.dtype
    if create_graph:
        if own is not None and grad.dtype != own:
            grad = grad.to(own)
        leaf._grad = grad if old is None else old + grad
    elif old is None:
        if from_node and own == leaf._data.dtype and _unshared(grad, leaf._data):
            leaf._grad = make_tensor(grad, None, False)
        elif own == leaf._data.dtype:
            leaf._grad = make_tensor(_grad_like(grad, leaf._data), None, False)
        else:
            leaf._grad = make_tensor(
                _grad_like(grad, leaf._data, False if own is None else own), None, False
            )
    elif old._requires_grad:
        # a grad kept from a create_graph backward: PyTorch adds in place (grad mode is off
        # here), so the grad keeps its identity and its graph, and counts one more change
        if old._data.flags.writeable:
            old._data += grad
        else:  # (a broadcast view an op returned)
            old._data = old._data + grad
        old._vc[0] += 1
    else:
        old._data += grad
    if post_accumulate_hooks:
        entry = post_accumulate_hooks.get(id(leaf))
        if entry is not None and entry[0]() is leaf:
            for fn in list(entry[1].values()):
                _check_post_hook_result(_call_hook(fn, leaf, create_graph), leaf)


def _check_post_hook_result(res: Any, leaf: Any) -> None:
    """PyTorch's check of what a post-accumulate-grad hook returned: None, or the leaf itself
    (`lambda p: p.add_(...)`, the optimiser-step idiom); anything else is an error."""
    if res is None or res is leaf:
        return
    if not isinstance(res, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(res).__name__}'")
    raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def _grad_for_node(node: Function, grad_out: Any, create_graph: bool) -> Any:
    """The finished gradient of a node's output: tensor hooks, then retain_grad()."""
    if node._tensor_hooks:
        grad_out = _run_hooks(node._tensor_hooks, grad_out, create_graph)
    if node._retained is not None:
        kept = node._retained()
        if kept is not None:
            _add_to_grad(kept, grad_out, create_graph)
    return grad_out


def _hook_tensor(g: Any, create_graph: bool) -> Any:
    return g if create_graph or g is None else make_tensor(g, None, False)


def _hook_result(node: Function, new: Any, n: int, create_graph: bool) -> list:
    """A node hook's returned gradients, checked, as the engine carries them."""
    if not isinstance(new, (tuple, list)) or len(new) != n:
        got = len(new) if isinstance(new, (tuple, list)) else type(new).__name__
        raise RuntimeError(
            f"a hook on {node.name()} has returned an incorrect number of values "
            f"(got {got}, but expected {n})"
        )
    out = []
    for g in new:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"a hook on {node.name()} returned a {type(g).__name__}, not a Tensor")
        out.append(g if create_graph or g is None else g._data)
    return out


def _run_prehooks(node: Function, hooks: dict, grad_out: Any, create_graph: bool) -> Any:
    """Node pre hooks (Node.register_prehook): each sees (grad_output,), may replace it."""
    for fn in list(hooks.values()):
        new = _call_hook(fn, (_hook_tensor(grad_out, create_graph),), create_graph)
        if new is not None:
            (grad_out,) = _hook_result(node, new, 1, create_graph)
    return grad_out


def _run_posthooks(
    node: Function, hooks: dict, grads_in: tuple, grad_out: Any, create_graph: bool
) -> tuple:
    """Node post hooks (Node.register_hook): each sees (grad_inputs, grad_outputs), one
    grad_input per edge next_functions shows (None where no gradient flows), and may replace
    grad_inputs."""
    shown = node._shown()
    gin = [None if e is None else g for e, g in zip(shown, grads_in)]  # noqa: B905
    gin += [None] * (len(shown) - len(gin))
    for fn in list(hooks.values()):
        args = (
            tuple(_hook_tensor(g, create_graph) for g in gin),
            (_hook_tensor(grad_out, create_graph),),
        )
        new = _call_hook(lambda a, fn=fn: fn(*a), args, create_graph)
        if new is not None:
            gin = _hook_result(node, new, len(shown), create_graph)
    return tuple(gin) + tuple(grads_in[len(shown) :])


def _add_to_grad(t: Any, g: Any, create_graph: bool) -> None:
    """t.grad += g on a non-leaf (retain_grad, backward(inputs=...)): no hooks here."""
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = make_tensor(np.array(g, copy=True), None, False)
    else:
        t._grad._data += g


def _add_slice_grad(node: Function, grad_out: Any, grads: dict, owned: set) -> bool:
    """An index node's backward without its full-size zeros (Function.add_grad_into): its
    gradient goes straight into the pending gradient of the tensor it was cut from, when
    that is a buffer the walk made itself (`owned`: nobody else holds it), or into a new
    one. Returns False (nothing done) where the plain backward must run instead.

    The sum is backward's (buffer + zeros-with-grad), element for element, except that
    elements outside the slice are not added 0.0 (a -0.0 there stays -0.0)."""
    edge = node.edges[0]
    meta = node._out_meta
    if (
        not isinstance(edge, Function)
        or type(grad_out) is not np.ndarray
        or grad_out.dtype != meta[1]
        or node._saved_versions
    ):
        return False
    prev = grads.get(edge)
    if prev is None:
        buffer = np.zeros(node.shape, grad_out.dtype)
    elif edge in owned and type(prev) is np.ndarray and prev.dtype == grad_out.dtype:
        buffer = prev
    else:
        return False
    if not node.add_grad_into(node, buffer, grad_out):
        return False
    if prev is None:
        grads[edge] = buffer
        owned.add(edge)
    return True


def _backward_node(
    node: Function,
    grad_out: Any,
    retain_graph: bool,
    grads: dict[Function, Any],
    create_graph: bool = False,
    capture: dict | None = None,
    deferred: dict | None = None,
    owned: set | None = None,
) -> None:
    """Run one node's backward: add what it sends to producing nodes into `grads`,
    and what it sends to leaves into their `.grad` (or into `capture`, for grad()).
    Gradients for leaves with hooks wait in `deferred` (see flush_deferred). `owned`:
    the nodes whose pending gradient in `grads` the walk made itself, so it may add
    into it in place (see _add_slice_grad)."""
    prof = _function.profiler
    if prof is not None:  # (a profile is recording: time this node)
        token = prof.begin_node(node, grad_out)
    if node._tensor_hooks or node._retained is not None:
        grad_out = _grad_for_node(node, grad_out, create_graph)
    node_hooks = node._node_hooks
    if node_hooks is not None and node_hooks[0]:
        grad_out = _run_prehooks(node, node_hooks[0], grad_out, create_graph)
    if (
        node.add_grad_into is not None
        and node_hooks is None
        and not node._released
        and owned is not None
        and not create_graph
        and prof is None
        and not observers
        and _add_slice_grad(node, grad_out, grads, owned)
    ):
        if not retain_graph and node.torch_saves:
            node._released = True
        return
    if create_graph:
        grads_in = node._run_graph_backward(grad_out)
    elif node.array_mode and type(grad_out) is np.ndarray and not node._released:
        # Function._run_backward inlined for a built-in op's node, the usual one (one call
        # less per node, ~4% of the micro step's backward); the rest go through it
        for vc, version, _ in node._saved_versions:
            if vc[0] != version:
                node._check_saved_versions()  # raises, naming the tensor
        grads_in = node.backward(node, grad_out)
        if type(grads_in) is not tuple:
            grads_in = (grads_in,)
    else:
        grads_in = node._run_backward(grad_out)
    if prof is not None:
        prof.end(token, grads_in)
    if node_hooks is not None and node_hooks[1]:
        grads_in = _run_posthooks(node, node_hooks[1], grads_in, grad_out, create_graph)
    if not retain_graph and node._saved is not None:
        # free what forward saved, once backward no longer needs it (saved_tensors then raises)
        node._saved = None
        node._released = True
        # (set only where forward set them: an attribute of its own is a dict entry more to
        # make on every node, when the class's None reads the same)
        if node._unpack_nodes is not None:
            node._unpack_nodes = None
        if node._packed is not None:
            node._packed = None
    elif not retain_graph and node.torch_saves:
        node._released = True
    if observers:
        shown_out = grad_out._data if create_graph else grad_out
        shown_in = (
            tuple(None if g is None else g._data for g in grads_in) if create_graph else grads_in
        )
        for obs in observers:
            obs(node, shown_out, shown_in)
    # (zip's strict= keyword alone costs more than a short loop: ~1.5k instructions per node)
    for edge, g in zip(node.edges, grads_in):  # noqa: B905
        if edge is None or g is None:
            continue
        if isinstance(edge, Function):
            prev = grads.get(edge)
            if prev is None:
                grads[edge] = g
            else:
                grads[edge] = prev + g
                if owned is not None:  # (a new array: the walk's own)
                    owned.add(edge)
        elif capture is None:
            if (
                (leaf_hooks and id(edge) in leaf_hooks)
                or (post_accumulate_hooks and id(edge) in post_accumulate_hooks)
            ) and deferred is not None:
                # a leaf with hooks: they see its total gradient once, as in PyTorch, so
                # sum what arrives and accumulate at the end of the walk
                prev = deferred.get(id(edge))
                deferred[id(edge)] = (edge, g if prev is None else prev[1] + g)
            else:
                old = edge._grad
                if old is None or create_graph or old._requires_grad or deferred is None:
                    accumulate_grad(edge, g, create_graph, True)
                else:  # accumulate_grad's usual case inlined (no hooks here: see above)
                    old._data += g
        elif id(edge) in capture:
            prev = capture[id(edge)]
            capture[id(edge)] = g if prev is None else prev + g


def run_backward(root: Function, grad: np.ndarray, retain_graph: bool = False) -> None:
    """Propagate `grad` (d loss / d root's output) through the graph to the leaves."""
    grads: dict[Function, np.ndarray] = {root: grad}
    deferred: dict = {}
    owned: set = set()
    # Fast path: while only one node is waiting, its gradient is complete (any other
    # node that could add to it has run, or never received a gradient itself), so
    # run it without sorting anything. The top of a graph is often such a chain:
    # sum <- pow <- sub <- conv2d. Once two nodes wait, one may feed the other:
    # then everything below the last node run goes in topological order.
    last = root
    while len(grads) == 1:
        (last,) = grads
        _backward_node(last, grads.pop(last), retain_graph, grads, False, None, deferred, owned)
    if grads:
        for node in topological_order(last)[1:]:  # [0] is `last` itself, already run
            grad_out = grads.pop(node, None)
            if grad_out is None:  # no gradient reached this node (e.g. unused branch)
                continue
            _backward_node(node, grad_out, retain_graph, grads, False, None, deferred, owned)
    if deferred:
        flush_deferred(deferred, False)


def flush_deferred(deferred: dict, create_graph: bool) -> None:
    """Accumulate the summed gradients of leaves that have hooks (hooks run once each)."""
    for leaf, g in deferred.values():
        accumulate_grad(leaf, g, create_graph)


def run_backward_general(
    roots: list[Any],
    seeds: list[Any],
    retain_graph: bool,
    create_graph: bool,
    targets: list[Any] | None,
) -> dict | None:
    """The general walk behind create_graph and grad(): several roots, gradients that
    may be Tensors, and optionally `targets` (tensors) whose gradients are captured
    and returned by id instead of being added into leaves' `.grad`."""
    capture: dict | None = None
    node_targets: dict[Function, int] = {}
    if targets is not None:
        capture = {}
        for t in targets:
            capture[id(t)] = None
            if t.grad_fn is not None:
                node_targets[t.grad_fn] = id(t)
    grads: dict[Any, Any] = {}
    with grad_mode.set_grad_enabled(create_graph):
        for r, s in zip(roots, seeds, strict=True):
            if isinstance(r, Function):
                grads[r] = s if r not in grads else grads[r] + s
            elif capture is None:  # a leaf root: its gradient is the seed itself
                accumulate_grad(r, s, create_graph)
            elif id(r) in capture:
                prev = capture[id(r)]
                capture[id(r)] = s if prev is None else prev + s
        order = topological_order([r for r in roots if isinstance(r, Function)])
        needed = _nodes_reaching(order, capture, node_targets) if capture is not None else None
        deferred: dict = {}
        owned: set | None = None if create_graph else set()
        for node in order:
            grad_out = grads.pop(node, None)
            if grad_out is None:
                continue
            if node in node_targets:  # a non-leaf input of grad(): its gradient is complete
                key = node_targets[node]
                if node in needed:
                    # The walk goes on below it: PyTorch captures the gradient as it arrives
                    # (its tensor hooks then change only what flows on); when the walk stops
                    # here, the hooks run first and the captured gradient is theirs.
                    captured = grad_out
                else:
                    captured = _grad_for_node(node, grad_out, create_graph)
                capture[key] = captured if capture[key] is None else capture[key] + captured
                if node not in needed:
                    continue
                _backward_node(
                    node, grad_out, retain_graph, grads, create_graph, capture, deferred, owned
                )
                continue
            if needed is not None and node not in needed:
                continue
            _backward_node(
                node, grad_out, retain_graph, grads, create_graph, capture, deferred, owned
            )
        flush_deferred(deferred, create_graph)
    return capture


def _nodes_reaching(order: list[Function], capture: dict, node_targets: dict) -> set:
    """The nodes from which some target can be reached (the only ones grad() must run)."""
    needed: set = set()
    for node in reversed(order):  # inputs before the nodes that use them
        for e in node.edges:
            if e is None:
                continue
            if isinstance(e, Function):
                if e in needed or e in node_targets:
                    needed.add(node)
                    break
            elif id(e) in capture:
                needed.add(node)
                break
    return needed


def _seed(tensor: Any, gradient: Any, create_graph: bool, who: str) -> Any:
    """The gradient to start from at `tensor`: ones for a one-element output, else `gradient`
    (in the tensor's dtype, or a leaf's grad_dtype: see Tensor.grad_dtype)."""
    data = tensor._data
    if grad_dtypes and tensor._grad_fn is None:
        own = grad_dtype_of(tensor)
        if own != data.dtype and gradient is not None:
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            data = np.empty(data.shape, g.dtype if own is None else own)
    if gradient is None:
        if data.size != 1:
            raise RuntimeError(
                f"{who}: grad can be implicitly created only for scalar outputs, "
                f"but this tensor has shape {tuple(data.shape)}; reduce it (e.g. .sum()) "
                "or pass a gradient of the same shape"
            )
        grad = np.empty_like(data)  # np.ones_like, without its Python overhead
        grad.fill(1)
        return make_tensor(grad, None, False) if create_graph else grad
    if isinstance(gradient, Tensor):
        if gradient.shape != tensor.shape:
            raise RuntimeError(
                f"{who}: gradient has shape {tuple(gradient.shape)} but the tensor has "
                f"shape {tuple(data.shape)}; they must match"
            )
        if create_graph:
            return gradient if gradient._data.dtype == data.dtype else gradient.to(data.dtype)
        return gradient._data.astype(data.dtype, copy=False)
    grad = np.asarray(gradient)
    if grad.shape != data.shape:
        raise RuntimeError(
            f"{who}: gradient has shape {tuple(grad.shape)} but the tensor has "
            f"shape {tuple(data.shape)}; they must match"
        )
    grad = grad.astype(data.dtype, copy=False)
    return make_tensor(grad, None, False) if create_graph else grad


_warned_grad_cycle = False


def _warn_grad_cycle() -> None:
    """PyTorch's once-per-process warning for backward(create_graph=True)."""
    global _warned_grad_cycle
    if not _warned_grad_cycle:
        _warned_grad_cycle = True
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.",
            UserWarning,
            stacklevel=3,
        )


def backward(
    tensor: Any,
    gradient: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Compute d(tensor)/d(leaf) for every leaf that requires grad; add into `.grad`.

    create_graph=True: the gradients get graphs of their own (double backward).
    inputs: only these tensors (leaves or not) get their `.grad` filled in.
    """
    # inf - inf in a gradient is nan without a NumPy RuntimeWarning (ieee.py); set here rather
    # than by ieee.quietly's wrapper: one call less on every training step's backward
    token = _quiet()
    try:
        if tensor._view_of is not None and tensor._gv != tensor._vc[0]:
            tensor._refresh_view()  # a view whose base changed in place: rebase its history first
        if not tensor._requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no grad_fn; "
                "make an input require grad first (e.g. tensor(..., requires_grad=True))"
            )
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph:
            _warn_grad_cycle()
        data = tensor._data
        if gradient is None and not create_graph and data.size == 1:
            # (_seed's usual case, inlined: a loss's 1; a 0-d loss's made by np.array, at
            # half the instructions of empty_like and fill)
            if data.ndim == 0:
                grad = np.array(1, data.dtype)
            else:
                grad = np.empty_like(data)
                grad.fill(1)
        else:
            grad = _seed(tensor, gradient, create_graph, "backward()")
        if inputs is None and not create_graph:
            node = tensor._grad_fn  # (the view's history was made current above)
            if node is None:  # a leaf: its gradient is the seed itself
                accumulate_grad(tensor, grad)
                return
            run_backward(node, grad, bool(retain_graph))
            return
        targets = None
        if inputs is not None:
            targets = _as_tensor_list(inputs, "backward(inputs=...)")
            if not targets:
                raise RuntimeError("backward(): inputs= was given but is empty")
            _check_differentiable(targets, "backward(inputs=...)")
        root = tensor.grad_fn if tensor.grad_fn is not None else tensor
        captured = run_backward_general([root], [grad], bool(retain_graph), create_graph, targets)
        _deliver_to_inputs(captured, targets, create_graph)
    finally:
        _restore(token)


def _deliver_to_inputs(captured: Any, targets: Any, create_graph: bool) -> None:
    """backward(inputs=...): the gradients the walk captured for the targets go into their
    .grad, a leaf's by AccumulateGrad's rule and a non-leaf's added (None: nothing captured)."""
    if captured is None:
        return
    for t in targets or ():
        g = captured.pop(id(t), None)
        if g is None:
            continue
        if t.grad_fn is None:
            accumulate_grad(t, g, create_graph)
        else:
            _add_to_grad(t, g, create_graph)


def autograd_backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """torch.autograd.backward: backward from one tensor or from several at once (their
    gradients summed into the leaves in one walk). grad_tensors: one per tensor (None: ones,
    for a one-element tensor); grad_variables is its old name."""
    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError(
                "autograd.backward: `grad_tensors` and `grad_variables` (deprecated) arguments "
                "both passed; use `grad_tensors` only"
            )
        grad_tensors = grad_variables
    if inputs is not None and not isinstance(inputs, Tensor) and len(inputs) == 0:
        raise RuntimeError("autograd.backward: `inputs` argument to backward() cannot be empty")
    outs = _as_tensor_list(tensors, "autograd.backward(tensors=...)")
    if grad_tensors is None:
        gouts = [None] * len(outs)
    elif isinstance(grad_tensors, Tensor):
        gouts = [grad_tensors]
    else:
        gouts = list(grad_tensors)
    if len(gouts) != len(outs):
        raise RuntimeError(f"got {len(outs)} tensors and {len(gouts)} gradients")
    if len(outs) == 1:
        backward(outs[0], gouts[0], retain_graph, create_graph, inputs)
        return
    for i, o in enumerate(outs):
        if o._view_of is not None and o._gv != o._vc[0]:
            o._refresh_view()
        if not o._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        _warn_grad_cycle()
    targets = None
    if inputs is not None:
        targets = _as_tensor_list(inputs, "autograd.backward(inputs=...)")
        _check_differentiable(targets, "autograd.backward(inputs=...)")
    token = _quiet()
    try:
        roots = [o.grad_fn if o.grad_fn is not None else o for o in outs]
        seeds = [
            _seed(o, g, create_graph, f"autograd.backward (tensor {i})")
            for i, (o, g) in enumerate(zip(outs, gouts, strict=True))
        ]
        captured = run_backward_general(roots, seeds, bool(retain_graph), create_graph, targets)
        _deliver_to_inputs(captured, targets, create_graph)
    finally:
        _restore(token)


@ieee.quietly
def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """The gradients of `outputs` with respect to `inputs`, returned as a tuple (one per
    input, each of its input's shape), without touching any `.grad`.

    grad_outputs: d(loss)/d(output) for each output (None: ones, for one-element outputs).
    create_graph=True: the returned gradients have graphs, so they can be differentiated.
    allow_unused: return None for an input the outputs do not depend on (else raise);
    materialize_grads: zeros instead of None there.
    """
    if is_grads_batched:
        return _grad_batched(
            outputs,
            inputs,
            grad_outputs,
            retain_graph,
            create_graph,
            allow_unused,
            materialize_grads,
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise TensorValueError(
            "autograd.grad: materialize_grads=True needs allow_unused=True (or None)"
        )
    outs = _as_tensor_list(outputs, "autograd.grad(outputs=...)")
    ins = _as_tensor_list(inputs, "autograd.grad(inputs=...)")
    if not ins:
        raise RuntimeError("autograd.grad: inputs is empty; pass at least one tensor")
    if grad_outputs is None:
        gouts = [None] * len(outs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        gouts = [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise RuntimeError(
            f"autograd.grad: grad_outputs has {len(gouts)} entries but there are "
            f"{len(outs)} outputs; give one per output"
        )
    for i, o in enumerate(outs):
        if o._view_of is not None and o._gv != o._vc[0]:
            o._refresh_view()
        if not o._requires_grad:
            raise RuntimeError(
                f"autograd.grad: element {i} of outputs does not require grad and does not "
                "have a grad_fn"
            )
    _check_differentiable(ins, "autograd.grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots = [o.grad_fn if o.grad_fn is not None else o for o in outs]
    seeds = [
        _seed(o, g, create_graph, f"autograd.grad (output {i})")
        for i, (o, g) in enumerate(zip(outs, gouts, strict=True))
    ]
    captured = run_backward_general(roots, seeds, bool(retain_graph), create_graph, ins)
    result = []
    for i, t in enumerate(ins):
        g = captured.get(id(t))
        if g is not None and t.grad_fn is None and leaf_hooks:  # a leaf's own hooks see it too
            entry = leaf_hooks.get(id(t))
            if entry is not None and entry[0]() is t and entry[1]:
                g = _run_hooks(entry[1], g, create_graph)
        if g is not None and t.grad_fn is None and grad_dtypes:  # (see Tensor.grad_dtype)
            own = grad_dtype_of(t)
            if own is not None and g.dtype != own:
                g = g.to(own) if create_graph else g.astype(own)
        if g is None:
            if materialize_grads:
                result.append(make_tensor(np.zeros_like(t._data), None, False))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used in the "
                    "graph of the outputs, so it has no gradient. Set allow_unused=True to "
                    "get None for it."
                )
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            result.append(make_tensor(g, None, False))
    return tuple(result)


def _grad_batched(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any,
    retain_graph: bool | None,
    create_graph: bool,
    allow_unused: bool | None,
    materialize_grads: bool,
) -> tuple:
    """grad(..., is_grads_batched=True): dim 0 of every grad_output is a batch; one backward
    per batch entry (PyTorch vmaps them), the results stacked along a new dim 0."""
    if grad_outputs is None:
        raise RuntimeError("autograd.grad: is_grads_batched=True needs grad_outputs")
    gouts = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    sizes = {g.shape[0] for g in gouts if isinstance(g, Tensor)}
    if len(sizes) != 1:
        raise RuntimeError(
            "autograd.grad: is_grads_batched=True needs every grad_output to be a Tensor with "
            f"the same batch size (dim 0), got {sorted(sizes)}"
        )
    (n,) = sizes
    from .ops import Stack  # (same layer; ops needs this module loaded first)

    rows = []
    for b in range(n):
        rows.append(
            grad(
                outputs,
                inputs,
                [g[b] if isinstance(g, Tensor) else g for g in gouts],
                retain_graph=True if b < n - 1 else retain_graph,
                create_graph=create_graph,
                allow_unused=allow_unused,
                materialize_grads=materialize_grads,
            )
        )
    out = []
    for per_input in zip(*rows, strict=True):
        if any(g is None for g in per_input):
            out.append(None)
        else:
            out.append(Stack.apply(0, *per_input))
    return tuple(out)


def _as_tensor_list(x: Any, who: str) -> list:
    items = [x] if isinstance(x, Tensor) else list(x) if isinstance(x, Sequence) else None
    if items is None or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f"{who}: expected a Tensor or a sequence of Tensors, got {x!r:.80}")
    return items


def _check_differentiable(tensors: list, who: str) -> None:
    for i, t in enumerate(tensors):
        if t._view_of is not None and t._gv != t._vc[0]:
            t._refresh_view()
        if not t._requires_grad:
            raise RuntimeError(f"{who}: input {i} does not require grad")


# the Tensor <-> Function cycle every autograd has: tensor.py imports this module, so Tensor
# is bound here at the end, once it exists (used at call time)
from ..tensor import Tensor, make_tensor  # noqa: E402
