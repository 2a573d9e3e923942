"""tinyconv.autograd.trace: what backward visits, what arrives at each node, what leaves it."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tinyconv as torch
from tinyconv.autograd import engine, trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def three_channel():
    spec = importlib.util.spec_from_file_location(
        "three_channel", os.path.join(ROOT, "examples", "three_channel.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def traced_three_channel():
    """The three-channel example's conv, with x requiring grad, traced through sum(y)."""
    ex = three_channel()
    conv = ex.conv_layer()
    x = torch.tensor([ex.X], dtype=torch.float32, requires_grad=True)
    y = conv(x)
    loss = y.sum()
    with trace(names={"x": x, **dict(conv.named_parameters())}) as t:
        loss.backward()
    return ex, conv, x, t


def test_grad_output_arrives_at_the_conv_then_three_gradients_leave(traced_three_channel):
    _, conv, x, t = traced_three_channel
    assert [r.op for r in t.records] == ["SumBackward0", "ConvolutionBackward0"]
    assert [r.step for r in t.records] == [1, 2]
    total, conv_rec = t.records
    # the seed arrives at the sum; the sum sends a gradient of ones to the conv
    np.testing.assert_array_equal(total.grad_output, 1.0)
    assert [s.to for s in total.grads] == [conv_rec.node]
    # what arrived at the conv is what the sum sent: dL/dy, y's shape
    assert conv_rec.grad_output.shape == (1, 2, 3, 3)
    np.testing.assert_array_equal(conv_rec.grad_output, total.grads[0].grad)
    # then grad_input, grad_weight and grad_bias leave it, to x, weight and bias
    assert [(s.input, s.to_name) for s in conv_rec.grads] == [
        ("x", "x.grad (input)"),
        ("w", "weight.grad (parameter)"),
        ("b", "bias.grad (parameter)"),
    ]
    assert conv_rec.grads[0].to is x and conv_rec.grads[1].to is conv.weight
    np.testing.assert_array_equal(conv_rec.grad_to("x"), x.grad.numpy())
    np.testing.assert_array_equal(conv_rec.grad_to("w"), conv.weight.grad.numpy())
    np.testing.assert_array_equal(conv_rec.grad_to("b"), [9.0, 9.0])  # nine output pixels each
    assert conv_rec.grad_to("w").shape == (2, 3, 3, 3)
    with pytest.raises(KeyError, match="no gradient to an input named 'stride'"):
        conv_rec.grad_to("stride")


def test_weight_gradient_matches_the_correlation_of_input_with_grad_output(traced_three_channel):
    ex, _, _, t = traced_three_channel
    (rec,) = t.find("ConvolutionBackward0")
    x_pad = np.pad(np.array(ex.X, dtype=np.float64), ((0, 0), (1, 1), (1, 1)))
    g = rec.grad_output[0]
    dw = np.zeros((2, 3, 3, 3))
    for o in range(2):
        for c in range(3):
            for p in range(3):
                for q in range(3):
                    dw[o, c, p, q] = (g[o] * x_pad[c, p : p + 5 : 2, q : q + 5 : 2]).sum()
    np.testing.assert_array_equal(rec.grad_to("w"), dw)


def test_table_reads_in_backward_order(traced_three_channel):
    *_, t = traced_three_channel
    text = str(t)
    lines = text.splitlines()
    assert lines[0] == "backward trace: 2 node(s), in the order backward visited them"
    assert lines[1].split() == [
        "#",
        "op",
        "grad_output",
        "(arrives)",
        "input",
        "gradient",
        "(leaves)",
        "to",
    ]
    sum_row = next(i for i, ln in enumerate(lines) if ln.startswith("1  SumBackward0"))
    conv_row = next(i for i, ln in enumerate(lines) if ln.startswith("2  ConvolutionBackward0"))
    assert sum_row < conv_row
    assert "(1, 2, 3, 3) float32" in lines[conv_row]
    assert "#2 ConvolutionBackward0" in lines[sum_row]  # where the sum's gradient goes
    conv_block = "\n".join(lines[conv_row:])
    for needle in (
        "x      (1, 3, 5, 5) float32  x.grad (input)",
        "w      (2, 3, 3, 3) float32  weight.grad (parameter)",
        "b      (2,) float32          bias.grad (parameter)",
        "to b        = dL/db -> bias.grad = [9., 9.]",
    ):
        assert needle in conv_block, (needle, text)
    assert "grad_output = dL/d(output) = 1." in text
    out = io.StringIO()
    t.print(file=out)
    assert out.getvalue() == text


