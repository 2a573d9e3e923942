"""tinyconv.save / load with .safetensors: state dicts that move between tinyconv and PyTorch.

The round trips need the `safetensors` package (the optional extra); the exchanges with PyTorch
also need torch and carry the `torch` marker, so CI's second phase (which installs both) fails
rather than skips them if either is missing.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import tinyconv
from tinyconv.serialization import CheckpointError


@pytest.fixture
def safetensors_numpy():
    return pytest.importorskip("safetensors.numpy")


def test_state_dict_round_trip_keeps_dtypes_shapes_and_bits(safetensors_numpy, tmp_path):
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    state = {
        "conv.weight": tinyconv.randn(2, 3, 3, 3),
        "conv.bias": tinyconv.tensor([np.nan, -0.0], dtype=tinyconv.float32),
        "bn.num_batches_tracked": tinyconv.tensor(7),  # 0-d int64, as BatchNorm keeps it
        "mask": tinyconv.tensor([True, False]),
        "half": tinyconv.tensor([1.5, -2.0], dtype=tinyconv.float16),
        "bytes": tinyconv.tensor([0, 255], dtype=tinyconv.uint8),
        "transposed": tinyconv.from_numpy(base).t(),  # not C-contiguous
        "strided": tinyconv.from_numpy(base)[:, ::2],
        "empty": tinyconv.zeros(0, 3),
    }
    path = tmp_path / "w.safetensors"
    tinyconv.save(state, path)
    loaded = tinyconv.load(path)
    assert list(loaded) == sorted(state)  # the order safetensors.torch.load_file returns
    for k, v in state.items():
        got = loaded[k]
        assert type(got) is tinyconv.Tensor and not got.requires_grad, k
        assert got.dtype == v.dtype and got.shape == v.shape, k
        assert got.numpy().tobytes() == np.ascontiguousarray(v.numpy()).tobytes(), k
    # what was written is plain safetensors, readable without tinyconv
    raw = safetensors_numpy.load_file(str(path))
    assert (
        raw["bn.num_batches_tracked"].shape == ()
        and raw["bn.num_batches_tracked"].dtype == np.int64
    )
    np.testing.assert_array_equal(raw["transposed"], base.T)
    loaded["conv.weight"].add_(1)  # the loaded tensors are the caller's own, writable arrays


def test_a_module_state_dict_round_trips_into_a_fresh_model(safetensors_numpy, tmp_path):
    from tinyconv import nn

    tinyconv.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)
    )
    model(tinyconv.randn(2, 1, 8, 8))  # updates the running stats
    tinyconv.save(model.state_dict(), str(tmp_path / "m.safetensors"))
    tinyconv.manual_seed(1)
    fresh = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)
    )
    fresh.load_state_dict(tinyconv.load(str(tmp_path / "m.safetensors")))
    model.eval()
    fresh.eval()
    x = tinyconv.randn(3, 1, 8, 8)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    assert fresh[1].num_batches_tracked.item() == 1


def test_load_recognises_safetensors_by_content_and_from_file_objects(safetensors_numpy, tmp_path):
    path = tmp_path / "weights.bin"  # not the usual name
    safetensors_numpy.save_file({"w": np.ones((2, 2), np.float32)}, str(path))
    np.testing.assert_array_equal(tinyconv.load(path)["w"].numpy(), np.ones((2, 2)))
    with open(path, "rb") as f:
        assert tinyconv.load(f)["w"].dtype == tinyconv.float32


@pytest.mark.parametrize(
    "obj, what",
    [
        ({"w": tinyconv.ones(2), "lr": 0.1}, "obj['lr'], a float"),
        ({"w": tinyconv.ones(2), "nested": {"a": tinyconv.ones(1)}}, "obj['nested'], a dict"),
        ({"w": np.ones(2)}, "obj['w'], a ndarray"),
        ({0: tinyconv.ones(2)}, "key 0 (int)"),
        ([tinyconv.ones(2)], "list"),
    ],
)
def test_anything_but_a_dict_of_tensors_is_refused_and_points_to_npz(
    safetensors_numpy, tmp_path, obj, what
):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError) as exc:
        tinyconv.save(obj, path)
    msg = str(exc.value)
    assert what in msg and ".npz" in msg and str(path) in msg
    assert not path.exists() and os.listdir(tmp_path) == []  # nothing half-written left behind


def test_optimizer_state_still_goes_to_npz(tmp_path):
    from tinyconv import nn, optim

    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters())
    model(tinyconv.ones(1, 2)).sum().backward()
    opt.step()
    tinyconv.save(opt.state_dict(), tmp_path / "opt.npz")
    assert tinyconv.load(tmp_path / "opt.npz")["state"][0]["step"] is not None


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "tinyconv\[safetensors\]"'):
        tinyconv.save({"w": tinyconv.ones(2)}, tmp_path / "w.safetensors")
    assert os.listdir(tmp_path) == []
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"\x0e\x00\x00\x00\x00\x00\x00\x00{}            ")
    with pytest.raises(
        ImportError, match=r"load: can't read .*w\.safetensors.*tinyconv\[safetensors\]"
    ):
        tinyconv.load(path)


def test_corrupt_or_truncated_files_raise_naming_the_path(safetensors_numpy, tmp_path):
    path = tmp_path / "w.safetensors"
    tinyconv.save({"w": tinyconv.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])  # truncated
    with pytest.raises(
        CheckpointError, match=r"w\.safetensors is not a readable \.safetensors file"
    ):
        tinyconv.load(path)
    path.write_bytes(b"")  # empty
    with pytest.raises(CheckpointError, match=r"w\.safetensors"):
        tinyconv.load(path)
    path.write_bytes(data[:8] + b"{" + b"x" * (len(data) - 9))  # the header is no longer JSON
    with pytest.raises(CheckpointError, match=r"w\.safetensors"):
        tinyconv.load(path)


@pytest.mark.torch
def test_a_bfloat16_file_from_pytorch_says_which_dtype(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "bf16.safetensors"
    safetensors_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(CheckpointError, match=r"bf16\.safetensors holds tensors of dtype 'BF16'"):
        tinyconv.load(path)


def test_a_failed_write_keeps_the_previous_file(safetensors_numpy, tmp_path, monkeypatch):
    path = tmp_path / "w.safetensors"
    tinyconv.save({"w": tinyconv.ones(3)}, path)
    before = path.read_bytes()

    def crash(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(CheckpointError, match="previous file there is unchanged"):
        tinyconv.save({"w": tinyconv.zeros(3)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors"]


# -- exchanging weights with PyTorch -------------------------------------------------------------


def model_classes(torch_mod):
    """LeNet-5 and a small ResNet, written once against `torch_mod` (torch or tinyconv)."""
    nn, F = torch_mod.nn, torch_mod.nn.functional

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch_mod.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class SmallResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
            )
            self.layer1 = Block(8, 8, 1)
            self.layer2 = Block(8, 16, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(torch_mod.flatten(self.pool(x), 1))

    return {"lenet": (LeNet5, (1, 28, 28)), "resnet": (SmallResNet, (3, 16, 16))}


def one_training_step(torch_mod, model, x, y):
    """One SGD step with momentum and weight decay in train mode (BatchNorm stats move too)."""
    opt = torch_mod.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    opt.zero_grad()
    loss = torch_mod.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


def compare_outputs(tc_model, pt_model, x, torch, dtype):
    tol = {"float32": {"rtol": 1e-5, "atol": 1e-5}, "float64": {"rtol": 1e-10, "atol": 1e-10}}[
        dtype
    ]
    for mode in ("eval", "train"):  # eval uses the loaded running stats, train the batch's
        getattr(tc_model, mode)()
        getattr(pt_model, mode)()
        with torch.no_grad():
            expected = pt_model(torch.from_numpy(x)).numpy()
        got = tc_model(tinyconv.from_numpy(x)).detach().numpy()
        assert got.dtype == expected.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, expected, **tol, err_msg=f"{mode} mode")


def batch(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((8, *shape)).astype(dtype), rng.integers(0, 10, 8)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["lenet", "resnet"])
def test_pytorch_trained_weights_load_into_tinyconv(tmp_path, name, dtype):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    pt_cls, shape = model_classes(torch)[name]
    tc_cls, _ = model_classes(tinyconv)[name]
    pt_model = pt_cls().to(getattr(torch, dtype))
    x, y = batch(shape, dtype, 0)
    one_training_step(torch, pt_model, torch.from_numpy(x), torch.from_numpy(y))

    path = tmp_path / f"{name}.safetensors"
    safetensors_torch.save_file(pt_model.state_dict(), str(path))
    tc_model = tc_cls().to(getattr(tinyconv, dtype))
    state = tinyconv.load(path)
    assert set(state) == set(pt_model.state_dict())
    tc_model.load_state_dict(state)  # strict: every name and shape matches
    if name == "resnet":
        assert tc_model.stem[1].num_batches_tracked.item() == 1
        np.testing.assert_array_equal(
            tc_model.layer2.bn1.running_var.numpy(), pt_model.layer2.bn1.running_var.numpy()
        )
    compare_outputs(tc_model, pt_model, batch(shape, dtype, 1)[0], torch, dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["lenet", "resnet"])
def test_tinyconv_trained_weights_load_into_pytorch(tmp_path, name, dtype):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tinyconv.manual_seed(0)
    tc_cls, shape = model_classes(tinyconv)[name]
    pt_cls, _ = model_classes(torch)[name]
    tc_model = tc_cls().to(getattr(tinyconv, dtype))
    x, y = batch(shape, dtype, 0)
    before = {k: v.numpy().copy() for k, v in tc_model.state_dict().items()}
    one_training_step(tinyconv, tc_model, tinyconv.from_numpy(x), tinyconv.from_numpy(y))
    first = next(iter(before))  # the first conv's weight: the step changed it
    assert not np.array_equal(before[first], tc_model.state_dict()[first].numpy())

    path = tmp_path / f"{name}.safetensors"
    tinyconv.save(tc_model.state_dict(), path)
    state = safetensors_torch.load_file(str(path))
    pt_model = pt_cls().to(getattr(torch, dtype))
    pt_model.load_state_dict(state)  # strict
    for k, v in pt_model.state_dict().items():
        assert str(v.dtype).removeprefix("torch.") == str(
            tc_model.state_dict()[k].dtype
        ).removeprefix("tinyconv."), k
    compare_outputs(tc_model, pt_model, batch(shape, dtype, 1)[0], torch, dtype)


def test_the_extra_named_in_the_error_exists_and_ci_installs_it():
    import configparser

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(root, "setup.cfg"))
    assert "safetensors" in cfg["options.extras_require"]["safetensors"]
    with open(os.path.join(root, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    assert any("safetensors" in line and "pip install" in line for line in ci.splitlines())
