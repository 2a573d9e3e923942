"""examples/lenet_digits.py: LeNet on scikit-learn's 8x8 digits.

One full default run (the promise: >= 95% test accuracy, well inside 60 s) is
shared by the tests that need trained weights; the rest use short runs.
"""
import contextlib
import functools
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

import tinyconv

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "lenet_digits.py"

_spec = importlib.util.spec_from_file_location("lenet_digits_example", SCRIPT)
lenet = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lenet)

HEADER = "epoch  train loss  train acc  test acc    time"
# a table row: epoch, train loss, train acc, test acc, seconds
ROW = re.compile(r"^\s*(\d+)\s+(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+\d+\.\d\ds$",
                 re.MULTILINE)
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


def test_default_run_reaches_95_percent_and_prints_the_table(default_run):
    result, out, _ = default_run
    assert result["test_acc"] >= 0.95, out
    assert result["seconds"] < 60, f"training took {result['seconds']:.1f}s; the promise is 60 s"
    assert result["n_test"] == 450 and result["n_train"] == 1347  # stratified 25% of 1,797

    assert HEADER in out
    rows = ROW.findall(out)
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


def test_short_adam_run_is_reproducible_and_saves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--epochs", "3", "--optimizer", "adam", "--seed", "3", "--batch-size", "64",
            "--no-save"]
    first = lenet.main(args)
    out = capsys.readouterr().out
    second = lenet.main(args)
    capsys.readouterr()

    assert "optimizer: adam (lr 0.002), batch size 64, 3 epochs, seed 3" in out
    assert HEADER in out and [int(r[0]) for r in ROW.findall(out)] == [1, 2, 3]
    assert ACC_LINE.search(out)
    assert first["train_loss"][-1] < first["train_loss"][0]
    assert first["test_acc"] > 0.5  # 10 classes: chance is 0.1
    assert first["train_loss"] == second["train_loss"] and first["test_acc"] == second["test_acc"]
    assert first["save_path"] is None and list(tmp_path.iterdir()) == []
    assert "Saved weights" not in out


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
    assert [int(r[0]) for r in ROW.findall(screen)] == [1]  # ...and replaced by the table row


def test_progress_without_tqdm_is_plain_lines_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    lenet.main(["--epochs", "1", "--batch-size", "128", "--no-save"])
    out = capsys.readouterr().out
    assert "\r" not in out
    steps = -(-1347 // 128)
    lines = re.findall(rf"^    1: +(\d+)% (\d+)/{steps} batch  loss \d+\.\d{{4}}  acc +\d+\.\d\d%$", out, re.MULTILINE)
    assert len(lines) == 10 and lines[-1] == ("100", str(steps))  # one line per tenth of the epoch
    table = out.split(HEADER)[1]
    assert [int(r[0]) for r in ROW.findall(table)] == [1]


def test_plot_writes_a_png_or_says_how_to_get_matplotlib(default_run, tmp_path, monkeypatch,
                                                         capsys):
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


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--epochs", "1", "--no-save"])
    assert 'pip install ".[examples]"' in str(exc.value.code)


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


def test_help_runs_as_a_script():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], check=False, capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--save", "--no-save",
                 "--load", "--eval-only", "--plot"):
        assert flag in proc.stdout
    assert "digits" in proc.stdout
