"""Watch backward work: which node it visits, what gradient arrives, what leaves.

    import tinyconv as torch
    from tinyconv.autograd import trace

    with trace(names=model) as t:
        loss.backward()
    t.print()              # one row per gradient sent, in the order backward ran
    t.records              # the same as data: TraceRecord(step, op, node, grad_output, grads)

The engine (engine.py) calls every function in `engine.observers` after each
node's backward with `(node, grad_output, grads_to_inputs)`; a trace is one
such observer, registered for the duration of the `with` block. It keeps a
copy of every gradient it sees, so trace one step, not a training run.
"""
from __future__ import annotations

import inspect
import io
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import engine
from .function import Function

if TYPE_CHECKING:
    from typing import Self

__all__ = ["SentGrad", "Trace", "TraceRecord", "trace"]

MAX_VALUES = 16  # gradients with at most this many elements are printed in full


@dataclass
class SentGrad:
    """One gradient leaving a node: d(loss)/d(one of its inputs)."""

    index: int         # the input's position among the op's arguments
    input: str         # the forward argument's name, e.g. "w" for Conv2d's weight
    to: Any            # where it goes: the node that made the input, or the leaf Tensor
    to_name: str       # "#3 ReluBackward0" or "weight.grad (parameter)"
    grad: np.ndarray   # the gradient itself, in the input's shape


@dataclass
class TraceRecord:
    """One node visited by backward."""

    step: int                  # 1 for the first node visited
    op: str                    # the node's name, e.g. "ConvolutionBackward0"
    node: Function             # the node itself
    grad_output: np.ndarray    # d(loss)/d(node's output): what arrived, summed over its users
    grads: list[SentGrad] = field(default_factory=list)  # what it sent to each input
    algorithm: str | None = None  # convolutions: the kernel algorithm that ran ("fast", "loops", ...)

    def grad_to(self, input: str) -> np.ndarray:
        """The gradient sent to the input with this argument name (e.g. "w")."""
        for s in self.grads:
            if s.input == input:
                return s.grad
        raise KeyError(f"{self.op} sent no gradient to an input named {input!r}; "
                       f"it sent to {[s.input for s in self.grads]}")


class Trace:
    """What `trace()` returns: a context manager that fills `records` during backward."""

    def __init__(self, names: Any = None, max_values: int = MAX_VALUES) -> None:
        self.records: list[TraceRecord] = []
        self.max_values = max_values
        self._names = _leaf_names(names)
        self._steps: dict[int, int] = {}  # id(node) -> step, to name where gradients go
        self._observer = self._observe

    def __enter__(self) -> Self:
        engine.observers.append(self._observer)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._observer in engine.observers:
            engine.observers.remove(self._observer)
        self._name_targets()

    def _observe(self, node: Function, grad_output: np.ndarray, grads: tuple) -> None:
        step = len(self.records) + 1
        self._steps[id(node)] = step
        rec = TraceRecord(step, node.name(), node, np.array(grad_output, copy=True),
                          algorithm=getattr(node, "algorithm", None))
        for i, (edge, g) in enumerate(zip(node.edges, grads)):
            if edge is None or g is None:  # not a tensor, or one that needs no gradient
                continue
            rec.grads.append(SentGrad(i, _input_name(type(node), i), edge, "", np.array(g, copy=True)))
        self.records.append(rec)

    def _name_targets(self) -> None:
        """Fill in `to_name` once the nodes the gradients went to have been visited."""
        for r in self.records:
            for s in r.grads:
                s.to_name = self._to_name(s)

    def find(self, op: str) -> list[TraceRecord]:
        """The records of the nodes with this name, e.g. `find("ConvolutionBackward0")`."""
        return [r for r in self.records if r.op == op]

    # -- printing ------------------------------------------------------------------------
    def _to_name(self, s: SentGrad) -> str:
        if isinstance(s.to, Function):
            step = self._steps.get(id(s.to))
            return f"#{step} {s.to.name()}" if step else s.to.name()
        from ..nn.module import Parameter

        kind = "parameter" if isinstance(s.to, Parameter) else "input"
        name = self._names.get(id(s.to))
        return f"{name}.grad ({kind})" if name else f"{kind}.grad"

    def rows(self) -> list[tuple[str, ...]]:
        """The table as rows of text: (#, op, grad_output, input, gradient, to)."""
        self._name_targets()
        rows = []
        for r in self.records:
            first = (str(r.step), r.op, _shape(r.grad_output))
            if not r.grads:
                rows.append(first + ("", "(sends nothing on)", ""))
            for k, s in enumerate(r.grads):
                lead = first if k == 0 else ("", "", "")
                rows.append(lead + (s.input, _shape(s.grad), s.to_name))
        return rows

    def __str__(self) -> str:
        header = ("#", "op", "grad_output (arrives)", "input", "gradient (leaves)", "to")
        rows = self.rows()
        widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() + "\n"

        out = io.StringIO()
        out.write(f"backward trace: {len(self.records)} node(s), in the order backward visited them\n")
        out.write(line(header))
        out.write(line(tuple("-" * w for w in widths)))
        indent = " " * (widths[0] + 4)
        it = iter(rows)
        for r in self.records:
            for _ in range(max(1, len(r.grads))):
                out.write(line(next(it)))
            if r.algorithm is not None:  # which kernels computed this node (conv_algorithm)
                out.write(f"{indent}algorithm = {r.algorithm}\n")
            # the values of small gradients, under the node's rows
            small = [("grad_output", r.grad_output)] + [(f"to {s.input}", s.grad) for s in r.grads]
            small = [(what, a) for what, a in small if a.size <= self.max_values]
            pad = max((len(what) for what, _ in small), default=0)
            for what, a in small:
                out.write(f"{indent}{what.ljust(pad)} = {format_values(a, one_line=True)}\n")
        return out.getvalue()

    def __repr__(self) -> str:
        return f"<Trace: {len(self.records)} node(s)>"

    def print(self, file: Any = None) -> None:
        """Print the table (to stdout, or to `file`)."""
        print(self, end="", file=file or sys.stdout)


