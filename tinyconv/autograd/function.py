"""`Function`: one differentiable op, its forward and backward side by side.

An op is a subclass with two static methods:

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):          # a, b: np.ndarray
            ctx.save_for_backward(a, b)
            return a * b
        @staticmethod
        def backward(ctx, grad):         # grad: d(loss)/d(out), out's shape
            a, b = ctx.saved_tensors
            return grad * b, grad * a    # d(loss)/d(a), d(loss)/d(b)

`Mul.apply(x, y)` runs forward and, when grad mode is on and an input requires
grad, returns a Tensor whose `grad_fn` is the `ctx` object itself: the graph
node that remembers where the inputs came from (`edges`: for each input, the
node that made it, the leaf Tensor itself, or None when it needs no gradient)
and what backward needs (`saved_tensors`). The engine (engine.py) walks these
nodes. `next_functions` shows the same edges in PyTorch's format.

tinyconv's built-in ops set `array_mode = True`: forward and backward see plain
NumPy arrays, so the math reads as NumPy. A user's subclass (the PyTorch way)
leaves it False and sees Tensors in both, as in PyTorch tutorials.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..kernels.layout import like_channels_last
from ..kernels.scatter import wide_sum
from . import grad_mode
from .grad_mode import _state as _gm_state  # (this thread's grad mode: see apply)
from .ieee import quiet as _quiet
from .ieee import restore as _restore

_ndarray = np.ndarray
_new_object = object.__new__

# Set by anomaly detection (anomaly.py) while it is on; None keeps apply() lean.
record_hook: Any = None
# Set by the profiler (profiler.py) while it records: apply() then runs through its
# run_op, which times the op (and runs it again here with `inside` set).
profiler: Any = None
# Set by forward_ad while a dual level is open: apply() hands every op to it (it runs the
# op with this unset, and computes the tangent of an op whose inputs carry tangents).
forward_hook: Any = None
# forward_ad's hand-over to a user's Function: [{"in": input tangents}]; apply() takes it,
# calls the Function's jvp after its forward and leaves the result under "out"
user_jvp: list = []


def sum_to_shape(grad: Any, shape: tuple, dtype: np.dtype | None = None) -> Any:
    """Undo broadcasting: sum `grad` down to `shape`, and cast it to `dtype`.

    If x of shape (3, 1) was broadcast to (2, 3, 4) in the forward, each x[i, 0]
    was used 2 * 4 times, so its gradient is the sum over those copies.
    `grad` is an array, or a Tensor in a create_graph backward (the sum is then an op).
    """
    if grad.shape != shape:
        extra = grad.ndim - len(shape)
        axes = tuple(range(extra)) + tuple(
            extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
        )
        if isinstance(grad, Tensor):
            if not shape:  # to a scalar: one sum of everything (PyTorch's node, SumBackward0)
                grad = grad.sum()
            else:
                if axes:
                    grad = grad.sum(dim=axes, keepdim=True)
                if extra:
                    grad = grad.reshape(shape)
        else:
            if axes:  # (float16 summed in float32, as PyTorch's)
                grad = wide_sum(grad, axes, keepdims=True)
            if extra:
                grad = grad.reshape(shape)
    if isinstance(grad, Tensor):
        if dtype is not None and grad._data.dtype != dtype:
            grad = grad.to(dtype)
    elif dtype is not None and grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def layout_free(forward: Any) -> Any:
    """Decorate the forward of an op whose numbers would depend on the inputs' memory order
    (NumPy reduces in memory order, so a sum over a channels-last or transposed array adds
    in another order and can differ in the last bits): an array argument that is not
    C-contiguous is copied to C order first. A tensor's values then never depend on its
    layout (x.contiguous(memory_format=channels_last) changes no number). The copies are
    registered as casts of their inputs, so one saved for backward is still that input in a
    create_graph backward."""

    @functools.wraps(forward)
    def wrapped(ctx: Any, *args: Any) -> Any:
        # (the usual case, all C-contiguous, in one plain loop; _ndarray a module global:
        # np.ndarray is two lookups per argument)
        for a in args:
            if type(a) is _ndarray and not a.flags.c_contiguous:
                break
        else:
            return forward(ctx, *args)
        copies = {}
        for i, a in enumerate(args):
            if type(a) is np.ndarray and not a.flags.c_contiguous:
                copies[i] = np.ascontiguousarray(a)
        ctx._cast_sources = {**(ctx._cast_sources or {}), **copies}
        return forward(ctx, *(copies.get(i, a) for i, a in enumerate(args)))

    return wrapped


def channels_last_out(forward: Any) -> Any:
    """Decorate the forward of an op whose output PyTorch writes channels-last when its first
    input is stored channels-last (batch norm): the output is laid out so after the forward
    (outside layout_free, which hands the forward a C-ordered copy)."""

    @functools.wraps(forward)
    def wrapped(ctx: Any, x: Any, *args: Any) -> Any:
        y = forward(ctx, x, *args)
        return like_channels_last(y, x) if type(x) is np.ndarray else y

    return wrapped


class _SavedAttr:
    """grad_fn._saved_<name>: the saved item of one role (a non-data descriptor, so a user's
    Function may still set an attribute of that name on its ctx)."""

    def __init__(self, role: int) -> None:
        self.role = role

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, node: Any, owner: type | None = None) -> Any:
        if node is None:
            return self
        return node._saved_by_role(self.role, self.name)


class _TorchName:
    """`Function.torch_name`: PyTorch's name of the node. Read on a class or a node; set on a
    node (an op whose name depends on the call: `ctx.torch_name = "SumBackward1"`), it moves
    the node to a subclass of that name (made once per name), so that `type(node).__name__`
    is the name too, as in PyTorch, where each name is a class of its own."""

    _variants: dict = {}  # (a node's class, name) -> the class its node moves to

    def __get__(self, node: Any, cls: type | None = None) -> str | None:
        return (cls if node is None else type(node))._default_name

    def __set__(self, node: Any, name: str | None) -> None:
        cls = type(node)
        if cls._default_name == name:  # (the usual case, ~0.1 us: ops name their common node)
            return
        sub = self._variants.get((cls, name))  # (one lookup: this runs in forward, per call)
        if sub is None:
            sub = self._variants[(cls, name)] = self._variant(cls, name)
        if sub is not cls:
            node.__class__ = sub

    def _variant(self, cls: type, name: str | None) -> type:
        if cls._default_name == name:
            return cls
        base = cls.__dict__.get("_variant_of", cls)
        if base._default_name == name:
            return base
        sub = self._variants.get((base, name))
        if sub is None:
            sub = type(
                name if isinstance(name, str) else base.__name__,
                (base,),
                {
                    "_default_name": name,
                    "_variant_of": base,
                    "__module__": base.__module__,
                    "__qualname__": base.__qualname__,  # (the Python class, as for the others)
                    "_class_name": base._class_name,
                },
            )
        return sub


def _vjp_as_backward(cls: type) -> None:
    """A user's Function may name its backward `vjp`, as PyTorch allows; defining both is
    PyTorch's RuntimeError (raised at backward there, at class creation here)."""
    vjp = inspect.getattr_static(cls, "vjp", None)
    if vjp is None or vjp is Function.__dict__.get("vjp"):
        return
    if inspect.getattr_static(cls, "backward") is not Function.__dict__["backward"]:
        raise RuntimeError(
            "Implementing both 'backward' and 'vjp' for a custom Function is not allowed. "
            "You should only implement one of them."
        )
    cls.backward = vjp


