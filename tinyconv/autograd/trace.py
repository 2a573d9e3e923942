"""Watch backward work: which node it visits, what gradient arrives, what leaves.

    import tinyconv as torch
    from tinyconv.autograd import trace

    with trace(names=model) as t:
        loss.backward()
    t.print()              # one row per gradient sent, in the order backward ran
    t.records              # the same as data: TraceRecord(step, op, node, grad_output, grads)
    t.records[2].grad_to("w")   # one gradient, the whole array (the table truncates big ones)

The engine (engine.py) calls every function in `engine.observers` after each
node's backward with `(node, grad_output, grads_to_inputs)`; a trace is one
such observer, registered for the duration of the `with` block. It keeps a
copy of every gradient it sees, so trace one step, not a training run.

Each gradient is printed with what it is (`to w = dL/dw -> weight.grad`): in
full when it is small, otherwise as 2-D grids, one per leading index
(`[n, c]`), cut to a few rows, columns and planes. A node also lists the
kernel functions (in `tinyconv.kernels`) that ran during its backward, nested
as they called each other: the code that computed its gradients. They are
seen with `sys.setprofile` while the block runs (unless another profiler is
active), which slows the traced backward down.
"""

from __future__ import annotations

import inspect
import io
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import engine
from .function import Function

if TYPE_CHECKING:
    from typing import Self

__all__ = ["SentGrad", "Trace", "TraceRecord", "trace"]

MAX_VALUES = 16  # gradients with at most this many elements are printed in full, on one line
GRID = (8, 8, 3)  # bigger ones as 2-D grids: at most this many rows, columns and planes
_KERNELS = "tinyconv.kernels."  # the modules whose functions a trace lists under each node


@dataclass
class SentGrad:
    """One gradient leaving a node: d(loss)/d(one of its inputs)."""

    index: int  # the input's position among the op's arguments
    input: str  # the forward argument's name, e.g. "w" for Conv2d's weight
    to: Any  # where it goes: the node that made the input, or the leaf Tensor
    to_name: str  # "#3 ReluBackward0" or "weight.grad (parameter)"
    grad: np.ndarray  # the gradient itself, in the input's shape


@dataclass
class TraceRecord:
    """One node visited by backward."""

    step: int  # 1 for the first node visited
    op: str  # the node's name, e.g. "ConvolutionBackward0"
    node: Function  # the node itself
    grad_output: np.ndarray  # d(loss)/d(node's output): what arrived, summed over its users
    grads: list[SentGrad] = field(default_factory=list)  # what it sent to each input
    algorithm: str | None = (
        None  # convolutions: the kernel algorithm that ran ("fast", "loops", ...)
    )
    kernels: list[tuple[int, str]] = field(default_factory=list)  # (depth, "conv.input_grad") calls

    def grad_to(self, input: str) -> np.ndarray:
        """The gradient sent to the input with this argument name (e.g. "w")."""
        for s in self.grads:
            if s.input == input:
                return s.grad
        raise KeyError(
            f"{self.op} sent no gradient to an input named {input!r}; "
            f"it sent to {[s.input for s in self.grads]}"
        )


