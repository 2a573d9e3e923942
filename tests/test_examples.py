"""The examples run in the test suite (short forms), so they never rot: the README tour's
small examples, LeNet on scikit-learn's 8x8 digits (examples/lenet_digits.py) and LeNet-5 on
MNIST (examples/lenet_mnist.py).

lenet_digits: one full default run (the promise: >= 95% test accuracy, well inside 60 s) is
shared by the tests that need trained weights; the rest use short runs.
lenet_mnist: generated files in MNIST's real format (the real data can't be downloaded here):
a few steps train and print the table, missing data says what to do, --download goes through
the mirrors (a local server here), --save writes loadable weights.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_datasets import Server, closed_port_url, gz, idx_bytes, md5

import tinyconv
from tinyconv.datasets import MNIST

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

    Y = edge.corr2d(
        torch.tensor([[0.0, 1, 2], [3, 4, 5], [6, 7, 8]]), torch.tensor([[0.0, 1], [2, 3]])
    )
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


@pytest.mark.parametrize(
    "name", ["edge_kernel", "three_channel", "padding_stride", "resnet_digits"]
)
def test_examples_have_help(name):
    # the examples import the installed tinyconv; here, the repository's (set on the test's side)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
    }
    res = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, f"{name}.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
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
            block = (
                name
                + "["
                + rows[0]
                + "]\n"
                + "".join(" " * len(name) + "[" + r + "]\n" for r in rows[1:])
            )
            assert block in printed, block
    g = np.array(three.G, dtype=np.float64)
    np.testing.assert_array_equal(out["db"], g.sum(axis=(1, 2)))
    assert "L = sum(g * y) = " in printed and "dL/dy[0, 1] = [14, 15, 12]" in printed


@pytest.mark.parametrize("algorithm", ["loops", "im2col", "fast"])
def test_three_channel_backward_walks_any_element_in_every_algorithm(algorithm, capsys):
    three = load("three_channel")
    for dw, dx, db in [
        ((1, 2, 0, 1), (2, 3, 3), 1),
        ((0, 1, 2, 2), (1, 0, 0), 0),
        ((1, 0, 1, 1), (0, 4, 4), 1),
    ]:
        out = three.main(
            [
                "--backward",
                "--algorithm",
                algorithm,
                "--dw",
                *map(str, dw),
                "--dx",
                *map(str, dx),
                "--db",
                str(db),
            ]
        )
        assert out["dw_by_hand"] == out["dw"][dw]
        assert out["dx_by_hand"] == out["dx"][(0, *dx)]
        assert out["db_by_hand"] == out["db"][db]
        assert out["trace"].records[-1].algorithm == algorithm
    capsys.readouterr()
    with pytest.raises(SystemExit):
        three.main(["--backward", "--dx", "3", "0", "0"])
    assert "--dx: indices must lie in a shape (3, 5, 5), got 3 0 0" in capsys.readouterr().err


# ===========================================================================================
# examples/lenet_digits.py
# ===========================================================================================

LENET_SCRIPT = Path(EXAMPLES) / "lenet_digits.py"

# The module loads without scikit-learn (it imports it in main); its tests need it to train.
lenet = load("lenet_digits")
needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None,
    reason="lenet_digits needs scikit-learn (pip install .[examples])",
)

HEADER = "epoch  train loss  train acc  test acc    time"
# a table row: epoch, train loss, train acc, test acc, seconds
LENET_ROW = re.compile(
    r"^\s*(\d+)\s+(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+\d+\.\d\ds$", re.MULTILINE
)
ACC_LINE = re.compile(r"^Test accuracy: (\d+\.\d\d)% \((\d+)/(\d+) test images\)", re.MULTILINE)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """The example exactly as `python examples/lenet_digits.py` runs it, in an empty folder."""
    folder = tmp_path_factory.mktemp("lenet_default")
    out = io.StringIO()
    old = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out):
            result = lenet.main([])
    finally:
        os.chdir(old)
    return result, out.getvalue(), folder / "lenet_digits.npz"


@needs_sklearn
def test_default_run_reaches_95_percent_and_prints_the_table(default_run):
    result, out, _ = default_run
    assert result["test_acc"] >= 0.95, out
    assert result["seconds"] < 60, f"training took {result['seconds']:.1f}s; the promise is 60 s"
    assert result["n_test"] == 450 and result["n_train"] == 1347  # stratified 25% of 1,797

    assert HEADER in out
    rows = LENET_ROW.findall(out)
    assert [int(r[0]) for r in rows] == list(range(1, 16))  # one row per epoch, default 15 epochs
    # the printed numbers are the returned ones
    assert [float(r[1]) for r in rows] == pytest.approx(result["train_loss"], abs=5e-5)
    test_accs = [float(r[3]) / 100 for r in rows]
    assert test_accs == pytest.approx(result["test_acc_per_epoch"], abs=5e-5)
    assert result["train_loss"][-1] < result["train_loss"][0] / 10

    m = ACC_LINE.search(out)
    assert m, out
    assert float(m.group(1)) / 100 == pytest.approx(result["test_acc"], abs=5e-5)
    assert int(m.group(2)) == round(result["test_acc"] * 450) and m.group(3) == "450"
    assert "\r" not in out  # stdout is not a terminal: no progress-bar redraws, one line per epoch
    assert "Saved weights to lenet_digits.npz" in out


@needs_sklearn
def test_saved_weights_reload_to_the_same_accuracy_and_tensors(default_run, capsys):
    result, _, path = default_run
    assert path.exists()  # the default --save path, in the current folder

    reloaded = lenet.main(["--load", str(path), "--eval-only"])
    out = capsys.readouterr().out
    assert f"Loaded weights from {path}" in out
    assert reloaded["test_acc"] == result["test_acc"]
    assert reloaded["test_loss"] == pytest.approx(result["test_loss"], rel=1e-6)
    m = ACC_LINE.search(out)
    assert m and float(m.group(1)) / 100 == pytest.approx(result["test_acc"], abs=5e-5)
    assert "epoch" not in out  # no training happened

    trained = result["model"].state_dict()
    fresh = lenet.LeNet()
    assert not np.array_equal(fresh.conv1.weight.detach().numpy(), trained["conv1.weight"].numpy())
    fresh.load_state_dict(tinyconv.load(path))
    for state in (fresh.state_dict(), reloaded["model"].state_dict()):
        assert list(state) == list(trained)
        for name, tensor in trained.items():
            assert state[name].dtype == tensor.dtype, name
            assert np.array_equal(state[name].numpy(), tensor.numpy()), name


@needs_sklearn
def test_short_adam_run_is_reproducible_and_saves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = [
        "--epochs",
        "3",
        "--optimizer",
        "adam",
        "--seed",
        "3",
        "--batch-size",
        "64",
        "--no-save",
    ]
    first = lenet.main(args)
    out = capsys.readouterr().out
    second = lenet.main(args)
    capsys.readouterr()

    assert "optimizer: adam (lr 0.002), batch size 64, 3 epochs, seed 3" in out
    assert HEADER in out and [int(r[0]) for r in LENET_ROW.findall(out)] == [1, 2, 3]
    assert ACC_LINE.search(out)
    assert first["train_loss"][-1] < first["train_loss"][0]
    assert first["test_acc"] > 0.5  # 10 classes: chance is 0.1
    assert first["train_loss"] == second["train_loss"] and first["test_acc"] == second["test_acc"]
    assert first["save_path"] is None and list(tmp_path.iterdir()) == []
    assert "Saved weights" not in out


@needs_sklearn
def test_progress_bar_with_tqdm_redraws_in_place_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    # tqdm skips redraws closer than 0.1 s apart; redraw on every step so the test sees each one
    monkeypatch.setattr(lenet, "progress", functools.partial(lenet.progress, mininterval=0))
    lenet.main(["--epochs", "1", "--batch-size", "128", "--no-save"])
    out = capsys.readouterr().out
    steps = -(-1347 // 128)
    counts = [int(done) for done in re.findall(rf"\r\s+1: +\d+%\|[^|]*\| *(\d+)/{steps} ", out)]
    assert counts == list(range(steps + 1))  # tqdm redraws as it goes
    assert re.search(rf"{steps}/{steps} .*loss \d+\.\d{{4}}  acc +\d+\.\d\d%", out)
    # What the terminal shows at the end: each line's text after its last carriage return.
    screen = "\n".join(line.rsplit("\r", 1)[-1] for line in out.split("\n"))
    assert "loss" not in screen.split(HEADER)[1].split("Test accuracy")[0]  # the bar was wiped...
    assert [int(r[0]) for r in LENET_ROW.findall(screen)] == [1]  # ...and replaced by the table row


@needs_sklearn
def test_progress_without_tqdm_is_plain_lines_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    lenet.main(["--epochs", "1", "--batch-size", "128", "--no-save"])
    out = capsys.readouterr().out
    assert "\r" not in out
    steps = -(-1347 // 128)
    lines = re.findall(
        rf"^    1: +(\d+)% (\d+)/{steps} batch  loss \d+\.\d{{4}}  acc +\d+\.\d\d%$",
        out,
        re.MULTILINE,
    )
    assert len(lines) == 10 and lines[-1] == ("100", str(steps))  # one line per tenth of the epoch
    table = out.split(HEADER)[1]
    assert [int(r[0]) for r in LENET_ROW.findall(table)] == [1]


@needs_sklearn
def test_plot_writes_a_png_or_says_how_to_get_matplotlib(
    default_run, tmp_path, monkeypatch, capsys
):
    _, _, path = default_run
    figure = tmp_path / "filters.png"
    if importlib.util.find_spec("matplotlib") is not None:
        lenet.main(["--load", str(path), "--eval-only", "--plot", str(figure)])
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"Saved plot to {figure}" in capsys.readouterr().out
        figure.unlink()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    lenet.main(["--load", str(path), "--eval-only", "--plot", str(figure)])
    out = capsys.readouterr().out
    assert 'pip install ".[plot]"' in out and not figure.exists()
    assert ACC_LINE.search(out)  # the evaluation still ran


@needs_sklearn
def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--epochs", "1", "--no-save"])
    assert 'pip install ".[examples]"' in str(exc.value.code)


@needs_sklearn
def test_bad_command_lines_are_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--eval-only"])
    assert exc.value.code == 2 and "--eval-only needs --load" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--optimizer", "rmsprop"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--load", str(tmp_path / "missing.npz"), "--eval-only"])
    assert "missing.npz" in str(exc.value.code)


@needs_sklearn
def test_lenet_help_runs_as_a_script():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(LENET_SCRIPT), "--help"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for flag in (
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--seed",
        "--save",
        "--no-save",
        "--load",
        "--eval-only",
        "--plot",
    ):
        assert flag in proc.stdout
    assert "digits" in proc.stdout


# ===========================================================================================
# examples/lenet_mnist.py
# ===========================================================================================

MNIST_SCRIPT = Path(EXAMPLES) / "lenet_mnist.py"

mnist_example = load("lenet_mnist")

MNIST_ROW = re.compile(
    r"^\s*(\d+)\s+(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+\d+\.\ds$", re.MULTILINE
)


def learnable_files(n_train=320, n_test=100) -> dict:
    """MNIST-format .gz files whose class is a bright bar at a class-dependent row."""
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n, dtype=np.uint8)
        x = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
        for c in range(10):
            x[y == c, 2 + 2 * c : 4 + 2 * c, 4:24] = 255
        files[f"{prefix}-images-idx3-ubyte.gz"] = gz(idx_bytes(x))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gz(idx_bytes(y))
    return files


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, data in learnable_files().items():
        (raw / name).write_bytes(data)
    return root


def test_a_few_steps_train_and_print_the_table(data_dir, capsys):
    result = mnist_example.main(
        [
            "--data-dir",
            str(data_dir),
            "--epochs",
            "2",
            "--max-steps",
            "5",
            "--batch-size",
            "32",
            "--lr",
            "0.05",
        ]
    )
    out = capsys.readouterr().out
    assert "MNIST: 320 training and 100 test images of 28x28 pixels" in out
    assert "model: LeNet-5, 61,706 parameters" in out
    rows = MNIST_ROW.findall(out)
    assert [int(r[0]) for r in rows] == [1, 2]
    assert [float(r[1]) for r in rows] == pytest.approx(result["train_loss"], abs=5e-5)
    assert [float(r[3]) / 100 for r in rows] == pytest.approx(
        result["test_acc_per_epoch"], abs=5e-5
    )
    assert (
        result["train_loss"][1] < result["train_loss"][0] < 2.4
    )  # ten steps already learn something
    m = re.search(r"^Test accuracy: (\d+\.\d\d)% \((\d+)/100 test images\)", out, re.MULTILINE)
    assert m and float(m.group(1)) / 100 == pytest.approx(result["test_acc"], abs=5e-5)
    assert "\r" not in out  # not a terminal: no progress bar


def test_the_model_is_lenet5_and_matches_the_documented_shapes():
    model = mnist_example.LeNet5()
    x = tinyconv.zeros(2, 1, 28, 28)
    assert model.conv2(tinyconv.nn.functional.max_pool2d(model.conv1(x), 2)).shape == (
        2,
        16,
        10,
        10,
    )
    assert model(x).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == 61706  # LeNet-5's classic count


def test_without_data_it_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit) as exc:
        mnist_example.main(["--data-dir", str(tmp_path)])
    msg = str(exc.value.code)
    assert f"MNIST is not in {tmp_path / 'MNIST' / 'raw'}" in msg
    assert "--download" in msg and "train-images-idx3-ubyte.gz" in msg and "lenet_digits.py" in msg


def test_download_without_network_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", [closed_port_url()])
    monkeypatch.setattr(MNIST, "timeout", 5.0)
    with pytest.raises(SystemExit) as exc:
        mnist_example.main(["--data-dir", str(tmp_path), "--download"])
    msg = str(exc.value.code)
    assert (
        "could not download train-images-idx3-ubyte.gz" in msg
        and "Check the network connection" in msg
    )


def test_download_then_train_and_save_safetensors(tmp_path, monkeypatch, capsys):
    pytest.importorskip("safetensors")
    files = learnable_files(n_train=64, n_test=20)
    server = Server()
    try:
        monkeypatch.setattr(MNIST, "mirrors", [server.serve("mnist", files)])
        monkeypatch.setattr(MNIST, "resources", [(name, md5(data)) for name, data in files.items()])
        weights = tmp_path / "lenet5.safetensors"
        result = mnist_example.main(
            [
                "--data-dir",
                str(tmp_path),
                "--download",
                "--epochs",
                "1",
                "--max-steps",
                "1",
                "--save",
                str(weights),
            ]
        )
    finally:
        server.close()
    out = capsys.readouterr().out
    assert out.count("(MD5 verified)") == 4 and f"Saved weights to {weights}" in out
    fresh = mnist_example.LeNet5()
    fresh.load_state_dict(tinyconv.load(weights))
    x = tinyconv.randn(3, 1, 28, 28)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), result["model"](x).detach().numpy())


def test_mnist_help_runs_as_a_script():
    proc = subprocess.run(
        [sys.executable, str(MNIST_SCRIPT), "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    for flag in (
        "--data-dir",
        "--download",
        "--epochs",
        "--batch-size",
        "--lr",
        "--max-steps",
        "--save",
    ):
        assert flag in proc.stdout


# examples/resnet_digits.py
# ===========================================================================================
# The default run (15 epochs, ~99% test accuracy, above lenet_digits' ~98.4%) takes tens of
# seconds here, so the suite runs a few steps and checks what is printed, the schedule, the
# augmentation and the model's shapes; the full run's numbers are in the README.

resnet = load("resnet_digits")
RESNET_ROW = re.compile(
    r"^\s*(\d+)\s+(\d+\.\d{5})\s+(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+\d+\.\d\ds$",
    re.MULTILINE,
)


@needs_sklearn
def test_resnet_few_steps_print_the_table_and_follow_the_schedule(capsys):
    args = ["--epochs", "3", "--max-steps", "4", "--batch-size", "16", "--seed", "1"]
    result = resnet.main(args)
    out = capsys.readouterr().out
    assert "ResNet, widths 8/16/32, 19,810 parameters" in out
    assert "onecycle; batch size 16, 3 epochs; augmentation: pad 1, flip 0" in out
    rows = RESNET_ROW.findall(out)
    assert [int(r[0]) for r in rows] == [1] and result["steps"] == 4  # stopped inside epoch 1
    assert float(rows[0][1]) == pytest.approx(0.05 / 25, abs=5e-6)  # OneCycleLR's first lr
    assert [float(r[2]) for r in rows] == pytest.approx(result["train_loss"], abs=5e-5)
    m = ACC_LINE.search(out)
    assert m and float(m.group(1)) / 100 == pytest.approx(result["test_acc"], abs=5e-5)
    assert re.search(r"trained in \d+\.\ds$", out, re.MULTILINE)
    again = resnet.main(args)
    capsys.readouterr()
    assert again["train_loss"] == result["train_loss"]  # the seed fixes weights, order, crops


@needs_sklearn
def test_resnet_cosine_schedule_steps_per_epoch(capsys):
    result = resnet.main(
        ["--epochs", "2", "--batch-size", "256", "--schedule", "cosine", "--flip-prob", "0.5"]
    )
    out = capsys.readouterr().out
    # stepped once per epoch: epoch 2 starts at lr * (1 + cos(pi / 2)) / 2
    assert result["lr"] == pytest.approx([0.05, 0.025])
    assert "flip 0.5" in out and len(RESNET_ROW.findall(out)) == 2


def test_resnet_shapes_and_skip_connections():
    model = resnet.ResNet()
    x = tinyconv.randn(5, 1, 8, 8)
    assert tuple(model(x).shape) == (5, 10)
    assert tuple(model.stages[1](model.stages[0](model.stem(x))).shape) == (5, 16, 4, 4)
    first, later = model.stages[0][0], model.stages[1][0]
    assert first.downsample is None and isinstance(later.downsample, tinyconv.nn.Sequential)
    # a block with zeroed convs and unit BN is relu(x + skip): the skip connection is there
    block = resnet.BasicBlock(4, 4).eval()
    for conv in (block.conv1, block.conv2):
        conv.weight.data.zero_()
    y = tinyconv.randn(2, 4, 3, 3)
    np.testing.assert_allclose(block(y).detach().numpy(), np.maximum(y.numpy(), 0), atol=1e-6)


def test_resnet_augmentation_shifts_and_flips():
    tinyconv.manual_seed(0)
    x = tinyconv.arange(2 * 64, dtype=tinyconv.float32).reshape(2, 1, 8, 8) + 1
    shifted = resnet.augment(x, pad=1, flip_prob=0.0).numpy()
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=1.0)
    assert shifted.shape == (2, 1, 8, 8)
    for i in range(2):  # each image is one of the 9 shifted windows of its padded copy
        windows = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(3) for dx in range(3)]
        assert any(np.array_equal(shifted[i], w) for w in windows)
    flipped = resnet.augment(x, pad=0, flip_prob=1.0).numpy()
    np.testing.assert_array_equal(flipped, x.numpy()[..., ::-1])
    np.testing.assert_array_equal(resnet.augment(x, pad=0, flip_prob=0.0).numpy(), x.numpy())


# ===========================================================================================
# examples/double_backward.py
# ===========================================================================================


@needs_sklearn
def test_double_backward_example_checks_what_it_prints(capsys):
    """(a) conv2d's gradient is nn.grad.conv2d_input / conv_transpose2d / conv2d_weight, (b) a
    gradient penalty trains the digits LeNet with both hooks firing, (c) H v matches finite
    differences."""
    result = load("double_backward").main(["--steps", "3"])
    out = capsys.readouterr().out
    diffs = [float(v) for v in re.findall(r"\|  max = (\S+)", out)]
    assert len(diffs) == 3 and max(diffs) < 1e-12, out
    assert max(result["conv"][k] for k in ("input", "transposed", "weight")) < 1e-12
    assert "made by a ConvTranspose2d node" in out
    # the tensor hook printed the gradient arriving at conv1 once; the forward hook captured
    assert out.count("tensor hook: gradient arriving at conv1's output, shape (64, 16, 8, 8)") == 1
    assert "captured conv1's feature maps of shape (64, 16, 8, 8)" in out
    steps = re.findall(r"step +(\d+): loss (\S+)  penalty (\S+)", out)
    assert [int(s) for s, _, _ in steps] == [1, 2, 3]
    assert all(float(p) > 0 for _, _, p in steps)
    assert result["penalty"]["saliency"].shape == (8, 8)
    rel = float(re.search(r"/ max \|H v\| = (\S+)", out).group(1))
    assert rel < 1e-6 and result["hvp"]["relative_difference"] < 1e-6
    np.testing.assert_allclose(result["hvp"]["hv"], result["hvp"]["fd"], rtol=1e-5, atol=1e-7)


def test_double_backward_example_has_help():
    res = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "double_backward.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    assert "--steps" in res.stdout and "--penalty" in res.stdout