def _distinct_arrays(args: tuple, raw: list) -> None:
    """Give each input Tensor its own array object in ``raw``.

    The roles of saved items (which input a saved array is, for the create_graph backward
    and the version checks) are found by identity among the arrays forward received. Two
    different Tensors can hold the very same array (x and x.detach(), a Parameter and the
    tensor it was made from): the later one then gets a view of it (the same memory, another
    object), so that ``x * x.detach()`` saves x.detach() as the constant it is, not as x.
    """
    for j in range(1, len(raw)):
        r = raw[j]
        if type(r) is np.ndarray:
            for i in range(j):
                if raw[i] is r and args[i] is not args[j]:
                    raw[j] = r.view()
                    break


class Function:
    """Base class of differentiable ops; an instance is one graph node (`ctx`)."""

    torch_name = _TorchName()

    array_mode = False  # built-in ops: True (forward/backward on np.ndarray)
    is_view = False  # True when the output may share memory with input 0

    # Set by apply() on recorded nodes; class defaults keep unrecorded ones cheap.
    edges: tuple = ()  # per input: its producing node, the leaf Tensor, or None
    needs_input_grad: tuple = ()
    _saved: tuple | None = None
    _saved_versions: tuple = ()
    _retained: Any = None  # weakref to a non-leaf output that called retain_grad()
    _creation: tuple = ()  # anomaly mode only: the user's (file, line, function) stack at forward
    _out_meta: tuple | None = None  # (shape, dtype) of the output, for tinyconv.viz
    _released = False
    # which output of PyTorch's one node this node's output is (split, chunk, unbind: tinyconv
    # gives each output its own node), as next_functions and Tensor.output_nr show it
    _output_nr = 0
    # True where PyTorch's node saves tensors (indices, a mask, the input) that tinyconv's op
    # keeps as plain attributes: backward then marks the node freed all the same, so that a
    # second backward without retain_graph raises here as there
    torch_saves = False
    _in_meta: tuple = ()  # user Functions: (shape, dtype) of each forward input
    _tensor_hooks: dict | None = None  # hooks registered on the output tensor (register_hook)
    # hooks registered on the node itself: (pre hooks, post hooks), two OrderedDicts
    _node_hooks: tuple | None = None
    # Per saved item: the forward input it is (its index), -1 for the output, None for
    # anything else. Lets a create_graph backward see saved arrays as graph Tensors.
    _saved_roles: tuple = ()
    _graph_mode = False  # True while graph_backward runs: saved_tensors gives Tensors
    _in_jvp = False  # True while a user's jvp runs: saved_tensors gives save_for_forward's
    _saved_forward: tuple = ()
    # {input index: the array forward converted it to (a dtype cast)}, set by an op that
    # saves a converted copy of an input, so graph_backward can see it as input.to(dtype)
    _cast_sources: dict | None = None
    # saved_tensors_hooks: per saved item, (what the pack hook returned, the unpack hook, the
    # dtype the op saved) for the items handed to a pack hook, None for the others
    _packed: list | None = None
    # the order in which the saved items go to a pack hook (PyTorch's), if not as saved
    pack_order: tuple | None = None
    # A user's Function that returned several Tensors (see _apply_multi): per forward output,
    # None (not a Tensor) or (shape, dtype, slot, start); slot None for an output that has no
    # gradient (marked non-differentiable, or not floating point)
    _multi: list | None = None
    _non_diff: tuple = ()  # outputs passed to mark_non_differentiable
    _dirty: tuple = ()  # inputs passed to mark_dirty (forward changed them in place)
    _materialize = True  # set_materialize_grads: missing output gradients arrive as zeros
    _unpack_nodes: list | None = None  # the _UnpackOutput node of each differentiable output

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Nodes' classes carry PyTorch's node names, as `type(y.grad_fn).__name__` shows them
        (graph printers and torchviz read it): a built-in op's class is renamed to its
        torch_name (`Mul` -> `MulBackward0`; `_class_name` keeps the Python name), and a
        user's Function `A` records its nodes as instances of a subclass `ABackward`."""
        super().__init_subclass__(**kwargs)
        static = inspect.getattr_static(cls, "torch_name", None)
        if not isinstance(static, _TorchName):  # (moved under the descriptor: see _TorchName)
            cls._default_name = static  # (set here or on a mixin: _SvdVectors)
            if "torch_name" in cls.__dict__:
                delattr(cls, "torch_name")
            if not isinstance(inspect.getattr_static(cls, "torch_name", None), _TorchName):
                cls.torch_name = Function.__dict__["torch_name"]  # (above the mixin's)
        if "_class_name" not in cls.__dict__:
            cls._class_name = cls.__name__
        if cls.__module__.startswith("tinyconv."):
            if isinstance(cls._default_name, str):
                cls.__name__ = cls._default_name
        elif "_node_of" not in cls.__dict__ and "_variant_of" not in cls.__dict__:
            _vjp_as_backward(cls)
            cls._node_cls = type(cls.__name__ + "Backward", (cls,), {"_node_of": cls})
            if "apply" not in cls.__dict__:  # (a user's Function takes keywords, as PyTorch's)
                cls.apply = classmethod(_apply_user)

    # a user's Function: the class its nodes are made of (see __init_subclass__)
    _node_cls: type | None = None
    _node_of: type | None = None

    # -- what an op calls in forward ------------------------------------------------
    def save_for_backward(self, *tensors: Any) -> None:
        """Keep these for backward (inputs or the output; None is allowed)."""
        self._saved = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep these for jvp (forward-mode AD), which reads them as ctx.saved_tensors (as
        PyTorch's: backward reads save_for_backward's, jvp this call's)."""
        self._saved_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._in_jvp:
            return self._saved_forward
        if self._released:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time "
                "(its saved tensors were freed after the first backward). "
                "Pass retain_graph=True to the first backward() to keep them."
            )
        if self._graph_mode:
            return self._saved_as_graph_tensors()
        if self._packed is not None:
            return self._unpacked()
        return self._saved or ()

    def _unpacked(self, only: int | None = None) -> tuple:
        """The saved items, those given to a pack hook replaced by what the unpack hook makes of
        it now (called on every access, as PyTorch does; `only`: item `only` alone)."""
        out = list(self._saved or ())
        for k, entry in enumerate(self._packed or ()):
            if entry is None or (only is not None and k != only):
                continue
            packed, unpack, dtype = entry
            t = unpack(packed)
            if not isinstance(t, Tensor):
                raise TypeError(
                    "Output of saved tensor unpack_hook expected to be a Tensor but got "
                    f"result of type {type(t).__name__}"
                )
            if dtype is None:  # a user's Function saved the Tensor itself
                out[k] = t
            else:
                out[k] = t._data if t._data.dtype == dtype else t._data.astype(dtype)
        return tuple(out)

    def _saved_by_role(self, role: int, name: str) -> Any:
        """The saved item of this role as a graph Tensor (an input leaf is the leaf itself)."""
        if role not in self._saved_roles:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if self._released:
            _ = self.saved_tensors  # raises the "second time" error
        k = self._saved_roles.index(role)
        return self._saved_as_graph_tensors(only=k)[k]

    # PyTorch's grad_fn._saved_self / _saved_other / _saved_result: the saved first or second
    # input, or the output (descriptors: a missing attribute elsewhere stays a plain miss)
    _saved_self = _SavedAttr(0)
    _saved_other = _SavedAttr(1)
    _saved_result = _SavedAttr(-1)

    def _saved_as_graph_tensors(self, only: int | None = None) -> tuple:
        """The saved items as Tensors wired into the graph, for graph_backward: a saved
        input is that input (its gradient flows back to where it came from), the saved
        output is this node's output; anything else (an index, a mask) stays as saved,
        a constant."""
        out = []
        items = self._unpacked(only) if self._packed is not None else self._saved or ()
        for k, (item, role) in enumerate(zip(items, self._saved_roles, strict=True)):
            if item is None or role is None or (only is not None and k != only):
                out.append(item)
                continue
            arr = item._data if isinstance(item, Tensor) else item
            if type(role) is tuple and role[0] == "out":  # output `slot` of a multi-output
                out.append(make_tensor(arr, self._unpack_nodes[role[1]], True))
                continue
            if type(role) is tuple:  # ("cast", i): input i converted to the op's dtype
                src = self._input_as_graph_tensor(role[1], self._cast_sources[role[1]])
                out.append(src.to(arr.dtype))
                continue
            if role == -1:
                out.append(make_tensor(arr, self, True))
                continue
            out.append(self._input_as_graph_tensor(role, arr))
        return tuple(out)

    def _input_as_graph_tensor(self, i: int, arr: np.ndarray) -> Tensor:
        """Forward input i (whose array is `arr`) as a Tensor wired to where it came from."""
        edge = self.edges[i]
        if edge is None:
            return make_tensor(arr, None, False)
        if isinstance(edge, Function):
            return make_tensor(arr, edge, True)
        return edge  # a leaf: the tensor itself

    def mark_non_differentiable(self, *args: Any) -> None:
        """Outputs of forward (a user's Function) that get no gradient: they do not require
        grad, and backward receives zeros (or None) for them."""
        self._non_diff = self._non_diff + args

    def mark_dirty(self, *args: Any) -> None:
        """Inputs forward changed in place (and returns): the caller's tensor itself comes back,
        its history continuing through this node, as PyTorch's in-place custom Functions."""
        self._dirty = self._dirty + args

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward receives None, not zeros, for outputs that got no gradient."""
        self._materialize = bool(value)

    # How many of forward's arguments PyTorch's node has edges for, when an op passes its
    # options as more arguments (conv: (input, weight, bias), not the stride etc.); None: the
    # arguments up to the last one that carries a gradient, and at least
    # next_functions_min (PyTorch lists `x + 2`'s number as an input without a gradient,
    # but not `x.sum(1)`'s dimension).
    next_functions_count: int | None = None
    next_functions_min: int = 1
    # A composite op's last node, which carries PyTorch's name for its one fused node
    # (F.mse_loss: MseLossBackward0), shows that node's edges: those of the composite's
    # inputs, set by the composite (None: this node's own).
    shown_edges: tuple | None = None

    def _shown(self) -> tuple:
        """The edges next_functions shows (see next_functions_count)."""
        if self.shown_edges is not None:
            return self.shown_edges
        edges = self.edges
        if self.next_functions_count is not None:
            return edges[: self.next_functions_count]
        last = len(edges)
        while last > self.next_functions_min and edges[last - 1] is None:
            last -= 1
        return edges[:last]

    @property
    def next_functions(self) -> tuple:
        """The edges as PyTorch shows them: `((node, 0), (AccumulateGrad, 0), (None, 0), ...)`."""
        # (shown_edges first: an op's own _shown must not hide a composite's fused node's edges)
        shown = self.shown_edges if self.shown_edges is not None else self._shown()
        return tuple(
            (e, e._output_nr)
            if isinstance(e, Function)
            else (e if e is None or isinstance(e, ShownNode) else AccumulateGrad(e), 0)
            for e in shown
        )

    # PyTorch's name for this node (`MulBackward0`); an op sets it on the class, or on
    # ctx in forward when PyTorch's name depends on the variant (sum with dim: SumBackward1).
    # None (a user's Function) gives `<ClassName>Backward`, as PyTorch names those.
    _default_name: str | None = None

    @staticmethod
    def empty_is_view(args: tuple) -> bool:
        """Is an empty result of this view op (is_view) a view? (It shares no memory to tell.)"""
        return True

    # A view op whose result is a view even when it shares no memory with its input (as_strided
    # can name elements of the base outside the input's own)
    always_view = False

    def name(self) -> str:
        """The grad_fn name shown in reprs, e.g. `MulBackward0`."""
        n = type(self)._default_name
        if n is not None:
            return n
        return (
            type(self).__name__ if self._node_of is not None else type(self).__name__ + "Backward"
        )

    def __repr__(self) -> str:
        if self._node_of is not None:  # a user's Function: PyTorch's class lives in Python
            return f"<tinyconv.autograd.function.{self.name()} object at {id(self):#x}>"
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def metadata(self) -> dict:
        """A dict of the user's own, kept on the node (PyTorch's Node.metadata)."""
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self._metadata = {}
        return d

    # -- hooks on the node (PyTorch's Node.register_prehook / register_hook) ------------
    def register_prehook(self, fn: Callable) -> Any:
        """Run `fn(grad_outputs)` before this node's backward (after the output tensor's own
        hooks); a returned tuple replaces grad_outputs. grad_outputs: a tuple of one Tensor."""
        return self._add_node_hook(0, fn)

    def register_hook(self, fn: Callable) -> Any:
        """Run `fn(grad_inputs, grad_outputs)` after this node's backward; a returned tuple
        replaces grad_inputs (one entry per next_functions edge, None where no gradient)."""
        if self.shown_edges is not None or self._multi is not None:
            raise NotImplementedError(
                f"{self.name()}.register_hook: tinyconv computes this node as several nodes "
                "(or with several outputs packed), so its gradients per input are not PyTorch's;"
                " register a hook on the input tensors (Tensor.register_hook) instead"
            )
        return self._add_node_hook(1, fn)

    def _add_node_hook(self, which: int, fn: Callable) -> Any:
        from .engine import RemovableHandle  # (same layer; engine imports this module first)

        if self._multi is not None or type(self).__name__ == "_UnpackOutput":
            raise NotImplementedError(
                f"{self.name()}: hooks on the node of a Function with several outputs are not "
                "supported by tinyconv; register them on the output tensors instead"
            )
        if self._node_hooks is None:
            self._node_hooks = (OrderedDict(), OrderedDict())
        hooks = self._node_hooks[which]
        handle = RemovableHandle(hooks)
        hooks[handle.id] = fn
        return handle

    # -- the two methods an op defines ---------------------------------------------
    @staticmethod
    def forward(ctx: Function, *args: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: Any) -> Any:
        raise NotImplementedError

    # torch.func.vmap of a user's Function: PyTorch runs its `vmap` staticmethod, or with
    # generate_vmap_rule=True vmaps forward and backward; tinyconv's vmap is a loop over the
    # samples, so either gives the same numbers (one of them is required, as in PyTorch)
    generate_vmap_rule = False

    @staticmethod
    def vmap(info: Any, in_dims: tuple, *args: Any) -> Any:
        raise NotImplementedError(
            "To use autograd.Function with vmap, you must either override the vmap staticmethod "
            "or set generate_vmap_rule=True."
        )

    @staticmethod
    def jvp(ctx: Function, *grad_inputs: Any) -> Any:
        """Forward mode's rule, which torch.func.jvp / jacfwd require of a user's Function (as
        PyTorch does); tinyconv's forward-mode products come from backward, so it is not run."""
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    @staticmethod
    def setup_context(ctx: Function, inputs: tuple, output: Any) -> None:
        """PyTorch 2's split style for a user's Function: when a subclass defines it, forward
        takes no ctx (forward(*args)) and setup_context(ctx, inputs, output) saves what
        backward needs (inputs: forward's arguments; output: what forward returned)."""
        raise NotImplementedError("setup_context is not implemented.")

    # The backward again, written in tinyconv's differentiable Tensor ops, for
    # backward(create_graph=True): `grad` is a Tensor, `ctx.saved_tensors` gives Tensors
    # wired into the graph, and the gradients it returns have graphs of their own.
    # None: the op has no double backward (a user's Function runs its own `backward`
    # with Tensors instead, as in PyTorch).
    graph_backward: Any = None

    # For an op whose gradient is zeros except where its output came from (an index, a
    # slice): add_grad_into(ctx, buffer, grad) adds grad there, in place. The engine then
    # gathers the gradients of many slices of one tensor (x[0], x[1], ... in a loop over
    # time steps; split, chunk, unbind) into one buffer, instead of a full-size zeros array
    # per slice and a full-size sum per pair: O(size) work, not O(size * slices).
    add_grad_into: Any = None

    # -- running an op ---------------------------------------------------------------
    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run forward on `args` and, if any input needs a gradient, record the node."""
        if forward_hook is not None:  # (first: it calls apply again, which the profiler times)
            return forward_hook(cls, args)
        prof = profiler
        if prof is not None:
            if prof.inside:  # the profiler's own call of this op: run it
                prof.inside = False
            else:
                return prof.run_op(cls, args)
        ctx = cls.__new__(cls)
        # One pass over the inputs (a plain loop: this runs for every op, and it is
        # cheaper than three comprehensions): each input's array, whether it needs a
        # gradient, and the edge backward will follow to it.
        record = False
        raw = []
        # (the thread's grad mode read from its state directly: the module property
        # grad_mode.enabled is a Python call, ~30 ns more per read)
        if _gm_state.enabled:
            needs, edges = [], []
            arrays = 0  # how many inputs are arrays: two or more may be the same one
            for a in args:
                if isinstance(a, Tensor):
                    if a._view_of is not None and a._gv != a._vc[0]:
                        a._refresh_view()  # a view whose base changed in place: rebase its history
                    raw.append(a._data)
                    arrays += 1
                    if a._requires_grad:
                        record = True
                        needs.append(True)
                        edges.append(a._grad_fn or a)  # (made current just above)
                        continue
                else:
                    raw.append(a)
                    if a.__class__ is _ndarray:
                        arrays += 1
                needs.append(False)
                edges.append(None)
            if record:
                ctx.needs_input_grad = tuple(needs)
                # (a few identity tests before any call: this runs per op; x.sum()'s four
                # arguments hold one array, so it skips the call, ~0.25 us; conv2d's (x, w,
                # b, config) hold no object twice, which a set of their ids tells in half
                # the call's time)
                if arrays > 1 and (
                    raw[1] is raw[0]
                    or (len(raw) == 3 and (raw[2] is raw[0] or raw[2] is raw[1]))
                    or (len(raw) > 3 and len(set(map(id, raw))) < len(raw))
                ):
                    _distinct_arrays(args, raw)
        else:  # no_grad: nothing to record, only the arrays
            for a in args:
                raw.append(a._data if isinstance(a, Tensor) else a)
        dirty = None  # (a user's Function's input it changed in place: see mark_dirty)
        view_output = False  # (a user's Function returned a view of an input, or an input)
        if cls.array_mode:
            token = _quiet()  # inf - inf is nan without a NumPy RuntimeWarning (see ieee.py)
            try:
                result = cls.forward(ctx, *raw)
            finally:
                _restore(token)
        else:  # a user's Function sees its inputs themselves, with recording off
            if grad_mode.func_transforms and cls._node_cls is not None:
                _check_transformable(cls)
            if cls._node_cls is not None:
                ctx.__class__ = cls._node_cls  # (named as PyTorch names it: see __init_subclass__)
            # (as PyTorch's: forward gets the input Tensors, whose requires_grad and grad_fn
            # it may read, and runs under no_grad so that nothing it does is recorded)
            raw = list(args)
            # (forward may read it, recorded or not; as PyTorch, it follows requires_grad
            # even under no_grad)
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
            with grad_mode.no_grad():
                if cls.setup_context is Function.setup_context:
                    result = cls.forward(ctx, *raw)
                else:  # the split style: forward without ctx, then setup_context
                    result = cls.forward(*raw)
                    cls.setup_context(ctx, tuple(raw), result)
                if user_jvp:  # forward_ad: the input tangents await the jvp rule
                    box = user_jvp.pop()
                    ctx._in_jvp = True
                    try:
                        with grad_mode.set_grad_enabled(box["grad"]):  # (the caller's)
                            box["out"] = cls.jvp(ctx, *box["in"])
                    finally:
                        ctx._in_jvp = False
            if type(result) is tuple:
                if ctx._dirty:
                    raise NotImplementedError(
                        f"{cls.__name__}: mark_dirty with several outputs is not supported in "
                        "tinyconv (return the changed input alone)"
                    )
                # (edges exist only when recording)
                return _apply_multi(ctx, args, raw, result, record, edges if record else None)
            if not isinstance(result, Tensor):
                raise TypeError(
                    f"{cls.__name__}.forward must return a Tensor or a tuple, "
                    f"got {type(result).__name__}"
                )
            if (
                record
                and not ctx._dirty
                and (result._data.dtype.kind != "f" or any(result is t for t in ctx._non_diff))
            ):
                # (PyTorch's: an integer output, or one marked non-differentiable, needs no
                # gradient: it comes out a leaf that does not require grad)
                record = False
            if ctx._dirty:
                dirty = _dirty_input(ctx, args, raw, result)
            elif record and any(
                isinstance(a, Tensor) and np.may_share_memory(result._data, a._data) for a in args
            ):
                # a view of an input, or the input as-is: PyTorch refuses to modify it in
                # place (the write would bypass this backward); marked once out exists
                view_output = True
            result = result._data
            if record:  # what backward's gradients must look like (checked in _run_backward)
                ctx._in_meta = tuple(
                    (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args
                )
        if not record:
            if dirty is not None:
                dirty._vc[0] += 1  # (PyTorch counts the rebase as one more change)
                return dirty
            out = make_tensor(result, None, False)
            # (an empty result shares no memory, but is a view in PyTorch all the same)
            if (
                cls.is_view
                and isinstance(args[0], Tensor)
                and (
                    cls.always_view
                    or np.may_share_memory(result, raw[0])
                    or (result.size == 0 and cls.empty_is_view(args))
                )
            ):
                out._mark_view(args[0], (cls, args[1:]))
            return out
        out = make_tensor(result, ctx, True) if dirty is None else _rebase_dirty(ctx, dirty)
        if view_output:
            mark_hook_output(out, 0, cls.__name__)
        ctx._out_meta = (result.shape, result.dtype)  # cheap: two references, no copy
        if cls.is_view and (
            cls.always_view
            or np.may_share_memory(result, args[0]._data)
            or (result.size == 0 and cls.empty_is_view(args))
        ):
            out._mark_view(args[0], (cls, args[1:]))  # shares the counter, remembers its base
        ctx.edges = tuple(edges)
        if record_hook is not None:  # anomaly mode: remember the user line that made this node
            record_hook(ctx)
        if ctx._saved:
            _record_saved(ctx, args, raw, result, out)
        return out

    # -- what the engine calls -----------------------------------------------------
    def _run_backward(self, grad: np.ndarray) -> tuple:
        """Check saved tensors are unmodified, run backward, return a tuple of grads."""
        for vc, version, _ in self._saved_versions:
            if vc[0] != version:
                self._check_saved_versions()  # raises, naming the tensor
        if self._released:
            _ = self.saved_tensors  # raises the "second time" error
        if type(grad) is not np.ndarray:  # NumPy ops on 0-d arrays return scalars
            grad = np.asarray(grad)
        if self.array_mode:
            grads = self.backward(self, grad)
            return grads if type(grads) is tuple else (grads,)
        if self._multi is not None:
            with grad_mode.no_grad():
                grads = self.backward(self, *self._output_grads(grad, graph=False))
        else:
            with grad_mode.no_grad():
                grads = self.backward(self, make_tensor(grad, None, False))
        if type(grads) is not tuple:
            grads = (grads,)
        return _check_user_grads(
            self, tuple(g._data if isinstance(g, Tensor) else g for g in grads)
        )

    def _run_graph_backward(self, grad: Any) -> tuple:
        """create_graph=True: run the backward as differentiable Tensor ops (grad mode on),
        so the gradients it returns have graphs. Returns a tuple of Tensors (or None)."""
        self._check_saved_versions()
        if self._released:
            _ = self.saved_tensors  # raises the "second time" error
        if self.array_mode:
            fn = type(self).graph_backward
            if fn is None:
                raise RuntimeError(
                    f"{self.name()}: this op has no double backward in tinyconv, so "
                    "backward(create_graph=True) / autograd.grad(create_graph=True) cannot go "
                    "through it"
                )
        else:
            fn = type(self).backward  # a user's Function: its backward sees Tensors anyway
        self._graph_mode = True
        grad_mode.graph_backward_depth += 1
        try:
            with grad_mode.enable_grad():
                if self._multi is not None:
                    grads = fn(self, *self._output_grads(grad, graph=True))
                else:
                    grads = fn(self, grad)
        finally:
            self._graph_mode = False
            grad_mode.graph_backward_depth -= 1
        if type(grads) is not tuple:
            grads = (grads,)
        out = []
        for g in grads:
            if g is not None and not isinstance(g, Tensor):
                # an array here means the gradient was computed outside the graph: its own
                # gradient would silently be zero, so refuse rather than guess
                raise TypeError(
                    f"{self.name()}: its create_graph backward returned a "
                    f"{type(g).__name__}, not a Tensor (a gradient cut from the graph)"
                )
            out.append(g)
        if not self.array_mode:
            return _check_user_grads(self, tuple(out))
        return tuple(out)

    def _check_saved_versions(self) -> None:
        for vc, version, shape in self._saved_versions:
            if vc[0] != version:
                raise RuntimeError(  # (PyTorch's words first: tests match "inplace operation")
                    f"{self.name()}: one of the variables needed for gradient computation has "
                    f"been modified by an inplace operation: the tensor of shape "
                    f"{tuple(shape)} it saved for its backward is at version {vc[0]}; expected "
                    f"version {version} instead. Clone it before modifying it, or do the "
                    "in-place update before the op." + _created_at(self)
                )

    def _output_grads(self, grad: Any, graph: bool) -> list:
        """A multi-output node's packed gradient, split into one per forward output (in its
        shape and dtype): zeros for outputs nothing flowed into (None without
        materialize_grads, and always None for outputs that are not Tensors)."""
        received, self._received = self._received, set()
        out = []
        for meta in self._multi:
            if meta is None:
                out.append(None)
                continue
            shape, dtype, slot, start = meta
            if slot is None or slot not in received:
                if not self._materialize:
                    out.append(None)
                    continue
                out.append(make_tensor(np.zeros(shape, dtype), None, False))
                continue
            n = int(np.prod(shape))
            if graph:
                out.append(grad[start : start + n].reshape(shape).to(dtype))
            else:
                piece = grad[start : start + n].reshape(shape).astype(dtype, copy=False)
                out.append(make_tensor(piece, None, False))
        return out


class AccumulateGrad:
    """How `next_functions` shows a leaf: the step that adds into `variable.grad`."""

    __slots__ = ("variable",)
    next_functions: tuple = ()

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    @staticmethod
    def name() -> str:
        return "torch::autograd::AccumulateGrad"  # (PyTorch's name, C++ namespace included)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class ShownNode:
    """A node that next_functions shows where PyTorch's graph has one and tinyconv's does
    not: F.linear's `TBackward0` (PyTorch multiplies by weight.t(), a node of its own;
    tinyconv's Linear takes the weight as it is). For display: the engine never runs it."""

    __slots__ = ("_name", "_edge")
    _named: dict = {}  # name -> the subclass of that name (type(node).__name__, as PyTorch's)

    def __new__(cls, name: str, edge: Any) -> ShownNode:
        sub = ShownNode._named.get(name)
        if sub is None:
            sub = ShownNode._named[name] = type(name, (ShownNode,), {"__slots__": ()})
        return object.__new__(sub)

    def __init__(self, name: str, edge: Any) -> None:
        self._name, self._edge = name, edge

    def name(self) -> str:
        return self._name

    @property
    def next_functions(self) -> tuple:
        e = self._edge
        return ((e if e is None or isinstance(e, Function) else AccumulateGrad(e), 0),)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ShownNode) and other._name == self._name and other._edge is self._edge
        )

    def __hash__(self) -> int:
        return hash((self._name, id(self._edge)))

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"


