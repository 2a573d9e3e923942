"""tinyconv.viz.graph: the DOT text of a small conv net's graph, node by node and edge by edge."""

from __future__ import annotations

import re
import shutil
import timeit
from pathlib import Path

import numpy as np
import pytest

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, viz

NODE = re.compile(r'^\s*(n\d+) \[label="(.*?)", (.*)\];$', re.MULTILINE)
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+);$", re.MULTILINE)


def parse_dot(dot: str) -> tuple[dict, list]:
    """{id: (label lines, attributes)} and [(from id, to id)], read back from the DOT text."""
    nodes = {m.group(1): (m.group(2).split("\\l")[:-1], m.group(3)) for m in NODE.finditer(dot)}
    edges = [(m.group(1), m.group(2)) for m in EDGE.finditer(dot)]
    return nodes, edges


def small_net():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
    )
    x = torch.randn(1, 1, 6, 6)
    loss = F.cross_entropy(net(x), torch.tensor([1]))
    return net, x, loss


def test_conv_net_dot_has_exactly_the_nodes_and_edges():
    net, _, loss = small_net()
    dot = viz.graph(loss, names=net).source
    assert dot.startswith("digraph tinyconv {") and dot.rstrip().endswith("}")
    nodes, edges = parse_dot(dot)
    # every node line names the op (or the leaf) and then its shape and dtype
    labels = {nid: (lines[0], lines[1]) for nid, (lines, _) in nodes.items()}
    assert sorted(labels.values()) == sorted(
        [
            ("0.weight (parameter)", "(2, 1, 3, 3) float32"),
            ("0.bias (parameter)", "(2,) float32"),
            ("ConvolutionBackward0", "(1, 2, 4, 4) float32"),
            ("ReluBackward0", "(1, 2, 4, 4) float32"),
            ("MaxPool2DWithIndicesBackward0", "(1, 2, 2, 2) float32"),
            ("ViewBackward0", "(1, 8) float32"),
            ("4.weight (parameter)", "(3, 8) float32"),
            ("4.bias (parameter)", "(3,) float32"),
            ("AddmmBackward0", "(1, 3) float32"),
            ("LogSoftmaxBackward0", "(1, 3) float32"),
            ("NllLossBackward0", "() float32"),
        ]
    )
    named = [(labels[a][0], labels[b][0]) for a, b in edges]
    # data-flow direction: from what an op reads to the op
    assert sorted(named) == sorted(
        [
            ("0.weight (parameter)", "ConvolutionBackward0"),
            ("0.bias (parameter)", "ConvolutionBackward0"),
            ("ConvolutionBackward0", "ReluBackward0"),
            ("ReluBackward0", "MaxPool2DWithIndicesBackward0"),
            ("MaxPool2DWithIndicesBackward0", "ViewBackward0"),
            ("ViewBackward0", "AddmmBackward0"),
            ("4.weight (parameter)", "AddmmBackward0"),
            ("4.bias (parameter)", "AddmmBackward0"),
            ("AddmmBackward0", "LogSoftmaxBackward0"),
            ("LogSoftmaxBackward0", "NllLossBackward0"),
        ]
    )
    # nodes are listed in data-flow order: every edge goes from an earlier node to a later one
    order = list(nodes)
    assert all(order.index(a) < order.index(b) for a, b in edges)


def test_leaves_are_marked_parameter_or_input_and_styled_apart():
    net, _, _ = small_net()
    x = torch.randn(1, 1, 6, 6, requires_grad=True)  # an input that asks for a gradient appears
    g = viz.graph(net(x).sum(), names={"x": x})
    kinds = {n.name: n.kind for n in g.nodes if n.kind != "op"}
    assert kinds == {
        "x": "input",
        "parameter": "parameter",
    }  # four unnamed parameters share the name
    assert sum(n.kind == "parameter" for n in g.nodes) == 4
    nodes, _ = parse_dot(g.source)
    fill = {lines[0]: attrs for lines, attrs in nodes.values()}
    assert fill["x (input)"] != fill["parameter"]
    assert "bold" in fill["SumBackward0"]  # the tensor graph() was called on is highlighted
    assert "bold" not in fill["ConvolutionBackward0"]


