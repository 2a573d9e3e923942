"""Activation checkpointing, as torch.utils.checkpoint: trade compute for memory.

Backward needs what the forward saved (a ReLU its mask, a convolution its input, ...), so
a deep network normally holds every layer's activations from the forward until backward
reaches that layer. `checkpoint(f, x)` keeps only the *inputs* of the segment f:

    forward:   y = f(x) with the graph switched off; keep x (and which leaves f reads)
    backward:  run f(x) again with the graph on, backpropagate grad_y through it

The recomputed graph lives only while its own backward runs, so at any moment at most one
segment's activations are alive: checkpointing n segments of a deep net holds n segment
inputs plus one segment's activations instead of all of them. The price is one extra
forward per segment. Random ops (dropout) draw the same numbers in the recomputation,
because the random state from before the forward is restored for it (preserve_rng_state).

Two variants, as in PyTorch:
- use_reentrant=True (PyTorch's default, with a warning when not passed): the segment's
  output depends only on the tensor arguments; parameters used inside f receive their
  gradients when the recomputation's own backward runs (it accumulates into their .grad).
  If no argument requires grad, the output does not either (PyTorch warns; so does tinyconv).
- use_reentrant=False: the forward runs once with the graph on to learn which leaves
  (parameters) f reads, then drops that graph before returning, so the output requires grad
  exactly when it would without checkpointing and keyword arguments are allowed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._errors import TensorValueError
from .._rng import _rng
from ..autograd import engine, grad_mode
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _leaves_reached(out: Tensor, skip: set[int]) -> list[Tensor]:
    """The leaf Tensors that require grad and that `out`'s graph reaches (not those in skip)."""
    leaves: list[Tensor] = []
    seen_nodes: set[int] = set()
    seen_leaves = set(skip)
    stack = [out.grad_fn] if out.grad_fn is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        for edge in node.edges:
            if isinstance(edge, Function):
                stack.append(edge)
            elif isinstance(edge, Tensor) and id(edge) not in seen_leaves:
                seen_leaves.add(id(edge))
                leaves.append(edge)
    return leaves


class _Recompute(Function):
    """The graph node a checkpointed segment leaves behind. Inputs: the segment's tensor
    arguments (and, non-reentrant, the leaves it reads); saved: the arguments only."""

    @staticmethod
    def forward(ctx: Any, run: Any, *inputs: Any) -> Tensor:
        ctx.run = run
        n_args = run.n_args
        ctx.save_for_backward(*[a for a in inputs[:n_args] if isinstance(a, Tensor)])
        ctx.arg_is_tensor = [isinstance(a, Tensor) for a in inputs[:n_args]]
        ctx.plain_args = [None if isinstance(a, Tensor) else a for a in inputs[:n_args]]
        return run.first_output(inputs[:n_args])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        if ctx._graph_mode:  # backward(create_graph=True): gradients with graphs of their own
            return _graph_backward(ctx, grad)
        run = ctx.run
        saved = iter(ctx.saved_tensors)
        tensor_needs = iter(run.arg_requires_grad)
        args = []
        for is_tensor, plain in zip(ctx.arg_is_tensor, ctx.plain_args, strict=False):
            if is_tensor:
                args.append(next(saved).detach().requires_grad_(next(tensor_needs)))
            else:
                args.append(plain)
        # The leaves' own .grad must not receive this segment's gradient here when they are
        # inputs of this node (non-reentrant): the engine adds what backward returns. So their
        # .grad is set aside during the inner backward and read back as the returned gradient.
        held = [leaf.grad for leaf in run.leaves]
        for leaf in run.leaves:
            leaf.grad = None
        try:
            with grad_mode.enable_grad():
                out = run.recompute(args)
            if out.requires_grad:
                out.backward(grad)
            leaf_grads = [None if leaf.grad is None else leaf.grad for leaf in run.leaves]
        finally:
            for leaf, g in zip(run.leaves, held, strict=False):
                leaf.grad = g
        arg_grads = [a.grad if isinstance(a, Tensor) else None for a in args]
        return (None, *arg_grads, *leaf_grads)