def _apply_user(cls: type, *args: Any, **kwargs: Any) -> Any:
    """Function.apply for a user's Function, as PyTorch's: keyword arguments are bound to
    forward's parameters, and in the setup_context style forward's defaults are filled in
    too (setup_context sees them among the inputs; backward returns a gradient for each)."""
    split = cls.setup_context is not Function.setup_context
    if kwargs or split:
        sig = cls.__dict__.get("_forward_signature")
        if sig is None or sig[0] is not cls.forward:
            sig = (cls.forward, inspect.signature(cls.forward))
            cls._forward_signature = sig
        bound = sig[1].bind(*args, **kwargs) if split else sig[1].bind(None, *args, **kwargs)
        if split:
            bound.apply_defaults()
        if bound.kwargs:
            raise TypeError(
                f"{cls.__name__}.apply: forward's keyword-only arguments "
                f"{sorted(bound.kwargs)} cannot be given (autograd.Function passes its "
                "inputs by position)"
            )
        args = bound.args if split else bound.args[1:]
    return Function.apply.__func__(cls, *args)


_apply_user.__name__, _apply_user.__qualname__ = "apply", "Function.apply"  # (as it prints)


def _check_transformable(cls: type) -> None:
    """A user's Function called inside a torch.func transform: PyTorch's rules (tinyconv's
    transforms would run it fine; the rules keep code that runs here running there)."""
    if cls.setup_context is Function.setup_context:
        raise RuntimeError(
            f"{cls.__name__}: in order to use an autograd.Function with functorch transforms "
            "(vmap, grad, jvp, jacrev, ...), it must override the setup_context staticmethod "
            "(forward(*args) without ctx, then setup_context(ctx, inputs, output))"
        )
    if grad_mode.func_vmaps and not cls.generate_vmap_rule and cls.vmap is Function.vmap:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
            "override and implement the vmap staticmethod or set generate_vmap_rule=True"
        )
    if grad_mode.func_forward and cls.jvp is Function.jvp:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )


