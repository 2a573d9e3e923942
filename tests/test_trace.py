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
        "three_channel", os.path.join(ROOT, "examples", "three_channel.py"))
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
        ("x", "x.grad (input)"), ("w", "weight.grad (parameter)"), ("b", "bias.grad (parameter)")]
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
                    dw[o, c, p, q] = (g[o] * x_pad[c, p:p + 5:2, q:q + 5:2]).sum()
    np.testing.assert_array_equal(rec.grad_to("w"), dw)


def test_table_reads_in_backward_order(traced_three_channel):
    *_, t = traced_three_channel
    text = str(t)
    lines = text.splitlines()
    assert lines[0] == "backward trace: 2 node(s), in the order backward visited them"
    assert lines[1].split() == ["#", "op", "grad_output", "(arrives)", "input", "gradient", "(leaves)", "to"]
    sum_row = next(i for i, ln in enumerate(lines) if ln.startswith("1  SumBackward0"))
    conv_row = next(i for i, ln in enumerate(lines) if ln.startswith("2  ConvolutionBackward0"))
    assert sum_row < conv_row
    assert "(1, 2, 3, 3) float32" in lines[conv_row]
    assert "#2 ConvolutionBackward0" in lines[sum_row]      # where the sum's gradient goes
    conv_block = "\n".join(lines[conv_row:])
    for needle in ("x      (1, 3, 5, 5) float32  x.grad (input)",
                   "w      (2, 3, 3, 3) float32  weight.grad (parameter)",
                   "b      (2,) float32          bias.grad (parameter)",
                   "to b = [9., 9.]"):
        assert needle in conv_block, (needle, text)
    assert "grad_output = 1." in text
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
    assert "grad_output = 1." in text
    assert "to a" not in text.split("MulBackward0", 1)[1]  # 17 values: shape only
    with trace(max_values=20) as t2:
        (x * 2).sum().backward()
    assert re.search(r"\n +to a +\= \[2\., 2\.,", str(t2)), str(t2)


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
    code = ("import tinyconv.autograd.trace as m; import tinyconv as torch; "
            "t = torch.autograd.trace(); print(type(t).__name__, callable(m))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["Trace", "True"]