def test_a_leaf_used_twice_is_one_node_with_two_edges():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    g = viz.graph((a * a).sum())
    leaves = [n for n in g.nodes if n.kind != "op"]
    assert len(leaves) == 1
    mul = next(n for n in g.nodes if n.name == "MulBackward0")
    assert g.edges.count((leaves[0].id, mul.id)) == 2


def test_values_only_for_small_tensors_and_grads_after_backward():
    torch.manual_seed(0)
    w = nn.Parameter(torch.tensor([[2.0, -1.0]]))
    big = nn.Parameter(torch.ones(17))
    loss = (w * 3).sum() + big.sum()
    g = viz.graph(loss, values=True, grads=True, names={"w": w, "big": big})
    assert "value = [[ 2., -1.]]" in g["n0"].label
    big_node = next(n for n in g.nodes if n.name == "big")
    assert "value" not in big_node.label  # 17 elements: more than 16
    assert "value = 20." in g[g.output_id].label  # the output itself: 3 * (2 - 1) + 17
    assert "grad" not in g.source  # no backward yet

    loss.backward()
    after = viz.graph(loss, values=True, grads=True, names={"w": w, "big": big})
    w_node = next(n for n in after.nodes if n.name == "w")
    assert "grad = [[3., 3.]]" in w_node.label
    big_node = next(n for n in after.nodes if n.name == "big")
    assert "big.grad: max |.| = 1 at [0]" in big_node.label  # whose gradient, and where
    plain = viz.graph(loss)
    assert "value" not in plain.source and "grad =" not in plain.source


def test_retained_intermediate_shows_its_value_and_grad():
    x = torch.tensor([1.5, -2.0], requires_grad=True)
    mid = x * 2
    mid.retain_grad()
    out = (mid**2).sum()
    out.backward()
    g = viz.graph(out, values=True, grads=True)
    mul = next(n for n in g.nodes if n.name == "MulBackward0")
    assert "value = [ 3., -4.]" in mul.label
    assert "grad (dL/d(output)) = [ 6., -8.]" in mul.label  # d out / d mid = 2 mid
    pow_node = next(n for n in g.nodes if n.name == "PowBackward0")
    assert "value" not in pow_node.label  # not kept anywhere: no value to show


def test_grads_from_a_trace_reach_every_op():
    from tinyconv.autograd import trace

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = ((x * 2) ** 2).sum()
    with trace() as t:
        loss.backward()
    g = viz.graph(loss, grads=t)
    pow_node = next(n for n in g.nodes if n.name == "PowBackward0")
    mul_node = next(n for n in g.nodes if n.name == "MulBackward0")
    assert "grad (dL/d(output)) = [1., 1., 1.]" in pow_node.label  # d loss / d (2x)^2
    assert "grad (dL/d(output)) = [ 4.,  8., 12.]" in mul_node.label  # 2 * (2x)
    with pytest.raises(TypeError, match="grads must be"):
        viz.graph(loss, grads="yes")


def test_setitem_nodes_get_their_shape_from_their_users():
    # The hand-written loop of the edge example: y[i] = ... records CopySlices nodes,
    # which Function.apply does not build; their shape comes from the ops that use them.
    w = torch.tensor([1.0, -1.0], requires_grad=True)
    x = torch.tensor([[0.0, 1.0, 3.0]])
    y = torch.zeros((1, 2))
    for j in range(2):
        y[0, j] = (x[0, j : j + 2] * w).sum()
    g = viz.graph(((y - 1.0) ** 2).sum())
    copies = [n for n in g.nodes if n.name == "CopySlices"]
    assert len(copies) == 2
    assert all(n.shape == (1, 2) and n.dtype == "float32" for n in copies), [
        n.label for n in copies
    ]
    assert "shape ?" not in g.source


def test_graph_of_a_leaf_and_errors():
    p = nn.Parameter(torch.ones(2))
    g = viz.graph(p)
    assert [n.kind for n in g.nodes] == ["parameter"] and g.edges == []
    with pytest.raises(ValueError, match="does not require grad"):
        viz.graph(torch.ones(2))
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.graph(np.ones(2))
    with pytest.raises(TypeError, match="names must be a Module or a mapping"):
        viz.graph(p, names=[p])


def test_labels_with_quotes_are_escaped():
    p = nn.Parameter(torch.ones(2))
    dot = viz.graph(p.sum(), names={'my "p"': p}).source
    assert r"my \"p\" (parameter)" in dot
    nodes, _ = parse_dot(dot)
    assert len(nodes) == 2