def _apply_multi(
    ctx: Function, args: tuple, raw: list, outputs: tuple, record: bool, edges: list | None
) -> tuple:
    """A user's Function whose forward returned a tuple. The engine gives a node one output,
    so the outputs that get gradients (floating Tensors not marked non-differentiable) are
    packed into one flat array, the node's output, and each is unpacked from it by an
    `_UnpackOutput` node; backward then receives all their gradients at once, split again."""
    marked = {id(t) for t in ctx._non_diff}
    diff = [
        i
        for i, o in enumerate(outputs)
        if isinstance(o, Tensor) and o._data.dtype.kind == "f" and id(o) not in marked
    ]
    if not record or not diff:
        return outputs  # (made under no_grad: Tensors that need no gradient)
    dtype = np.result_type(*(outputs[i]._data.dtype for i in diff))
    flat = np.concatenate([outputs[i]._data.reshape(-1).astype(dtype, copy=False) for i in diff])
    packed = make_tensor(flat, ctx, True)
    ctx._out_meta = (flat.shape, flat.dtype)
    ctx._in_meta = tuple(
        (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args
    )
    ctx.edges = tuple(edges)
    ctx._received = set()
    meta: list = [
        (o._data.shape, o._data.dtype, None, 0) if isinstance(o, Tensor) else None for o in outputs
    ]
    results = list(outputs)
    nodes = []
    start = 0
    for slot, i in enumerate(diff):
        o = outputs[i]._data
        meta[i] = (o.shape, o.dtype, slot, start)
        results[i] = _UnpackOutput.apply(packed, start, o.shape, o.dtype, ctx, slot)
        nodes.append(results[i]._grad_fn)
        start += o.size
    ctx._multi = meta
    ctx._unpack_nodes = nodes
    if record_hook is not None:
        record_hook(ctx)
    if ctx._saved:
        versions, roles = [], []
        for s in ctx._saved:
            role = None
            for i, (a, r) in enumerate(zip(args, raw, strict=False)):
                if r is s and isinstance(a, Tensor):
                    versions.append((a._vc, a._vc[0], a._data.shape))
                    role = i
                    break
            else:
                for i, o in enumerate(outputs):
                    if o is s and meta[i] is not None and meta[i][2] is not None:
                        t = results[i]
                        versions.append((t._vc, t._vc[0], t._data.shape))
                        role = ("out", meta[i][2])
                        break
            roles.append(role)
        ctx._saved_versions, ctx._saved_roles = tuple(versions), tuple(roles)
        if grad_mode.saved_hooks:
            slots = {meta[i][2]: results[i] for i in diff}
            _pack_saved(ctx, lambda role: slots[role[1]] if type(role) is tuple else args[role])
    return tuple(results)


class _UnpackOutput(Function):
    """Output `slot` of a multi-output user Function, cut from the node's packed output."""

    array_mode = True

    @staticmethod
    def forward(ctx, flat, start, shape, dtype, owner, slot):
        ctx.start, ctx.size, ctx.flat_dtype = start, flat.size, flat.dtype
        ctx.owner, ctx.slot = owner, slot
        n = int(np.prod(shape))
        return flat[start : start + n].reshape(shape).astype(dtype)

    def name(self) -> str:
        return self.owner.name()  # PyTorch shows the Function's own node on every output

    @staticmethod
    def backward(ctx, grad):
        ctx.owner._received.add(ctx.slot)
        full = np.zeros(ctx.size, ctx.flat_dtype)
        full[ctx.start : ctx.start + grad.size] = grad.reshape(-1)
        return full, None, None, None, None, None

    @staticmethod
    def graph_backward(ctx, grad):
        ctx.owner._received.add(ctx.slot)
        full = make_tensor(np.zeros(ctx.size, ctx.flat_dtype), None, False)
        full[ctx.start : ctx.start + grad._data.size] = grad.reshape(-1).to(ctx.flat_dtype)
        return full, None, None, None, None, None


def once_differentiable(backward: Any) -> Any:
    """Decorate a user Function's backward that cannot itself be differentiated: it runs
    without recording, and under create_graph the gradients it returns carry a node that
    raises if anything tries to differentiate through them (PyTorch's rule)."""

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with grad_mode.no_grad():
            out = backward(ctx, *grads)
        if not grad_mode.is_grad_enabled():
            return out
        # create_graph: these gradients have no graph back to the inputs; mark them
        needs = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if not needs:
            return out
        one = not isinstance(out, tuple)
        res = tuple(
            _DelayedError.apply(g, *needs) if isinstance(g, Tensor) else g
            for g in ((out,) if one else out)
        )
        return res[0] if one else res

    return wrapper


class _DelayedError(Function):
    """Identity on a gradient computed by a once_differentiable backward; differentiating
    through it raises."""

    array_mode = True
    torch_name = "DelayedError"

    @staticmethod
    def forward(ctx, g, *others):
        ctx.n = len(others)
        return g.copy()

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )

    graph_backward = backward