class Trace:
    """What `trace()` returns: a context manager that fills `records` during backward."""

    def __init__(
        self,
        names: Any = None,
        max_values: int = MAX_VALUES,
        grid: tuple[int, int, int] = GRID,
        kernels: bool = True,
    ) -> None:
        self.records: list[TraceRecord] = []
        self.max_values = max_values
        self.grid = grid
        self._names = _leaf_names(names)
        self._steps: dict[int, int] = {}  # id(node) -> step, to name where gradients go
        self._observer = self._observe
        self._kernels = kernels
        self._calls: list[tuple[int, str]] = []  # kernel calls since the last node finished
        self._depth = 0
        self._profiling = False
        self._thread: int | None = None

    def __enter__(self) -> Self:
        engine.observers.append(self._observer)
        if self._kernels and sys.getprofile() is None:  # never displace someone else's profiler
            self._thread = threading.get_ident()
            sys.setprofile(self._profile)
            self._profiling = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._profiling:
            sys.setprofile(None)
            self._profiling = False
        if self._observer in engine.observers:
            engine.observers.remove(self._observer)
        self._name_targets()

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        """Note every call of a function in tinyconv.kernels, with its nesting depth."""
        if event not in ("call", "return"):
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(_KERNELS):
            return
        if event == "call":
            name = frame.f_code.co_name
            if not name.startswith("<"):  # not a generator expression or a lambda inside one
                self._calls.append((self._depth, f"{module[len(_KERNELS) :]}.{name}"))
            self._depth += 1
        else:
            self._depth = max(0, self._depth - 1)

    def _observe(self, node: Function, grad_output: np.ndarray, grads: tuple) -> None:
        step = len(self.records) + 1
        self._steps[id(node)] = step
        rec = TraceRecord(
            step,
            node.name(),
            node,
            np.array(grad_output, copy=True),
            algorithm=getattr(node, "algorithm", None),
            kernels=self._calls,
        )
        self._calls = []  # what runs from here on belongs to the next node
        for i, (edge, g) in enumerate(zip(node.edges, grads, strict=False)):
            if edge is None or g is None:  # not a tensor, or one that needs no gradient
                continue
            rec.grads.append(
                SentGrad(i, _input_name(type(node), i), edge, "", np.array(g, copy=True))
            )
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
        kind = "parameter" if s.to._is_parameter else "input"
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
            return (
                "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip() + "\n"
            )

        out = io.StringIO()
        out.write(
            f"backward trace: {len(self.records)} node(s), in the order backward visited them\n"
        )
        out.write(line(header))
        out.write(line(tuple("-" * w for w in widths)))
        indent = " " * (widths[0] + 4)
        it = iter(rows)
        for r in self.records:
            for _ in range(max(1, len(r.grads))):
                out.write(line(next(it)))
            if r.algorithm is not None:  # which kernels computed this node (conv_algorithm)
                out.write(f"{indent}algorithm = {r.algorithm}\n")
            if r.kernels:
                out.write(f"{indent}kernels: {call_tree(r.kernels)}\n")
            for text in self._value_lines(r):
                out.write(f"{indent}{text}\n")
        return out.getvalue()

    def _value_lines(self, r: TraceRecord) -> list[str]:
        """The numbers under a node: what arrived, then what left for each input, each labelled."""
        k = r.step - 1
        items = [("grad_output", "dL/d(output)", r.grad_output, f"t.records[{k}].grad_output")]
        for s in r.grads:
            target = s.to_name.replace(".grad (parameter)", ".grad").replace(
                ".grad (input)", ".grad"
            )
            step = self._steps.get(id(s.to)) if isinstance(s.to, Function) else None
            if (
                step is not None
                and len(self.records) >= step
                and _only_sender(self.records, r, s, step)
            ):
                # the next node's grad_output is this very array: say so rather than print it twice
                items.append(
                    (f"to {s.input}", f"dL/d{s.input} -> {target}", None, f"#{step}'s grad_output")
                )
                continue
            items.append(
                (
                    f"to {s.input}",
                    f"dL/d{s.input} -> {target}",
                    s.grad,
                    f't.records[{k}].grad_to("{s.input}")',
                )
            )
        pad = max(len(what) for what, *_ in items)
        lines = []
        for what, meaning, a, full in items:
            head = f"{what.ljust(pad)} = {meaning}"
            if a is None:
                lines.append(f"{head}: printed as {full}")
            elif (
                a.size <= self.max_values and sum(d > 1 for d in a.shape) <= 1
            ):  # a vector: one line
                lines.append(f"{head} = {format_values(a, one_line=True)}")
            else:
                rows, more = format_grid(a, *self.grid)
                lines.append(f"{head}, {tuple(a.shape)}:")
                lines += ["  " + row for row in rows]
                if more:
                    lines.append(f"  ({more}; all of it: {full})")
        return lines

    def __repr__(self) -> str:
        return f"<Trace: {len(self.records)} node(s)>"

    def print(self, file: Any = None) -> None:
        """Print the table (to stdout, or to `file`)."""
        print(self, end="", file=file or sys.stdout)


def _shape(a: np.ndarray) -> str:
    return f"{tuple(a.shape)} {a.dtype}"


def _only_sender(records: list[TraceRecord], r: TraceRecord, s: SentGrad, step: int) -> bool:
    """True when gradient `s` of node `r` is all that reached node #step (so it is that
    grad_output)."""
    target = records[step - 1]
    senders = [g for rec in records for g in rec.grads if g.to is target.node]
    return (
        len(senders) == 1
        and senders[0] is s
        and s.grad.shape == target.grad_output.shape
        and np.array_equal(s.grad, target.grad_output)
    )


def call_tree(calls: list[tuple[int, str]]) -> str:
    """[(0, "conv.f"), (1, "conv.g"), (1, "conv.g"), (2, "conv.h")] -> "conv.f(conv.g ×2(conv.h))".

    Repeated calls at one place (a loop calling a helper) are counted, not listed.
    """

    def build(i: int, depth: int) -> tuple[list[str], int]:
        parts: list[tuple[str, str, int]] = []  # (name, children text, count)
        # a call deeper than `depth` whose caller was not listed (a genexpr) counts as a sibling
        while i < len(calls) and calls[i][0] >= depth:
            level, name = calls[i]
            children, i = build(i + 1, level + 1)
            inner = f"({', '.join(children)})" if children else ""
            if parts and parts[-1][0] == name and parts[-1][1] == inner:
                parts[-1] = (name, inner, parts[-1][2] + 1)
            else:
                parts.append((name, inner, 1))
        return [f"{n}{' ×' + str(c) if c > 1 else ''}{inner}" for n, inner, c in parts], i

    return ", ".join(build(0, min(d for d, _ in calls))[0]) if calls else ""


