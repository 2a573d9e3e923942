"""examples/lenet_mnist.py on generated files in MNIST's real format (the real data can't be
downloaded here): a few steps train and print the table, missing data says what to do,
--download goes through the mirrors (a local server here), --save writes loadable weights."""
from __future__ import annotations

import importlib.util
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

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "lenet_mnist.py"

_spec = importlib.util.spec_from_file_location("lenet_mnist_example", SCRIPT)
example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(example)

ROW = re.compile(r"^\s*(\d+)\s+(\d+\.\d{4})\s+(\d+\.\d\d)%\s+(\d+\.\d\d)%\s+\d+\.\ds$", re.MULTILINE)


def learnable_files(n_train=320, n_test=100) -> dict:
    """MNIST-format .gz files whose class is a bright bar at a class-dependent row."""
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n, dtype=np.uint8)
        x = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
        for c in range(10):
            x[y == c, 2 + 2 * c: 4 + 2 * c, 4:24] = 255
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
    result = example.main(["--data-dir", str(data_dir), "--epochs", "2", "--max-steps", "5",
                           "--batch-size", "32", "--lr", "0.05"])
    out = capsys.readouterr().out
    assert "MNIST: 320 training and 100 test images of 28x28 pixels" in out
    assert "model: LeNet-5, 61,706 parameters" in out
    rows = ROW.findall(out)
    assert [int(r[0]) for r in rows] == [1, 2]
    assert [float(r[1]) for r in rows] == pytest.approx(result["train_loss"], abs=5e-5)
    assert [float(r[3]) / 100 for r in rows] == pytest.approx(result["test_acc_per_epoch"], abs=5e-5)
    assert result["train_loss"][1] < result["train_loss"][0] < 2.4  # ten steps already learn something
    m = re.search(r"^Test accuracy: (\d+\.\d\d)% \((\d+)/100 test images\)", out, re.MULTILINE)
    assert m and float(m.group(1)) / 100 == pytest.approx(result["test_acc"], abs=5e-5)
    assert "\r" not in out  # not a terminal: no progress bar


def test_the_model_is_lenet5_and_matches_the_documented_shapes():
    model = example.LeNet5()
    x = tinyconv.zeros(2, 1, 28, 28)
    assert model.conv2(tinyconv.nn.functional.max_pool2d(model.conv1(x), 2)).shape == (2, 16, 10, 10)
    assert model(x).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == 61706  # LeNet-5's classic count


def test_without_data_it_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit) as exc:
        example.main(["--data-dir", str(tmp_path)])
    msg = str(exc.value.code)
    assert f"MNIST is not in {tmp_path / 'MNIST' / 'raw'}" in msg
    assert "--download" in msg and "train-images-idx3-ubyte.gz" in msg and "lenet_digits.py" in msg


def test_download_without_network_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", [closed_port_url()])
    monkeypatch.setattr(MNIST, "timeout", 5.0)
    with pytest.raises(SystemExit) as exc:
        example.main(["--data-dir", str(tmp_path), "--download"])
    msg = str(exc.value.code)
    assert "could not download train-images-idx3-ubyte.gz" in msg and "Check the network connection" in msg


def test_download_then_train_and_save_safetensors(tmp_path, monkeypatch, capsys):
    pytest.importorskip("safetensors")
    files = learnable_files(n_train=64, n_test=20)
    server = Server()
    try:
        monkeypatch.setattr(MNIST, "mirrors", [server.serve("mnist", files)])
        monkeypatch.setattr(MNIST, "resources", [(name, md5(data)) for name, data in files.items()])
        weights = tmp_path / "lenet5.safetensors"
        result = example.main(["--data-dir", str(tmp_path), "--download", "--epochs", "1", "--max-steps", "1",
                               "--save", str(weights)])
    finally:
        server.close()
    out = capsys.readouterr().out
    assert out.count("(MD5 verified)") == 4 and f"Saved weights to {weights}" in out
    fresh = example.LeNet5()
    fresh.load_state_dict(tinyconv.load(weights))
    x = tinyconv.randn(3, 1, 28, 28)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), result["model"](x).detach().numpy())


def test_help_runs_as_a_script():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--help"], check=False, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    for flag in ("--data-dir", "--download", "--epochs", "--batch-size", "--lr", "--max-steps", "--save"):
        assert flag in proc.stdout