def _check_user_grads(node: Function, grads: tuple) -> tuple:
    """A user-defined backward must return one gradient per forward input, each of its
    input's shape (a broadcast one is summed back, as PyTorch does) and dtype."""
    metas = node._in_meta
    if len(grads) > len(metas) and all(g is None for g in grads[len(metas) :]):
        # PyTorch drops surplus trailing Nones (the conv-bn tutorial returns a None for each
        # optional forward argument, given or not)
        grads = grads[: len(metas)]
    if len(grads) != len(metas):
        raise RuntimeError(
            f"{(node._node_of or type(node)).__name__}.backward returned {len(grads)} gradient(s), "
            "but forward took "
            f"{len(metas)} input(s); return one per input (None for inputs that need none)"
        )
    out = []
    for i, (g, meta) in enumerate(zip(grads, metas, strict=False)):
        if g is not None and meta is None:
            # (as PyTorch: a gradient for a number or other non-Tensor argument is a bug in the
            # backward, most often its gradients returned in the wrong order)
            raise RuntimeError(
                f"function {node.name()} returned a gradient different than None at position "
                f"{i + 1}, but the corresponding forward input was not a Variable"
            )
        if g is not None and meta is not None:
            if not isinstance(g, Tensor):  # (a create_graph backward returns Tensors)
                g = np.asarray(g)
            shape, dtype = meta
            if g.shape != shape:
                try:
                    fits = np.broadcast_shapes(shape, g.shape) == g.shape
                except ValueError:
                    fits = False
                if not fits:
                    raise RuntimeError(
                        f"{(node._node_of or type(node)).__name__}.backward returned a gradient "
                        f"of shape {g.shape} "
                        f"for input {i}, which has shape {shape}"
                    )
            g = sum_to_shape(g, shape, dtype)
        out.append(g)
    return tuple(out)