def test_render_without_dot_says_how_to_get_it(tmp_path, monkeypatch):
    _, _, loss = small_net()
    g = viz.graph(loss)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz") as err:
        g.render(tmp_path / "g.svg")
    assert "print(graph)" in str(err.value)
    assert not (tmp_path / "g.svg").exists()
    with pytest.raises(ValueError, match="format must be"):
        g.render(tmp_path / "g.txt")
    path = g.save(tmp_path / "g.dot")
    assert Path(path).read_text(encoding="utf-8") == g.source == str(g)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("suffix,magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_render_with_dot(tmp_path, suffix, magic):
    _, _, loss = small_net()
    out = viz.graph(loss, values=True).render(tmp_path / f"g.{suffix}")
    data = Path(out).read_bytes()
    assert magic in data[:400]


def test_recording_the_output_shape_costs_little():
    # Function.apply stores (shape, dtype) on every node for graph(); that must stay cheap.
    a, b, c = (torch.tensor([1.0, 2.0, 3.0], requires_grad=True) for _ in range(3))
    out = (a + b) * c
    assert out.grad_fn._out_meta == ((3,), np.dtype("float32"))
    t = min(timeit.repeat(lambda: ((a + b) * c).sum().backward(), number=200, repeat=5)) / 200
    assert t < 1e-3, f"{t * 1e6:.0f} us for a 3-op forward+backward"


# -- the edge example's pictures and graph flags ------------------------------------------------


def load_edge():
    import importlib.util
    import os

    path = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "edge_kernel.py"
    )
    spec = importlib.util.spec_from_file_location("edge_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_edge_plot_saves_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "edge.png"
    load_edge().main(["--steps", "3", "--plot", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000  # four panels, not an empty canvas
    assert f"saved figure to {out}" in capsys.readouterr().out


def test_edge_without_matplotlib_prints_text_and_says_how_to_get_pictures(
    tmp_path, monkeypatch, capsys
):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    edge = load_edge()
    out = edge.main(["--steps", "2"])
    printed = capsys.readouterr().out
    assert len(out["losses"]) == 2 and "learned weight:" in printed
    assert 'for pictures: pip install ".[plot]"' in printed
    edge.main(["--steps", "2", "--plot", str(tmp_path / "edge.png")])
    printed = capsys.readouterr().out
    assert 'no figure: --plot needs matplotlib; install it with pip install ".[plot]"' in printed
    assert not (tmp_path / "edge.png").exists()


def test_edge_graph_flag_prints_dot_or_saves_it(tmp_path, capsys):
    edge = load_edge()
    edge.main(["--module", "--steps", "1", "--graph"])
    printed = capsys.readouterr().out
    nodes, edges = parse_dot(printed[printed.index("digraph") : printed.index("}\n") + 2])
    names = {nid: lines[0] for nid, (lines, _) in nodes.items()}
    assert sorted(names.values()) == [
        "ConvolutionBackward0",
        "PowBackward0",
        "SubBackward0",
        "SumBackward0",
        "bias (parameter)",
        "weight (parameter)",
    ]
    assert ("weight (parameter)", "ConvolutionBackward0") in [
        (names[a], names[b]) for a, b in edges
    ]
    assert "backward trace" not in printed  # only with --trace
    edge.main(["--module", "--steps", "1", "--graph", str(tmp_path / "g.dot")])
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph tinyconv {")


def test_graph_says_whose_gradient_and_which_kernels_ran():
    from tinyconv.autograd import trace

    conv = nn.Conv2d(1, 2, 3)
    x = torch.randn(1, 1, 6, 6, requires_grad=True)
    loss = conv(x).relu().sum()
    with trace(names=conv) as t:
        loss.backward()
    g = viz.graph(loss, grads=t, names={"x": x, **dict(conv.named_parameters())})
    conv_node = next(n for n in g.nodes if n.name == "ConvolutionBackward0")
    rec = t.find("ConvolutionBackward0")[0]
    top = np.abs(rec.grad_output).max()
    assert f"dL/d(output): max |.| = {top:.4g} at [" in conv_node.label
    assert "backward ran: conv_fast.conv2d_backward(" in conv_node.label
    x_node = next(n for n in g.nodes if n.name == "x")
    assert f"x.grad: max |.| = {np.abs(x.grad.numpy()).max():.4g} at [" in x_node.label