def test_observer_is_removed_after_the_block_even_on_error():
    before = list(engine.observers)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="boom"), trace() as t:
        (x * x).sum().backward()
        raise RuntimeError("boom")
    assert engine.observers == before
    assert [r.op for r in t.records] == ["SumBackward0", "MulBackward0"]
    (x * 3).sum().backward()  # outside the block: not recorded
    assert len(t.records) == 2


def test_gradients_are_copies_and_sum_of_two_paths_arrives_once():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    loss = (y + y * y).sum()  # y has two users: its node receives the sum of both
    with trace() as t:
        loss.backward()
    (mul2,) = [r for r in t.records if r.op == "MulBackward0" and r.grads[0].to is x]
    np.testing.assert_array_equal(mul2.grad_output, 1 + 2 * np.array([2.0, 4.0]))
    assert t.records[-1] is mul2  # visited once, after both users
    np.testing.assert_array_equal(mul2.grad_to("a"), x.grad.numpy())
    x.grad.zero_()
    assert mul2.grad_to("a")[0] != 0  # the trace kept its own copy


def test_small_values_inline_and_large_ones_not():
    x = torch.ones(17, requires_grad=True)
    with trace() as t:
        (x * 2).sum().backward()
    text = str(t)
    assert "grad_output = dL/d(output) = 1." in text
    # 17 values: a grid, cut to its first 8, and where the whole array is
    assert (
        "to a        = dL/da -> input.grad, (17,):\n       [2., 2., 2., 2., 2., 2., 2., 2., ...]\n"
        '       (the first 8 of 17 values; all of it: t.records[1].grad_to("a"))' in text
    ), text
    with trace(max_values=20) as t2:
        (x * 2).sum().backward()
    assert re.search(r"\n +to a +\= dL/da -> input.grad = \[2\., 2\.,", str(t2)), str(t2)


def test_input_names_come_from_forward_signatures():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0], requires_grad=True)
    with trace() as t:
        torch.cat([a, b]).sum().backward()
    (cat,) = t.find("CatBackward0")
    assert [s.input for s in cat.grads] == ["parts[0]", "parts[1]"]
    y = torch.zeros(2)
    y[0] = (a * b).sum()
    with trace() as t:
        y.sum().backward()
    (copy,) = t.find("CopySlices")
    assert [s.input for s in copy.grads] == ["value"]


def test_trace_works_after_importing_the_module_first():
    code = (
        "import tinyconv.autograd.trace as m; import tinyconv as torch; "
        "t = torch.autograd.trace(); print(type(t).__name__, callable(m))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["Trace", "True"]


def test_big_gradients_print_as_labelled_grids_per_channel(traced_three_channel):
    _, conv, x, t = traced_three_channel
    text = str(t)
    conv_block = text[text.index("2  ConvolutionBackward0") :]
    dx = x.grad.numpy()[0, 0]
    width = max(len(f"{int(v)}.") for v in dx.ravel())  # one width per plane, columns aligned
    first = "[" + ", ".join(f"{int(v)}.".rjust(width) for v in dx[0]) + "]"
    assert f"to x        = dL/dx -> x.grad, (1, 3, 5, 5):\n       [0, 0] {first}\n" in conv_block, (
        conv_block
    )
    assert "       [0, 2] " in conv_block  # every channel of x: 3 planes, all shown
    # w has 6 planes: 3 shown, and the way to the whole array
    assert "       [0, 2] " in conv_block.split("to w")[1]
    assert '(3 more planes; all of it: t.records[1].grad_to("w"))' in conv_block
    np.testing.assert_array_equal(t.records[1].grad_to("w"), conv.weight.grad.numpy())
    # the sum's gradient to the conv is the conv's grad_output: printed once, and said so
    assert "to a        = dL/da -> #2 ConvolutionBackward0: printed as #2's grad_output" in text


def test_format_grid_cuts_rows_columns_and_planes():
    from tinyconv.autograd.trace import format_grid

    a = np.arange(2 * 3 * 10 * 12, dtype=np.float64).reshape(2, 3, 10, 12)
    lines, more = format_grid(a, max_rows=4, max_cols=5, max_planes=2)
    assert lines[0] == "[0, 0] [ 0.,  1.,  2.,  3.,  4., ...]"
    assert lines[3] == "       [36., 37., 38., 39., 40., ...]"
    assert lines[4] == "       ..."
    assert lines[5].startswith("[0, 1] [120., 121.,")
    assert len(lines) == 10
    assert more == "4 more planes; each plane cut to 4x5"
    lines, more = format_grid(np.array([[0.5, -1.25], [3.0, 1e-7]]))
    assert lines == ["[  0.5, -1.25]", "[   3., 1e-07]"] and more == ""


@pytest.mark.parametrize(
    "algorithm, expected",
    [
        ("loops", "algorithms._loops_backward(conv.conv2d_backward_reference("),
        ("im2col", "conv.conv2d_backward(conv._weight_grad, conv.input_grad(conv.col2im))"),
        (
            "fast",
            (
                "conv_fast.conv2d_backward(channels.channel_sum, "
                "conv_fast._tiny_plan, conv_fast._tiny_conv2d_backward"
            ),
        ),
    ],
)
def test_each_node_names_the_kernel_functions_its_backward_ran(algorithm, expected):
    ex = three_channel()
    with torch.kernels.conv_algorithm(algorithm):
        conv = ex.conv_layer()
        x = torch.tensor([ex.X], dtype=torch.float32, requires_grad=True)
        loss = conv(x).sum()
        with trace(names=conv) as t:
            loss.backward()
    (rec,) = t.find("ConvolutionBackward0")
    assert f"     kernels: {expected}" in str(t)
    assert not t.find("SumBackward0")[0].kernels  # the sum runs no kernel
    # every name listed is a function of that kernel module
    import importlib

    for _, name in rec.kernels:
        module, func = name.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(f"tinyconv.kernels.{module}"), func)), name