def _created_at(node: Function) -> str:
    """' The op was created at file:line ...' when anomaly mode recorded it, else ''."""
    if not node._creation:
        return ""
    from .anomaly import creation_site

    return " The op was created at " + creation_site(node)


def _dirty_input(ctx: Function, args: tuple, raw: list, result: Tensor) -> Tensor | None:
    """The caller's tensor that forward changed in place (mark_dirty) and returned, if any."""
    for a, r in zip(args, raw, strict=True):
        if r is result and any(d is r for d in ctx._dirty):
            return a
    return None


def _rebase_dirty(ctx: Function, t: Tensor) -> Tensor:
    """t, changed in place by a user's Function, with its history continued by ctx."""
    if t._grad_fn is None and t._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    if t._view_of is not None:
        raise NotImplementedError(
            f"{ctx.name()}: mark_dirty on a view is not supported in tinyconv (pass the tensor "
            "it views, or a clone)"
        )
    t._grad_fn = ctx
    t._requires_grad = True
    t._vc[0] += 1  # (PyTorch counts the rebase as one more change)
    return t


def _pack_saved(ctx: Function, tensor_of: Any) -> None:
    """saved_tensors_hooks: hand each saved input or output to the innermost pack hook, as
    the Tensor the program knows (`tensor_of(role)`); backward then sees what the unpack hook
    returns. As in PyTorch, the hooks are off while the pack hook runs (its own ops save
    nothing through it), and a packed tensor is not checked for in-place changes (the hook
    owns what it keeps). The pack hook runs with grad mode off, as PyTorch's."""
    pack, unpack = grad_mode.saved_hooks[-1]
    saved = list(ctx._saved)
    packed: list = [None] * len(saved)
    hooks, grad_mode.saved_hooks = grad_mode.saved_hooks, []
    roles = ctx._saved_roles
    try:
        for k in ctx.pack_order or range(len(saved)):
            item, role = saved[k], roles[k]
            if item is None or role is None:
                continue
            source = role[1] if type(role) is tuple and role[0] == "cast" else role
            t = tensor_of(source)
            dtype = item.dtype if isinstance(item, np.ndarray) else None
            with grad_mode.no_grad():
                packed[k] = (pack(t), unpack, dtype)
            saved[k] = None  # (the hook holds it now)
    finally:
        grad_mode.saved_hooks = hooks
    ctx._saved, ctx._packed, ctx._saved_versions = tuple(saved), packed, ()


