"""Checkpoints: bit-exact round trips, atomic writes, clear errors, and never a pickle."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyconv as torch
import tinyconv.nn.functional as F
from tinyconv import nn, optim
from tinyconv.serialization import CheckpointError


def assert_same(a, b, where="obj"):
    """Same types, same structure, same bits (NaN payloads and -0.0 included)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.requires_grad == b.requires_grad, where
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes(), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()), where  # order kept too
        for k in a:
            assert type(k) is type(next(kk for kk in b if kk == k)), f"{where} key {k!r}"
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), where
    else:
        assert a == b, where


def roundtrip(obj, path):
    torch.save(obj, path)
    return torch.load(path)


def special_floats(dtype):
    info = np.finfo(dtype)
    vals = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            info.max,
            -info.max,
            info.tiny,
            info.tiny / 4,
            1 / 3,
            0.1,
        ],
        dtype=dtype,
    )
    bits = vals.view(
        np.uint16 if dtype == np.float16 else np.uint32 if dtype == np.float32 else np.uint64
    )
    bits[4] |= 1  # a NaN with a payload
    return vals


# -- round trips
# ---------------------------------------------------------------------------------------


def test_roundtrip_every_dtype_bit_exact(tmp_path):
    obj = {
        "f32": torch.tensor(special_floats(np.float32)),
        "f64": torch.tensor(special_floats(np.float64)),
        "f16": torch.tensor(special_floats(np.float16)),
        "i64": torch.tensor([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max]),
        "i32": torch.tensor([-(2**31), 2**31 - 1], dtype=torch.int32),
        "i16": torch.tensor([-3, 7], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "noncontig": torch.arange(12).reshape(3, 4).T,
        "grad": torch.tensor([1.0, 2.0], requires_grad=True),
        "array": np.arange(6, dtype=np.float64).reshape(2, 3)[:, ::2],
    }
    back = roundtrip(obj, tmp_path / "all.ckpt")
    assert_same(obj, back)
    assert np.isnan(back["f32"].numpy()[4]) and np.signbit(back["f32"].numpy()[1])


def test_roundtrip_nested_containers_numbers_and_strings(tmp_path):
    obj = OrderedDict(
        [
            ("state", {0: {"step": 7, "exp_avg": torch.ones(2)}, 1: {"momentum_buffer": None}}),
            (
                "param_groups",
                [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False}],
            ),
            ("epoch", 12),
            ("big", 2**80),
            ("neg", -5),
            ("pi", 3.141592653589793),
            ("third", 1 / 3),
            ("nan", float("nan")),
            ("inf", float("-inf")),
            ("negzero", -0.0),
            ("text", 'héllo "quoted" \n ✓'),
            ("empty", ""),
            ("none", None),
            ("yes", True),
            ("keys", {1: "int", "1": "str", (2, "a"): "tuple", 2.5: "float", None: "none"}),
            ("bool_keys", {True: 1, False: 0}),
            ("nested", [[1, [2, (3, {4: [5]})]]]),
            ("empty_containers", ([], (), {})),
        ]
    )
    back = roundtrip(obj, tmp_path / "nested.ckpt")
    assert type(back) is OrderedDict
    assert_same(obj, back)
    assert back["keys"][1] == "int" and back["keys"]["1"] == "str"


def test_numpy_scalars_become_python_numbers(tmp_path):
    back = roundtrip(
        {"a": np.float32(0.5), "b": np.int64(3), "c": np.bool_(True), "d": np.float64(0.1)},
        tmp_path / "np.ckpt",
    )
    assert back == {"a": 0.5, "b": 3, "c": True, "d": 0.1}
    assert type(back["b"]) is int and type(back["c"]) is bool