def _graph_backward(ctx: Any, grad: Tensor) -> tuple:
    """The create_graph backward of a checkpointed segment: recompute it, then take its
    gradient with create_graph=True, so the gradient can be differentiated again.

    The recomputation runs on stand-ins for the arguments (detached, so the walk of
    autograd.grad stays inside the segment and never reaches, through an argument's history,
    a parameter the segment also reads); afterwards every edge of the new graph that points
    at a stand-in is pointed at the argument itself, so the gradient's graph continues into
    the graph outside the segment, as if the segment had never been checkpointed."""
    run = ctx.run
    if run.reentrant:
        raise RuntimeError(
            "checkpoint: a create_graph backward (a gradient of a gradient) cannot go through a "
            "use_reentrant=True segment (PyTorch's reentrant checkpoint does not support it "
            "either); use use_reentrant=False"
        )
    wired = iter(ctx.saved_tensors)  # in a create_graph backward: the arguments themselves
    args: list = []
    stand_ins: dict[int, Tensor] = {}
    for is_tensor, plain in zip(ctx.arg_is_tensor, ctx.plain_args, strict=True):
        if not is_tensor:
            args.append(plain)
            continue
        a = next(wired)
        d = a.detach().requires_grad_(a.requires_grad)
        if a.requires_grad:
            stand_ins[id(d)] = a
        args.append(d)
    with grad_mode.enable_grad():
        out = run.recompute(args)
    targets = [a for a in args if isinstance(a, Tensor) and id(a) in stand_ins] + run.leaves
    found: list = [None] * len(targets)
    if out.requires_grad and targets:
        found = list(engine.grad(out, targets, grad, create_graph=True, allow_unused=True))
        _graft(found, stand_ins, grad.grad_fn)
    it = iter(found)
    arg_grads = [next(it) if isinstance(a, Tensor) and id(a) in stand_ins else None for a in args]
    return (None, *arg_grads, *it)