def test_kernels_listed_are_the_ones_that_ran():
    """A big input takes conv_fast's general path; without x needing a gradient, no input
    gradient runs."""
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    x = torch.randn(2, 3, 32, 32)
    with trace() as t:
        conv(x).sum().backward()
    text = call = t.find("ConvolutionBackward0")[0]
    call = " ".join(name for _, name in text.kernels)
    assert "conv_fast._input_grad" not in call and "conv_fast._tiny_conv2d_backward" not in call
    assert "conv_fast.im2col" in call or "conv_fast._grad_columns" in call
    x.requires_grad_(True)
    with trace() as t:
        conv(x).sum().backward()
    assert "conv_fast._input_grad" in " ".join(
        name for _, name in t.find("ConvolutionBackward0")[0].kernels
    )


def test_the_profiler_is_restored_and_never_displaced():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert sys.getprofile() is None
    with trace():
        assert sys.getprofile() is not None
        (x * x).sum().backward()
    assert sys.getprofile() is None
    seen = []

    def other(frame, event, arg):
        seen.append(event)

    sys.setprofile(other)
    try:
        with trace() as t:
            (x * x).sum().backward()
        assert sys.getprofile() is other  # someone else's profiler stays in place
    finally:
        sys.setprofile(None)
    assert seen and [r.kernels for r in t.records] == [[], []]
    with trace(kernels=False):
        assert sys.getprofile() is None


def test_call_tree_nests_and_counts():
    from tinyconv.autograd.trace import call_tree

    calls = [
        (0, "conv.f"),
        (1, "conv.g"),
        (1, "conv.g"),
        (1, "conv.h"),
        (2, "conv.k"),
        (0, "conv.z"),
    ]
    assert call_tree(calls) == "conv.f(conv.g ×2, conv.h(conv.k)), conv.z"
    assert call_tree([]) == ""
    assert call_tree([(1, "conv.a"), (0, "conv.b")]) == "conv.a, conv.b"  # a caller not listed


def test_small_matrices_are_grids_not_one_line():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with trace(names={"w": w}, max_values=1000) as t:
        (w * w).sum().backward()
    text = str(t)
    assert "to a        = dL/da -> w.grad, (2, 2):\n       [1., 2.]\n       [3., 4.]\n" in text, (
        text
    )  # d(w*w)/d(a) = b = w
    big = torch.ones(3, 12, 12, requires_grad=True)
    with trace(grid=(20, 20, 5)) as t:
        (big * 2).sum().backward()
    assert "more plane" not in str(t) and "cut to" not in str(t)  # a bigger grid shows it all