def test_parameters_come_back_as_parameters(tmp_path):
    p = nn.Parameter(torch.randn(2, 3))
    frozen = nn.Parameter(torch.randn(2), requires_grad=False)
    back = roundtrip({"p": p, "frozen": frozen}, tmp_path / "p.ckpt")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    np.testing.assert_array_equal(back["p"].detach().numpy(), p.detach().numpy())


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4)}, buf)
    buf.seek(0)
    assert_same(torch.load(buf), {"w": torch.arange(4)})
    with open(tmp_path / "f.ckpt", "wb") as f:
        torch.save([1, 2.5], f)
    with open(tmp_path / "f.ckpt", "rb") as f:
        assert torch.load(f) == [1, 2.5]


DTYPES = st.sampled_from(
    [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]
)


@given(
    hnp.arrays(
        DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), elements=None
    )
)
def test_roundtrip_random_arrays(arr):
    buf = io.BytesIO()
    torch.save({"t": torch.from_numpy(arr), "a": arr}, buf)
    back = torch.load(io.BytesIO(buf.getvalue()))
    assert back["t"].numpy().tobytes() == arr.tobytes() and back["t"].dtype == arr.dtype
    assert back["t"].shape == arr.shape
    assert back["a"].tobytes() == arr.tobytes() and back["a"].dtype == arr.dtype


def test_model_and_optimizer_state_dicts(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    F.cross_entropy(model(torch.randn(4, 1, 4, 3)), torch.tensor([0, 1, 2, 0])).backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}
    back = roundtrip(ckpt, tmp_path / "train.ckpt")
    assert_same(ckpt, back)
    assert sorted(back["optim"]["state"]) == [0, 1, 2, 3]  # int keys stay ints
    assert back["optim"]["state"][0]["step"] == 1
    model2 = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3))
    model2.load_state_dict(back["model"])
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        assert p.detach().numpy().tobytes() == q.detach().numpy().tobytes()


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
        lambda p: optim.AdamW(p, lr=0.01),
        lambda p: optim.Adamax(p, lr=0.01, weight_decay=0.1),
        # (float32 parameters: the float32 0-d mu_product / eta / mu load back unchanged)
        lambda p: optim.NAdam(p, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        lambda p: optim.RAdam(p, lr=0.01, betas=(0.9, 0.9)),
        lambda p: optim.Adadelta(p, rho=0.5),
        lambda p: optim.Rprop(p, lr=0.01),
        lambda p: optim.ASGD(p, lr=0.05, t0=2),
    ],
    ids=["sgd-nesterov", "adam-amsgrad", "adamw", "adamax", "nadam", "radam", "adadelta"]
    + ["rprop", "asgd"],
)
def test_resume_training_matches_uninterrupted_training(tmp_path, make_opt):
    rng = np.random.default_rng(0)
    batches = [
        (
            torch.tensor(rng.standard_normal((8, 1, 6, 6)).astype(np.float32)),
            torch.tensor(rng.integers(0, 3, 8)),
        )
        for _ in range(6)
    ]

    def make(seed):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(36, 3),
        )
        return model, make_opt(model.parameters())

    def train(model, opt, steps):
        for x, y in steps:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

    model, opt = make(0)
    train(model, opt, batches)
    straight = [p.detach().numpy().copy() for p in model.parameters()]

    model, opt = make(0)
    train(model, opt, batches[:3])
    torch.save(
        {"model": model.state_dict(), "optim": opt.state_dict(), "step": 3}, tmp_path / "mid.ckpt"
    )
    del model, opt
    model, opt = make(123)  # a different initialisation: everything must come from the file
    ckpt = torch.load(tmp_path / "mid.ckpt")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    train(model, opt, batches[ckpt["step"] :])
    for a, p in zip(straight, model.parameters(), strict=True):
        assert a.tobytes() == p.detach().numpy().tobytes()