def _graft(tensors: list, stand_ins: dict, stop: Any) -> None:
    """Point every graph edge below `tensors` that leads to a stand-in at the tensor it
    stands in for (its node, or itself if a leaf). The walk does not go below `stop` (the
    incoming gradient's graph, made before the segment's recomputation)."""
    seen: set[int] = set()
    stack = [t.grad_fn for t in tensors if t is not None and t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is stop or id(node) in seen:
            continue
        seen.add(id(node))
        edges = node.edges
        if any(isinstance(e, Tensor) and id(e) in stand_ins for e in edges):
            node.edges = tuple(
                (stand_ins[id(e)].grad_fn or stand_ins[id(e)])
                if isinstance(e, Tensor) and id(e) in stand_ins
                else e
                for e in edges
            )
        stack.extend(e for e in node.edges if isinstance(e, Function))


class _Segment:
    """One checkpointed call: the function, its keyword arguments and the random state."""

    def __init__(
        self, function: Callable[..., Any], kwargs: dict, preserve_rng_state: bool, n_args: int
    ) -> None:
        self.function = function
        self.kwargs = kwargs
        self.n_args = n_args
        self.rng_state = _rng()._state_array() if preserve_rng_state else None
        self.leaves: list[Tensor] = []
        self.output: Tensor | None = None
        self.arg_requires_grad: list[bool] = []
        self.reentrant = True

    def first_output(self, args: Sequence[Any]) -> Tensor:
        if self.output is not None:  # non-reentrant: computed already, with the graph on
            out, self.output = self.output, None
            return out
        out = self.function(*args, **self.kwargs)
        return _check_output(out)

    def recompute(self, args: list) -> Tensor:
        if self.rng_state is None:
            return _check_output(self.function(*args, **self.kwargs))
        gen = _rng()
        now = gen._state_array()
        gen._set_state_array(self.rng_state)  # the same random numbers as the first forward
        try:
            return _check_output(self.function(*args, **self.kwargs))
        finally:
            gen._set_state_array(now)  # and the caller's random stream goes on undisturbed


def _check_output(out: Any) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(
            f"checkpoint: the checkpointed function must return one Tensor, got "
            f"{type(out).__name__} (tinyconv checkpoints single-output segments; "
            "checkpoint each output's computation separately)"
        )
    return out


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Tensor:
    """function(*args, **kwargs) without keeping its activations: they are recomputed in backward.

    The result and every gradient equal those of calling `function(*args, **kwargs)` directly.
    `function` must return one Tensor. See the module docstring for the two variants.
    """
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    unsupported = sorted(set(kwargs) & {"context_fn", "determinism_check", "debug", "early_stop"})
    if unsupported:
        raise TypeError(
            f"checkpoint: {unsupported} are PyTorch checkpoint options tinyconv does not "
            "support (it has no saved-tensor hooks); remove them"
        )
    if use_reentrant is None:
        warnings.warn(
            "checkpoint: pass use_reentrant explicitly (True or False); like PyTorch, "
            "tinyconv uses use_reentrant=True when it is not given",
            UserWarning,
            stacklevel=2,
        )
        use_reentrant = True
    if use_reentrant and kwargs:
        raise TensorValueError(
            f"checkpoint: keyword arguments {sorted(kwargs)} are only supported with "
            "use_reentrant=False (as in PyTorch)"
        )
    seg = _Segment(function, kwargs, preserve_rng_state, len(args))
    seg.reentrant = bool(use_reentrant)
    seg.arg_requires_grad = [a.requires_grad for a in args if isinstance(a, Tensor)]
    if not grad_mode.is_grad_enabled():  # nothing will be recorded: just run it
        return _check_output(function(*args, **kwargs))
    if use_reentrant:
        if not any(seg.arg_requires_grad):
            warnings.warn(
                "checkpoint: none of the inputs has requires_grad=True; with "
                "use_reentrant=True the output will not require grad and parameters "
                "inside the function get no gradient (use use_reentrant=False)",
                UserWarning,
                stacklevel=2,
            )
        return _Recompute.apply(seg, *args)
    # Non-reentrant: one forward with the graph on, on detached arguments, to find the leaves
    # the output depends on; the graph (and so every activation) is dropped before returning.
    detached = [
        a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args
    ]
    out = _check_output(function(*detached, **kwargs))
    seg.leaves = _leaves_reached(out, {id(a) for a in detached if isinstance(a, Tensor)})
    seg.output = out.detach()
    del out, detached
    return _Recompute.apply(seg, *args, *seg.leaves)


def checkpoint_sequential(
    functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None, **kwargs: Any
) -> Tensor:
    """Run a Sequential (or a list of modules/functions) in `segments` chunks, checkpointing
    every chunk but the last (its activations are needed at once by backward anyway)."""
    if use_reentrant is None:
        warnings.warn(
            "checkpoint_sequential: pass use_reentrant explicitly (True or False); like "
            "PyTorch, tinyconv uses use_reentrant=True when it is not given",
            UserWarning,
            stacklevel=2,
        )
        use_reentrant = True
    if hasattr(functions, "children") and callable(functions.children):
        functions = list(functions.children())
    elif isinstance(functions, Iterable):
        functions = list(functions)
    else:
        raise TypeError(
            f"checkpoint_sequential: functions must be a Sequential or a list of callables, "
            f"got {type(functions).__name__}"
        )
    if (
        not isinstance(segments, int)
        or isinstance(segments, bool)
        or not 1 <= segments <= max(1, len(functions))
    ):
        raise TensorValueError(
            f"checkpoint_sequential: segments must be an int between 1 and the number of "
            f"functions ({len(functions)}), got {segments!r}"
        )

    def run_range(start: int, end: int) -> Callable[[Tensor], Tensor]:
        def forward(x: Tensor) -> Tensor:
            for f in functions[start : end + 1]:
                x = f(x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run_range(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run_range(end + 1, len(functions) - 1)(input)
