"""See the graph autograd recorded: `graph(tensor)` as Graphviz DOT text.

Every op that ran with grad mode on left a node (its `grad_fn`, a `Function`)
that points at the nodes or leaf tensors that made its inputs
(`edges`). `graph` walks those pointers back from a tensor and draws
them the other way round, in data-flow order, so the picture reads like the
forward pass:

    import tinyconv as torch
    from tinyconv import nn, viz

    conv = nn.Conv2d(1, 2, 3)
    loss = conv(torch.randn(1, 1, 5, 5)).relu().sum()
    g = viz.graph(loss, names=conv)
    print(g)                   # DOT text: paste it into any Graphviz viewer
    g.render("graph.svg")      # needs the Graphviz `dot` program

    weight (parameter) --+
                         +--> ConvolutionBackward0 --> ReluBackward0 --> SumBackward0
    bias (parameter) ----+

Each op box shows the node's name and its output's shape and dtype. Leaves
are the tensors that require grad: `nn.Parameter`s are "parameter", any other
tensor with `requires_grad=True` is "input". A tensor that does not require
grad (the usual image batch) is a constant to autograd: it leaves no trace in
the graph, so it is not drawn; give it `requires_grad=True` to see it.

`values=True` writes the values of tensors with at most 16 elements into
their boxes (leaves, the output, and tensors that called `retain_grad()`);
`grads=True` adds the leaves' `.grad` after `backward`. Pass a
`tinyconv.autograd.trace()` recorded during that backward as `grads=` to
also see the gradient that reached every op (`dL/d(output)`, the gradient of
the loss with respect to that op's output) and the kernel functions its
backward ran. A gradient too big to print is summarised by its largest
magnitude and where it is; the trace has the whole array.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import TensorValueError
from .autograd.engine import topological_order
from .autograd.function import Function
from .autograd.trace import _leaf_names, call_tree, format_values
from .explain import explain
from .tensor import Tensor

__all__ = ["Graph", "GraphNode", "explain", "graph"]

MAX_VALUES = 16  # tensors with at most this many elements show their values

_STYLE = {
    "op": 'shape=box, style="rounded,filled", fillcolor="#f2f2f2"',
    "output": 'shape=box, style="rounded,filled,bold", fillcolor="#d9ead3"',
    "parameter": 'shape=box, style=filled, fillcolor="#fff2cc"',
    "input": 'shape=box, style=filled, fillcolor="#cfe2f3"',
}


@dataclass
class GraphNode:
    """One box of the picture: an op node or a leaf tensor."""

    id: str  # the DOT node id: "n0", "n1", ... in data-flow order
    kind: str  # "op", "parameter" or "input"
    name: str  # the grad_fn name (e.g. "ConvolutionBackward0") or the leaf's name
    shape: tuple | None  # the op's output shape or the leaf's shape (None: unknown)
    dtype: str | None  # e.g. "float32"
    label: str  # the text in the box, lines separated by "\n"
    obj: Any  # the Function (op) or the Tensor (leaf) itself


class Graph:
    """The graph behind a tensor: `nodes` and `edges` as data, `source` as DOT text."""

    def __init__(
        self, nodes: list[GraphNode], edges: list[tuple[str, str]], output_id: str
    ) -> None:
        self.nodes = nodes  # data-flow order: each node after the nodes that feed it
        self.edges = edges  # (from id, to id), from an input to the op that uses it
        self.output_id = output_id  # the node that made the tensor graph() was called on

    def __getitem__(self, node_id: str) -> GraphNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    @property
    def source(self) -> str:
        """The Graphviz DOT text."""
        lines = [
            "digraph tinyconv {",
            "  rankdir=LR;",
            '  node [fontname="Helvetica", fontsize=11];',
            "  edge [arrowsize=0.7];",
        ]
        for n in self.nodes:
            style = _STYLE["output"] if n.id == self.output_id else _STYLE[n.kind]
            lines.append(f'  {n.id} [label="{_escape(n.label)}", {style}];')
        for a, b in self.edges:
            lines.append(f"  {a} -> {b};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        ops = sum(n.kind == "op" for n in self.nodes)
        return f"<Graph: {ops} ops, {len(self.nodes) - ops} leaves, {len(self.edges)} edges>"

    def save(self, path: str | os.PathLike) -> str:
        """Write the DOT text to `path` (any Graphviz viewer opens it); return the path."""
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.source)
        return path

    def render(self, path: str | os.PathLike, format: str | None = None) -> str:
        """Draw the graph into `path` (SVG, PNG or PDF, from the suffix or `format`) with `dot`."""
        path = os.fspath(path)
        fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
        if fmt not in ("svg", "png", "pdf"):
            raise TensorValueError(
                f"Graph.render: format must be 'svg', 'png' or 'pdf' (from the file suffix or "
                f"format=), got {fmt!r} for path {path!r}; Graph.save(path) writes the DOT text"
            )
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(
                f"Graph.render: drawing {path!r} needs the Graphviz program `dot`, which was not "
                "found on PATH. Install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: "
                "brew install graphviz; conda: conda install graphviz), or use the DOT text, which "
                "needs nothing: print(graph) or graph.save('graph.dot')."
            )
        res = subprocess.run(
            [dot, f"-T{fmt}", "-o", path],
            input=self.source,
            text=True,
            capture_output=True,
            check=False,
        )
        if res.returncode != 0:
            raise RuntimeError(
                f"Graph.render: `dot -T{fmt}` failed (exit {res.returncode}): {res.stderr.strip()}"
            )
        return path


def graph(
    tensor: Tensor,
    values: bool = False,
    grads: Any = False,
    names: Any = None,
) -> Graph:
    """The computation graph behind `tensor`, from its leaves to it.

    values: write values into the boxes of tensors with at most 16 elements.
    grads:  True adds the leaves' `.grad` (after backward); a `trace()` recorded
            during that backward also gives each op the gradient that reached it.
    names:  a Module (its `named_parameters()`) or a mapping name -> Tensor,
            used to label leaves, e.g. `{"x": x, **dict(model.named_parameters())}`.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"viz.graph: expected a Tensor, got {type(tensor).__name__}")
    leaf_names = _leaf_names(names, "viz.graph")
    op_grads = _grads_from_trace(grads)
    op_kernels = {r.node: call_tree(r.kernels) for r in getattr(grads, "records", ()) if r.kernels}

    nodes: list[GraphNode] = []
    edges: list[tuple[str, str]] = []
    ids: dict[int, str] = {}  # id(node or leaf) -> DOT id

    def add_leaf(t: Tensor) -> str:
        key = id(t)
        if key not in ids:
            ids[key] = f"n{len(nodes)}"
            nodes.append(_leaf_node(ids[key], t, leaf_names.get(key), values, bool(grads)))
        return ids[key]

    root = tensor.grad_fn
    if root is None:  # a leaf: the graph is this one tensor
        if not tensor.requires_grad:
            raise TensorValueError(
                "viz.graph: this tensor does not require grad and has no grad_fn, so autograd "
                "recorded no graph for it; make an input require grad (requires_grad=True)"
            )
        out = add_leaf(tensor)
        return Graph(nodes, edges, out)

    order = topological_order(root)  # consumers first
    meta = _output_meta(order, tensor)
    for node in reversed(order):  # producers first: data-flow order
        inputs = []
        for edge in node.edges:
            if isinstance(edge, Tensor):
                inputs.append(add_leaf(edge))
            elif isinstance(edge, Function):
                inputs.append(ids[id(edge)])
        ids[id(node)] = node_id = f"n{len(nodes)}"
        shape, dtype = meta.get(node, (None, None))
        kept = (
            tensor if node is root else (node._retained() if node._retained is not None else None)
        )
        lines = [node.name(), _shape_text(shape, dtype)]
        if getattr(node, "algorithm", None) is not None:  # a convolution: which kernels ran
            lines.append(f"algorithm: {node.algorithm}")
        if node in op_kernels:  # what its backward ran, as the trace saw it
            lines.append(f"backward ran: {op_kernels[node]}")
        if values and kept is not None:
            lines += _value_lines("value", kept._data)
        if grads:
            g = op_grads.get(node)
            if g is None and kept is not None and kept._grad is not None:  # no warning: internal
                g = kept._grad._data
            if g is not None:
                lines += _value_lines("grad", g, "dL/d(output)")
        nodes.append(
            GraphNode(
                node_id,
                "op",
                node.name(),
                shape,
                None if dtype is None else str(dtype),
                "\n".join(lines),
                node,
            )
        )
        edges.extend((i, node_id) for i in inputs)
    return Graph(nodes, edges, ids[id(root)])