def _shape(a: np.ndarray) -> str:
    return f"{tuple(a.shape)} {a.dtype}"


def format_values(a: np.ndarray, one_line: bool = False) -> str:
    """Values to 4 significant decimals, as NumPy prints them (shared with tinyconv.viz)."""
    text = np.array2string(np.asarray(a), precision=4, separator=", ", suppress_small=True,
                           floatmode="maxprec")
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return " ".join(ln.strip() for ln in lines) if one_line else "\n".join(lines)


def trace(names: Any = None, max_values: int = MAX_VALUES) -> Trace:
    """Record every node backward visits inside the `with` block.

    names:      a Module (its `named_parameters()`) or a mapping name -> Tensor,
                used to name the leaves gradients are accumulated into.
    max_values: gradients with at most this many elements are printed in full.
    """
    return Trace(names, max_values)


_SPECIAL_NAMES = {"SetIndex": ("self", "value")}  # built by Tensor.__setitem__, not forward
_name_cache: dict[type, tuple[tuple[str, ...], str | None]] = {}


def _input_name(cls: type, i: int) -> str:
    """Input i as the op's forward names it: Conv2d.forward(ctx, x, w, b, ...) -> x, w, b."""
    if cls not in _name_cache:
        fixed, var = _SPECIAL_NAMES.get(cls.__name__, ()), None
        if not fixed:
            try:
                params = list(inspect.signature(cls.forward).parameters.values())[1:]  # drop ctx
            except (TypeError, ValueError):
                params = []
            fixed = tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
            var = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
        _name_cache[cls] = (fixed, var)
    fixed, var = _name_cache[cls]
    if i < len(fixed):
        return fixed[i]
    if var:  # Cat.forward(ctx, axis, *parts): parts[0], parts[1], ...
        return f"{var}[{i - len(fixed)}]"
    return f"input{i}"


def _leaf_names(names: Any, what: str = "trace") -> dict[int, str]:
    """{id(tensor): name} from a Module or a mapping name -> Tensor (None: {})."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    if not isinstance(names, Mapping):
        raise TypeError(f"{what}: names must be a Module or a mapping name -> Tensor, "
                        f"got {type(names).__name__}")
    return {id(t): str(k) for k, t in names.items()}


class _CallableModule(type(sys)):
    """Let `tinyconv.autograd.trace()` work even after `import tinyconv.autograd.trace`.

    Importing this file as a module makes `tinyconv.autograd.trace` the module
    rather than the function; calling the module then calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Trace:
        return trace(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