def format_grid(
    a: np.ndarray, max_rows: int = GRID[0], max_cols: int = GRID[1], max_planes: int = GRID[2]
) -> tuple[list[str], str]:
    """A gradient as 2-D grids, one per leading index: (lines, what was left out or "").

    `(N, C, H, W)` prints `[n, c]` planes of H rows; 1-D arrays print as one row. Numbers
    have 4 significant digits and share one width per plane, so columns line up.
    """
    a = np.asarray(a)
    flat = a.ndim < 2
    if a.ndim < 2:
        a = a.reshape(1, 1, -1) if a.ndim == 1 else a.reshape(1, 1, 1)
        lead_shape: tuple = ()
    else:
        lead_shape = a.shape[:-2]
    planes = a.reshape(-1, *a.shape[-2:])
    index = list(np.ndindex(lead_shape)) or [()]
    lines: list[str] = []
    for idx, plane in list(zip(index, planes, strict=False))[:max_planes]:
        shown = plane[:max_rows, :max_cols]
        text = [[_number(v) for v in row] for row in shown]
        width = max(len(s) for row in text for s in row)
        head = f"[{', '.join(map(str, idx))}] " if idx else ""
        for r, row in enumerate(text):
            cells = ", ".join(s.rjust(width) for s in row) + (
                ", ..." if plane.shape[1] > max_cols else ""
            )
            lines.append((head if r == 0 else " " * len(head)) + f"[{cells}]")
        if plane.shape[0] > max_rows:
            lines.append(" " * len(head) + "...")
    left = []
    if planes.shape[0] > max_planes:
        left.append(
            f"{planes.shape[0] - max_planes} more "
            f"plane{'s' if planes.shape[0] - max_planes > 1 else ''}"
        )
    if flat and a.size > max_cols:
        left.append(f"the first {max_cols} of {a.size} values")
    elif a.shape[-2] > max_rows or a.shape[-1] > max_cols:
        left.append(f"each plane cut to {min(a.shape[-2], max_rows)}x{min(a.shape[-1], max_cols)}")
    return lines, "; ".join(left)


def _number(v: float) -> str:
    """4 significant digits; integers as NumPy prints float ones ("68.")."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e6:
        return "-0." if v == 0 and np.signbit(v) else f"{int(v)}."
    return f"{v:.4g}"


def format_values(a: np.ndarray, one_line: bool = False) -> str:
    """Values to 4 significant decimals, as NumPy prints them (shared with tinyconv.viz)."""
    text = np.array2string(
        np.asarray(a), precision=4, separator=", ", suppress_small=True, floatmode="maxprec"
    )
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return " ".join(ln.strip() for ln in lines) if one_line else "\n".join(lines)


def trace(
    names: Any = None,
    max_values: int = MAX_VALUES,
    grid: tuple[int, int, int] = GRID,
    kernels: bool = True,
) -> Trace:
    """Record every node backward visits inside the `with` block.

    names:      a Module (its `named_parameters()`) or a mapping name -> Tensor,
                used to name the leaves gradients are accumulated into.
    max_values: vectors (one axis longer than 1) with at most this many elements are printed
                in full, on one line.
    grid:       everything else as 2-D grids of at most (rows, columns, planes); raise it
                to print more.
    kernels:    list under each node the tinyconv.kernels functions its backward ran.
    """
    return Trace(names, max_values, grid, kernels)


_SPECIAL_NAMES = {"SetIndex": ("self", "value")}  # built by Tensor.__setitem__, not forward
_name_cache: dict[type, tuple[tuple[str, ...], str | None]] = {}


def _input_name(cls: type, i: int) -> str:
    """Input i as the op's forward names it: Conv2d.forward(ctx, x, w, b, ...) -> x, w, b."""
    if cls not in _name_cache:
        fixed, var = _SPECIAL_NAMES.get(cls.__dict__.get("_class_name", cls.__name__), ()), None
        if not fixed:
            try:
                params = list(inspect.signature(cls.forward).parameters.values())[1:]  # drop ctx
            except (TypeError, ValueError):
                params = []
            fixed = tuple(
                p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            )
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
        raise TypeError(
            f"{what}: names must be a Module or a mapping name -> Tensor, "
            f"got {type(names).__name__}"
        )
    return {id(t): str(k) for k, t in names.items()}


class _CallableModule(type(sys)):
    """Let `tinyconv.autograd.trace()` work even after `import tinyconv.autograd.trace`.

    Importing this file as a module makes `tinyconv.autograd.trace` the module
    rather than the function; calling the module then calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Trace:
        return trace(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