# -- helpers ------------------------------------------------------------------------------


def _leaf_node(node_id: str, t: Tensor, name: str | None, values: bool, grads: bool) -> GraphNode:
    kind = "parameter" if t._is_parameter else "input"
    title = f"{name} ({kind})" if name else kind
    lines = [title, _shape_text(t._data.shape, t._data.dtype)]
    if values:
        lines += _value_lines("value", t._data)
    if grads and t.grad is not None:
        lines += _value_lines("grad", t.grad._data, f"{name or kind}.grad")
    return GraphNode(
        node_id, kind, name or kind, tuple(t._data.shape), str(t._data.dtype), "\n".join(lines), t
    )


def _grads_from_trace(grads: Any) -> dict:
    """{node: grad_output} from a Trace passed as `grads=`; {} for True/False."""
    if isinstance(grads, (bool, type(None))):
        return {}
    records = getattr(grads, "records", None)
    if records is None:
        raise TypeError(
            f"viz.graph: grads must be True, False or a trace() record, got {type(grads).__name__}"
        )
    return {r.node: r.grad_output for r in records}


def _output_meta(order: list[Function], tensor: Tensor) -> dict:
    """(shape, dtype) of every node's output.

    `Function.apply` stores it on each node it records (`_out_meta`). A node
    built outside apply (the CopySlices node of `y[i] = v`) has none; its
    shape is then read off whoever consumes it: the tensor itself for the
    root, the next CopySlices (which overwrites the same tensor), or a
    broadcasting op that remembered its operands' shapes.
    """
    meta: dict = {}
    for node in order:  # consumers before producers
        m = node._out_meta
        if m is None and node is tensor.grad_fn:
            m = (tensor._data.shape, tensor._data.dtype)
        if m is None:
            m = meta.get(node)
        if m is None:
            continue
        meta[node] = m
        operands = (
            (m, None)
            if node.name() == "CopySlices"
            else (getattr(node, "a_meta", None), getattr(node, "b_meta", None))
        )
        for edge, om in zip(node.edges, operands, strict=False):
            if isinstance(edge, Function) and edge._out_meta is None and om and om[1] is not None:
                meta.setdefault(edge, om)
    return meta


def _shape_text(shape: tuple | None, dtype: Any) -> str:
    if shape is None:
        return "shape ?"
    return f"{tuple(shape)} {dtype}"


def _value_lines(what: str, a: np.ndarray, whose: str = "") -> list[str]:
    """`value = [...]` for small arrays; a big gradient gets its largest magnitude and where.

    `whose` says what the gradient is: "dL/d(output)" for an op, "weight.grad" for a leaf.
    """
    a = np.asarray(a)
    if a.size > MAX_VALUES:
        if what != "grad" or not a.size:
            return []
        at = np.unravel_index(int(np.argmax(np.abs(a))), a.shape)
        return [f"{whose}: max |.| = {np.abs(a).max():.4g} at [{', '.join(map(str, at))}]"]
    rows = format_values(a).splitlines()
    head = f"{what} ({whose})" if whose.startswith("dL/") else what  # a leaf's grad is its .grad
    return [f"{head} = {rows[0]}"] + [" " * (len(head) + 3) + r for r in rows[1:]]


def _escape(s: str) -> str:
    """A DOT label: quotes escaped, every line left-justified (`\\l`) so arrays line up."""
    s = s.replace("\\", "\\\\").replace('"', '\\"')
    return s.replace("\n", "\\l") + "\\l"