def test_loaded_optimizer_state_shares_the_checkpoints_tensors(tmp_path):
    # as PyTorch's: load_state_dict keeps a state tensor of the parameter's dtype as it is,
    # so the optimizer's later steps show in the loaded checkpoint (PyTorch prints 1.9 too)
    w = nn.Parameter(torch.ones(3))
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = torch.ones(3)
    opt.step()
    ckpt = roundtrip(opt.state_dict(), tmp_path / "o.ckpt")
    opt2 = optim.SGD([w], lr=0.1, momentum=0.9)
    opt2.load_state_dict(ckpt)
    opt2.step()
    np.testing.assert_allclose(ckpt["state"][0]["momentum_buffer"].numpy(), np.full(3, 1.9))
    assert opt.state_dict()["state"][0]["momentum_buffer"].tolist() == [1.0, 1.0, 1.0]
    live = opt.state_dict()["state"][0]["momentum_buffer"]
    w.grad = torch.ones(3)
    opt.step()
    np.testing.assert_allclose(live.numpy(), np.full(3, 1.9))  # state_dict() holds the state


# -- atomic writes
# ----------------------------------------------------------------------------------


def leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith(".tmp-"))


def test_crash_inside_savez_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    torch.save({"w": torch.arange(5), "v": 1}, path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")  # some bytes reach the disk, then we die
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        torch.save({"w": torch.zeros(5), "v": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert_same(torch.load(path), {"w": torch.arange(5), "v": 1})
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("where", ["savez", "fsync", "replace"])
def test_os_errors_mid_save_keep_the_previous_checkpoint(tmp_path, monkeypatch, where):
    path = tmp_path / "model.ckpt"
    torch.save({"epoch": 1}, path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    target = {"savez": (np, "savez"), "fsync": (os, "fsync"), "replace": (os, "replace")}[where]
    monkeypatch.setattr(*target, disk_full)
    with pytest.raises(
        CheckpointError, match=r"can't write checkpoint .*model\.ckpt.*No space left"
    ) as e:
        torch.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert isinstance(e.value.__cause__, OSError)
    assert path.read_bytes() == before
    assert torch.load(path) == {"epoch": 1}
    assert leftovers(tmp_path) == []


def test_failed_first_save_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(CheckpointError):
        torch.save({"a": 1}, tmp_path / "new.ckpt")
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "m.ckpt"
    with pytest.raises(CheckpointError, match=r"can't write checkpoint .*m\.ckpt.*does not exist"):
        torch.save({"a": 1}, path)


def test_saved_file_gets_ordinary_permissions(tmp_path):
    path = tmp_path / "perm.ckpt"
    torch.save({"a": 1}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0o600
    os.chmod(path, 0o640)
    torch.save({"a": 2}, path)  # overwriting keeps the file's mode
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_unsupported_objects_are_refused_naming_where(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\]\['act'\] of type function"):
        torch.save({"model": {"act": lambda x: x}}, tmp_path / "a.ckpt")
    with pytest.raises(TypeError, match=r"obj\[1\], an array of dtype object"):
        torch.save([1, np.array([{"a": 1}], dtype=object)], tmp_path / "a.ckpt")
    with pytest.raises(TypeError, match=r"an array of dtype <U"):
        torch.save({"names": np.array(["a", "b"])}, tmp_path / "a.ckpt")
    with pytest.raises(TypeError, match=r"obj of type set"):
        torch.save({1, 2}, tmp_path / "a.ckpt")
    assert not (tmp_path / "a.ckpt").exists()


# -- unreadable files
# --------------------------------------------------------------------------------


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.ckpt"
    torch.save({"w": torch.randn(4, 3), "b": torch.zeros(3), "step": 10, "name": "lenet"}, path)
    return path


def expect_checkpoint_error(path, match=None):
    with pytest.raises(CheckpointError) as e:
        torch.load(path)
    msg = str(e.value)
    assert str(path) in msg  # every error names the file
    if match:
        assert match in msg, msg
    return msg


@pytest.mark.parametrize("keep", [0, 1, 4, 30, 100, 0.5, 0.9, -1])
def test_truncated_files(tmp_path, good, keep):
    data = good.read_bytes()
    n = (
        keep
        if isinstance(keep, int) and keep >= 0
        else int(len(data) * keep)
        if keep > 0
        else len(data) - 1
    )
    bad = tmp_path / "truncated.ckpt"
    bad.write_bytes(data[:n])
    expect_checkpoint_error(bad)


def test_every_truncation_and_byte_flip_is_caught_or_harmless(tmp_path, good):
    """Corrupt each byte in turn: load either raises CheckpointError or returns the exact data."""
    data = good.read_bytes()
    original = torch.load(good)
    bad = tmp_path / "corrupt.ckpt"
    loaded = 0
    for i in range(0, len(data), 3):
        for corrupt in (data[:i], data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]):
            bad.write_bytes(corrupt)
            try:
                back = torch.load(bad)
            except CheckpointError as e:
                assert str(bad) in str(e)
                continue
            loaded += 1  # a flip in an unused header field (e.g. a timestamp): data intact
            assert_same(original, back)
    assert loaded < len(data) // 6  # most corruptions are detected (the CRC covers the data)


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "text",
        "pickle",
        "npy",
        "json",
        "zip-not-npz",
        "npz-no-manifest",
        "other-format",
        "newer-version",
        "manifest-not-dict",
        "manifest-bad-entry",
        "missing-array",
        "bad-version",
    ],
)
def test_wrong_format_files(tmp_path, kind):
    path = tmp_path / f"{kind}.ckpt"
    manifest = {"format": "tinyconv-checkpoint", "version": 1, "object": {"__tensor__": "a0"}}
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("epoch,loss\n1,0.5\n")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    elif kind == "npy":
        np.save(path.open("wb"), np.arange(3))
    elif kind == "json":
        path.write_text(json.dumps(manifest))
    elif kind == "zip-not-npz":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data.pkl", b"not numpy")
    elif kind == "npz-no-manifest":
        np.savez(path.open("wb"), w=np.ones(3))
    else:
        if kind == "other-format":
            manifest["format"] = "someone-else"
        elif kind == "newer-version":
            manifest["version"] = 99
        elif kind == "bad-version":
            manifest["version"] = "one"
        elif kind == "manifest-not-dict":
            manifest = [1, 2, 3]
        elif kind == "manifest-bad-entry":
            manifest["object"] = {"__dict__": 5}
        elif kind == "missing-array":
            manifest["object"] = {"__tensor__": "a7"}
        np.savez(path.open("wb"), __manifest__=np.array(json.dumps(manifest)), a0=np.ones(2))
    expect_checkpoint_error(
        path,
        match={
            "newer-version": "newer tinyconv",
            "npz-no-manifest": "no manifest",
            "manifest-bad-entry": "corrupt manifest",
        }.get(kind),
    )


def test_missing_file_and_directory(tmp_path):
    expect_checkpoint_error(tmp_path / "nope.ckpt", match="can't open")
    expect_checkpoint_error(tmp_path, match="can't open")


def test_pickled_object_array_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):  # unpickling this would create the marker folder
            return (os.makedirs, (str(marker),))

    path = tmp_path / "hostile.ckpt"
    manifest = {"format": "tinyconv-checkpoint", "version": 1, "object": {"__ndarray__": "a0"}}
    with path.open("wb") as f:  # np.savez pickles object arrays by default
        np.savez(
            f, __manifest__=np.array(json.dumps(manifest)), a0=np.array([Exploit()], dtype=object)
        )
    msg = expect_checkpoint_error(path, match="pickle")
    assert "refuses" in msg
    assert not marker.exists()
    # and the manifest itself as a pickled object array:
    with path.open("wb") as f:
        np.savez(f, __manifest__=np.array([Exploit()], dtype=object))
    expect_checkpoint_error(path, match="pickle")
    assert not marker.exists()


def test_plain_pickle_file_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.makedirs, (str(marker),))

    path = tmp_path / "hostile.pt"
    path.write_bytes(pickle.dumps({"state": Exploit()}))
    expect_checkpoint_error(path)
    assert not marker.exists()