def _record_saved(ctx: Function, args: tuple, raw: list, result: Any, out: Tensor) -> None:
    """A recorded node saved items for backward: for each saved input or output, its version
    counter and version now, so backward can tell it was modified in place; and per saved
    item its role (the input's index, -1 for the output, None for anything else), so a
    create_graph backward can see it as a graph Tensor. Most saved items are inputs: they
    are found by identity among the arrays forward received (`raw`)."""
    versions = []
    roles = []
    for s in ctx._saved:
        role = None
        if s is not None:
            i = 0
            for r in raw:
                if r is s:
                    a = args[i]
                    if isinstance(a, Tensor):
                        if grad_mode._inference_tensors and not _gm_state.inference:
                            if grad_mode.is_inference_tensor(a):
                                raise RuntimeError(grad_mode.INFERENCE_SAVED)
                        vc = a._vc
                        versions.append((vc, vc[0], r.shape))
                        role = i
                        break
                i += 1
            else:
                role = _other_role(ctx, s, result, out, versions)
        roles.append(role)
    ctx._saved_versions = tuple(versions)
    ctx._saved_roles = tuple(roles)
    if grad_mode.saved_hooks:
        _pack_saved(ctx, lambda role: out if role == -1 else args[role])


def apply_binary(cls: type, a: Tensor, b: Any) -> Tensor:
    """`cls.apply(a, b, None)` for a built-in op (array_mode) of a Tensor and a Tensor or a
    Python number: what a binary operator runs (tensor._binary). The same steps as apply's,
    without its generic machinery (the *args tuple and loop, the lists of needs and edges,
    the user Function's branches): a + b with grad 2.5 -> 1.6 us, with _binary's own fast
    path; x ** 2 with grad 3.7 -> 3.0 us."""
    if forward_hook is not None or profiler is not None or not cls.array_mode:
        return cls.apply(a, b, None)
    ctx = _new_object(cls)
    record = False
    tensor_b = isinstance(b, Tensor)
    if _gm_state.enabled:
        if a._view_of is not None and a._gv != a._vc[0]:
            a._refresh_view()  # a view whose base changed in place: rebase its history
        ad = a._data
        na = True if a._requires_grad else False
        if tensor_b:
            if b._view_of is not None and b._gv != b._vc[0]:
                b._refresh_view()
            bd = b._data
            nb = True if b._requires_grad else False
        else:
            bd, nb = b, False
        if na or nb:
            record = True
            ctx.needs_input_grad = (na, nb, False)
            if bd is ad and b is not a:
                bd = bd.view()  # (_distinct_arrays: b's array is a's, b is another Tensor)
    else:
        ad = a._data
        bd = b._data if tensor_b else b
    token = _quiet()  # inf - inf is nan without a NumPy RuntimeWarning (see ieee.py)
    try:
        result = cls.forward(ctx, ad, bd, None)
    finally:
        _restore(token)
    # (result itself, not make_tensor's wrapped copy of a NumPy scalar, stays what forward
    # returned: a saved output is found by identity with it, _other_role)
    out = make_tensor(result, ctx if record else None, record)
    if record:
        ctx._out_meta = (result.shape, result.dtype)
    if cls.is_view and (  # (no binary op is a view op: kept so that this is apply's path)
        cls.always_view
        or np.may_share_memory(result, ad)
        or (result.size == 0 and cls.empty_is_view((a, b, None)))
    ):
        out._mark_view(a, (cls, (b, None)))
    if not record:
        return out
    ctx.edges = ((a._grad_fn or a) if na else None, (b._grad_fn or b) if nb else None, None)
    if record_hook is not None:  # anomaly mode: remember the user line that made this node
        record_hook(ctx)
    if ctx._saved:
        _record_saved(ctx, (a, b, None), [ad, bd, None], result, out)
    return out


def _other_role(ctx: Function, s: Any, result: np.ndarray, out: Any, versions: list) -> Any:
    """The role of a saved item that is not one of forward's input arrays: -1 for the
    output (whose version is then remembered too), ("cast", i) for input i converted
    to the op's dtype (see _cast_sources), else None (a constant: an index, a mask)."""
    if s is result or (isinstance(s, Tensor) and s._data is result):
        vc = out._vc
        versions.append((vc, vc[0], result.shape))
        return -1
    cast_sources = ctx._cast_sources
    role = None
    if cast_sources:
        for i, c in cast_sources.items():
            if c is s:
                role = ("cast", i)
    return role


# torch.autograd.function.FunctionCtx, the type of `ctx` (annotations, isinstance): a custom
# Function's ctx is its graph node, a Function itself
FunctionCtx = Function


# the Tensor <-> Function cycle every autograd has: tensor.py imports this module, so Tensor
# is bound here at the end, once it exists (used at call time)
from .._inplace import mark_hook_output  # noqa: E402
from ..tensor import Tensor, make_tensor  # noqa: E402
