"""The examples run in the test suite (short forms), so they never rot."""
from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def edge():
    return load("edge_kernel")


def test_edge_corr2d_textbook_values(edge):
    import tinyconv as torch

    Y = edge.corr2d(torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]]), torch.tensor([[0.0, 1], [2, 3]]))
    np.testing.assert_array_equal(Y.numpy(), [[19, 25], [37, 43]])


def test_edge_map_has_the_two_edges(edge, capsys):
    out = edge.main(["--steps", "1"])
    Y = out["Y"]
    assert Y.shape == (6, 7)
    expected = np.zeros((6, 7))
    expected[:, 1] = -1
    expected[:, 5] = 1
    np.testing.assert_array_equal(Y, expected)
    printed = capsys.readouterr().out
    assert "[[19., 25.],\n        [37., 43.]]" in printed


def test_edge_twenty_steps_loss_falls_monotonically_by_100x(edge, capsys):
    out = edge.main([])  # the default: 20 steps, lr 0.01, seed 0, hand-written loop
    losses = out["losses"]
    assert len(losses) == 20
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] * 100 < losses[0], (losses[0], losses[-1])
    printed = capsys.readouterr().out
    for step in (5, 10, 15, 20):
        assert f"step {step}, loss " in printed
    assert "learned weight: tensor([[" in printed and "learned bias:" in printed


@pytest.mark.parametrize("module", [False, True])
def test_edge_long_run_recovers_the_kernel(edge, module, capsys):
    out = edge.main(["--steps", "200", "--log-every", "50"] + (["--module"] if module else []))
    np.testing.assert_allclose(out["weight"], [[-1.0, 1.0]], atol=1e-4)
    assert abs(out["bias"]) < 1e-4


def test_three_channel_example(capsys):
    three = load("three_channel")
    out = three.main([])
    expected = np.array(three.EXPECTED)
    np.testing.assert_array_equal(out["y"][0], expected)
    np.testing.assert_array_equal(out["y_int"][0], expected)
    assert out["y_int"].dtype == np.int64
    assert out["by_hand"] == 3
    printed = capsys.readouterr().out
    assert "grad_fn=<ConvolutionBackward0>" in printed
    assert "plus bias 1: 2 + 1 = 3" in printed


def test_three_channel_walks_any_element(capsys):
    three = load("three_channel")
    out = three.main(["--element", "1", "2", "1"])
    assert out["by_hand"] == three.EXPECTED[1][2][1] == 7


def test_padding_stride_shapes(capsys):
    out = load("padding_stride").main([])
    assert out["shapes"] == [(8, 8), (8, 8), (4, 4), (2, 2)]
    printed = capsys.readouterr().out
    assert "floor((8 + 2*1 - 5) / 4) + 1 = 2" in printed


@pytest.mark.parametrize("name", ["edge_kernel", "three_channel", "padding_stride"])
def test_examples_have_help(name):
    # the examples import the installed tinyconv; here, the repository's (set on the test's side)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([sys.executable, os.path.join(EXAMPLES, f"{name}.py"), "--help"],
                         capture_output=True, text=True, timeout=60, check=False, env=env)
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout


def test_three_channel_backward_prints_the_docs_numbers(capsys):
    """--backward: the doc's loss, every gradient as labelled grids, one element of each by hand."""
    three = load("three_channel")
    out = three.main(["--backward"])
    printed = capsys.readouterr().out
    assert out["dw_by_hand"] == 24 and out["dx_by_hand"] == 21 and out["db_by_hand"] == 68
    assert "= 3·0 + 11·0 + 4·0 + 13·0 + 1·2 + 5·1 + 8·0 + 6·0 + 17·1 = 24" in printed
    assert "  = 11·1 + 1·0 + 15·0 + 10·1 = 21" in printed
    assert "tinyconv: conv.weight.grad[0, 0, 0, 0] = 24" in printed
    assert "tinyconv: x.grad[0, 0, 1, 2] = 21" in printed
    assert "dL/db = [68, 103]" in printed
    # the grids are the gradients, row by row, under their labels
    for label, a in (("dL/dx", out["dx"]), ("dL/dw", out["dw"])):
        for index in np.ndindex(a.shape[:-2]):
            rows = [", ".join(str(int(v)).rjust(3) for v in row) for row in a[index]]
            name = f"{label}[{', '.join(map(str, index))}] = "
            block = name + "[" + rows[0] + "]\n" + "".join(" " * len(name) + "[" + r + "]\n" for r in rows[1:])
            assert block in printed, block
    g = np.array(three.G, dtype=np.float64)
    np.testing.assert_array_equal(out["db"], g.sum(axis=(1, 2)))
    assert "L = sum(g * y) = " in printed and "dL/dy[0, 1] = [14, 15, 12]" in printed


@pytest.mark.parametrize("algorithm", ["loops", "im2col", "fast"])
def test_three_channel_backward_walks_any_element_in_every_algorithm(algorithm, capsys):
    three = load("three_channel")
    for dw, dx, db in [((1, 2, 0, 1), (2, 3, 3), 1), ((0, 1, 2, 2), (1, 0, 0), 0), ((1, 0, 1, 1), (0, 4, 4), 1)]:
        out = three.main(["--backward", "--algorithm", algorithm, "--dw", *map(str, dw), "--dx", *map(str, dx),
                          "--db", str(db)])
        assert out["dw_by_hand"] == out["dw"][dw]
        assert out["dx_by_hand"] == out["dx"][(0, *dx)]
        assert out["db_by_hand"] == out["db"][db]
        assert out["trace"].records[-1].algorithm == algorithm
    capsys.readouterr()
    with pytest.raises(SystemExit):
        three.main(["--backward", "--dx", "3", "0", "0"])
    assert "--dx: indices must lie in a shape (3, 5, 5), got 3 0 0" in capsys.readouterr().err
