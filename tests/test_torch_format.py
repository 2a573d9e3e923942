"""tinyconv.save / load in PyTorch's own checkpoint format (.pt, .pth, .tar paths): files that
torch.save wrote load in tinyconv, files tinyconv wrote load in torch.load(weights_only=True),
and reading never runs code from the file.

Without torch, the round trips through tinyconv's own writer and the refusals still run; the
exchanges with PyTorch carry the `torch` marker.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyconv
from tinyconv.serialization import CheckpointError


def mixed_state() -> dict:
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    return {
        "model": OrderedDict(
            [
                ("conv.weight", tinyconv.randn(2, 3, 3, 3)),
                ("conv.bias", tinyconv.tensor([np.nan, -0.0], dtype=tinyconv.float32)),
                ("bn.num_batches_tracked", tinyconv.tensor(7)),
            ]
        ),
        "mask": tinyconv.tensor([True, False]),
        "half": tinyconv.tensor([1.5, -2.0], dtype=tinyconv.float16),
        "bytes": tinyconv.tensor([0, 255], dtype=tinyconv.uint8),
        "small": tinyconv.tensor([-3, 4], dtype=tinyconv.int8),
        "shorts": tinyconv.tensor([-3, 4], dtype=tinyconv.int16),
        "ints": tinyconv.tensor([-3, 4], dtype=tinyconv.int32),
        "transposed": tinyconv.from_numpy(base).t(),
        "strided": tinyconv.from_numpy(base)[:, ::2],
        "empty": tinyconv.zeros(0, 3),
        "scalar": tinyconv.tensor(2.5, dtype=tinyconv.float64),
        "param": tinyconv.nn.Parameter(tinyconv.ones(2)),
        "frozen": tinyconv.nn.Parameter(tinyconv.ones(2), requires_grad=False),
        "leaf": tinyconv.ones(3, requires_grad=True),
        "epoch": 3,
        "loss": 0.125,
        "note": "hello",
        "flags": [True, None, (1, 2.5)],
        "ids": {1, 2},
        "z": 1 + 2j,
    }


def assert_same(want, got):
    assert type(got) is type(want) or (
        isinstance(want, tinyconv.Tensor) and isinstance(got, tinyconv.Tensor)
    )
    if isinstance(want, tinyconv.Tensor):
        assert type(got).__name__ == type(want).__name__  # Parameter stays Parameter
        assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
        assert got.requires_grad == want.requires_grad
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            assert_same(want[k], got[k])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(want, got, strict=True):
            assert_same(a, b)
    else:
        assert got == want


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".tar", ".PTH"])
def test_round_trip_keeps_every_kind_of_value(tmp_path, suffix):
    state = mixed_state()
    path = tmp_path / f"ckpt{suffix}"
    tinyconv.save(state, path)
    with zipfile.ZipFile(path) as z:  # PyTorch's layout, not the .npz one
        assert "ckpt/data.pkl" in z.namelist() and "ckpt/byteorder" in z.namelist()
    assert_same(state, tinyconv.load(path))


def test_storages_are_64_byte_aligned_as_torch_writes_them(tmp_path):
    path = tmp_path / "w.pt"
    tinyconv.save({"a": tinyconv.ones(3), "b": tinyconv.zeros(5, dtype=tinyconv.int64)}, path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if "/data/" in i.filename]
        assert len(infos) == 2
        for info in infos:
            name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 :][:4])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0


def test_other_paths_keep_the_npz_format_and_file_objects_get_torchs(tmp_path):
    tinyconv.save({"a": tinyconv.ones(2)}, tmp_path / "w.ckpt")
    with zipfile.ZipFile(tmp_path / "w.ckpt") as z:
        assert "__manifest__.npy" in z.namelist()
    buf = io.BytesIO()
    tinyconv.save({"a": tinyconv.ones(2)}, buf)  # as torch.save(obj, buffer): "archive/"
    names = zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()
    assert "archive/data.pkl" in names and "archive/data/0" in names
    assert_same({"a": tinyconv.ones(2)}, tinyconv.load(io.BytesIO(buf.getvalue())))
    # NumPy values, which PyTorch's format holds only through NumPy's pickle, keep the .npz
    state = {"a": tinyconv.ones(2), "arr": np.arange(3), "n": np.float32(1.5)}
    buf = io.BytesIO()
    tinyconv.save(state, buf)
    assert "__manifest__.npy" in zipfile.ZipFile(io.BytesIO(buf.getvalue())).namelist()
    back = tinyconv.load(io.BytesIO(buf.getvalue()))
    np.testing.assert_array_equal(back["arr"], np.arange(3))
    assert back["n"] == 1.5


def test_a_pickle_or_torchs_legacy_format_is_refused_by_name(tmp_path):
    legacy = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03."
    with pytest.raises(CheckpointError, match="legacy format"):
        tinyconv.load(io.BytesIO(legacy))
    (tmp_path / "p.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickle file"):
        tinyconv.load(tmp_path / "p.pt")


@pytest.mark.torch
def test_file_objects_travel_both_ways_and_legacy_files_are_refused():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    tinyconv.save({"w": tinyconv.arange(4.0), "n": 3}, buf)
    buf.seek(0)
    got = torch.load(buf, weights_only=True)
    assert got["n"] == 3 and got["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4.0)}, buf)
    buf.seek(0)
    assert tinyconv.load(buf)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    buf = io.BytesIO()
    torch.save({"w": torch.arange(4.0)}, buf, _use_new_zipfile_serialization=False)
    buf.seek(0)
    with pytest.raises(CheckpointError, match="legacy format"):
        tinyconv.load(buf)


def shared_state(lib):
    """x, two views of it and a tied weight's two state_dict entries (each a separate tensor
    object over one memory, as Module.state_dict gives them)."""
    x = lib.arange(12, dtype=lib.float64)
    w = lib.arange(6, dtype=lib.float32).reshape(2, 3)
    return {
        "x": x,
        "tail": x[1:],
        "cols": x.reshape(3, 4)[:, 1::2].t(),
        "again": x,
        "enc.weight": w.detach(),
        "dec.weight": w.detach(),
        "other": lib.ones(2),
    }


def storage_count(path_or_bytes) -> int:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with zipfile.ZipFile(src) as z:
        return sum("/data/" in n for n in z.namelist())


@pytest.mark.torch
def test_tensors_sharing_memory_keep_sharing_it_both_ways(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(shared_state(torch), tmp_path / "t.pt")
    tinyconv.save(shared_state(tinyconv), tmp_path / "c.pt")
    # one storage per memory, as torch.save writes
    assert storage_count(tmp_path / "c.pt") == storage_count(tmp_path / "t.pt") == 3
    for path in (tmp_path / "t.pt", tmp_path / "c.pt"):
        want = torch.load(path, weights_only=True)
        got = tinyconv.load(path)
        assert (got["again"] is got["x"]) and (want["again"] is want["x"])
        assert got["enc.weight"] is not got["dec.weight"]  # (two objects, as in torch)
        # a write through one shows through the others, in both
        for d in (want, got):
            d["x"][5] = -1.0
            d["enc.weight"][1, 2] = 7.0
            d["other"][0] = 5.0
        for k in want:
            assert got[k].tolist() == want[k].tolist(), k
            assert tuple(got[k].stride()) == tuple(want[k].stride()), k
        assert got["tail"][4].item() == -1.0 and got["dec.weight"][1, 2].item() == 7.0


@pytest.mark.torch
def test_tied_weights_stay_tied_through_a_checkpoint_as_in_torch(tmp_path):
    torch = pytest.importorskip("torch")

    def tied(lib):
        lib.manual_seed(0)
        m = lib.nn.Sequential(lib.nn.Linear(3, 3, bias=False), lib.nn.Linear(3, 3, bias=False))
        m[1].weight = m[0].weight
        return m

    pt, tc = tied(torch), tied(tinyconv)
    with torch.no_grad():
        pt[0].weight.mul_(2.0)
    torch.save(pt.state_dict(), tmp_path / "tied.pt")
    sd = tinyconv.load(tmp_path / "tied.pt")
    assert np.shares_memory(sd["0.weight"].numpy(), sd["1.weight"].numpy())
    tc.load_state_dict(sd)
    pt2 = tied(torch)
    pt2.load_state_dict(torch.load(tmp_path / "tied.pt"))
    assert tc[0].weight is tc[1].weight and pt2[0].weight is pt2[1].weight
    np.testing.assert_array_equal(tc[0].weight.detach().numpy(), pt2[0].weight.detach().numpy())
    # and a tinyconv model's tied weights travel to torch as one storage
    tinyconv.save(tc.state_dict(), tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    assert back["0.weight"].data_ptr() == back["1.weight"].data_ptr()
    assert storage_count(tmp_path / "back.pt") == 1


@pytest.mark.torch
def test_an_expanded_tensor_loads_expanded_as_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(3.0)
    torch.save({"e": base.expand(2, 3), "base": base}, tmp_path / "e.pt")
    got = tinyconv.load(tmp_path / "e.pt")
    want = torch.load(tmp_path / "e.pt")
    assert got["e"].tolist() == want["e"].tolist() == [[0.0, 1.0, 2.0]] * 2
    assert tuple(got["e"].stride()) == want["e"].stride() == (0, 1)
    for d in (got, want):  # writing into it is refused; it shares memory with base
        with pytest.raises(RuntimeError, match="more than one element"):
            d["e"].add_(1.0)
        d["base"][0] = 9.0
    assert got["e"].tolist() == want["e"].tolist() == [[9.0, 1.0, 2.0]] * 2
    tinyconv.save({"e": tinyconv.arange(3.0).expand(2, 3)}, tmp_path / "c.pt")
    back = torch.load(tmp_path / "c.pt", weights_only=True)["e"]
    assert back.stride() == (0, 1) and back.tolist() == [[0.0, 1.0, 2.0]] * 2


@pytest.mark.parametrize(
    "value, match",
    [
        (np.array([1, "a"], dtype=object), "ndarray"),
        (lambda x: x, "function"),
    ],
)
def test_values_pytorch_cannot_read_back_are_refused_before_writing(tmp_path, value, match):
    path = tmp_path / "bad.pt"
    with pytest.raises(TypeError, match=match):
        tinyconv.save({"model": {"x": value}}, path)
    assert not path.exists()


def hostile_archive(path, payload: bytes) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ckpt/data.pkl", payload)
        z.writestr("ckpt/byteorder", b"little")


def test_a_pickle_naming_other_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.makedirs, (str(marker),))

    path = tmp_path / "hostile.pt"
    hostile_archive(path, pickle.dumps({"state": Exploit()}, protocol=2))
    with pytest.raises(CheckpointError, match=r"hostile\.pt.*posix\.makedirs|os\.makedirs"):
        tinyconv.load(path)
    assert not marker.exists()


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = tmp_path / "w.pt"
    tinyconv.save({"w": tinyconv.ones(4)}, path)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    # the same pickle, but the tensor's size claims 40 elements of a 4-element storage
    entries["w/data.pkl"] = entries["w/data.pkl"].replace(b"K\x04\x85", b"K(\x85")
    with zipfile.ZipFile(path, "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)
    with pytest.raises(CheckpointError, match="reaches element 39 of a storage of 4"):
        tinyconv.load(path)


def test_a_missing_or_short_storage_is_a_clear_error(tmp_path):
    path = tmp_path / "w.pt"
    tinyconv.save({"w": tinyconv.ones(4)}, path)
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    for change, match in (("drop", "storage 0 is missing"), ("cut", "has 8 bytes")):
        damaged = dict(entries)
        if change == "drop":
            del damaged["w/data/0"]
        else:
            damaged["w/data/0"] = damaged["w/data/0"][:8]
        with zipfile.ZipFile(path, "w") as z:
            for n, data in damaged.items():
                z.writestr(n, data)
        with pytest.raises(CheckpointError, match=match):
            tinyconv.load(path)


# -- exchanges with PyTorch ---------------------------------------------------------------------


@pytest.mark.torch
def test_torch_reads_what_tinyconv_writes(tmp_path):
    torch = pytest.importorskip("torch")
    state = mixed_state()
    path = tmp_path / "from_tinyconv.pth"
    tinyconv.save(state, path)
    back = torch.load(path, weights_only=True)
    for key, want in state.items():
        got = back[key]
        if isinstance(want, tinyconv.Tensor):
            assert isinstance(got, torch.Tensor)
            assert isinstance(got, torch.nn.Parameter) == isinstance(want, tinyconv.nn.Parameter)
            assert str(got.dtype) == str(want.dtype).replace("tinyconv", "torch")
            assert got.requires_grad == want.requires_grad
            np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        elif isinstance(want, dict):
            assert list(got) == list(want)
            for k in want:
                np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
        else:
            assert got == want


@pytest.mark.torch
def test_tinyconv_reads_what_torch_writes(tmp_path):
    torch = pytest.importorskip("torch")
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    saved = {
        "view": base[1:, ::2],  # shares base's storage, at an offset, strided
        "base": base,
        "t": torch.randn(3, 5).t(),
        "param": torch.nn.Parameter(torch.ones(2)),
        "dtypes": [torch.ones(2, dtype=d) for d in (torch.float16, torch.int8, torch.bool)],
        "size": torch.Size([2, 3]),
        "ids": {1, 2},
        "empty": torch.zeros(0, 4),
    }
    path = tmp_path / "from_torch.pt"
    torch.save(saved, path)
    got = tinyconv.load(path)
    np.testing.assert_array_equal(got["view"].numpy(), saved["view"].numpy())
    np.testing.assert_array_equal(got["base"].numpy(), saved["base"].numpy())
    np.testing.assert_array_equal(got["t"].numpy(), saved["t"].numpy())
    assert isinstance(got["param"], tinyconv.nn.Parameter) and got["param"].requires_grad
    assert [str(t.dtype) for t in got["dtypes"]] == [
        "tinyconv.float16",
        "tinyconv.int8",
        "tinyconv.bool",
    ]
    assert got["size"] == (2, 3) and got["ids"] == {1, 2}
    assert tuple(got["empty"].shape) == (0, 4)


@pytest.mark.torch
def test_a_torch_training_checkpoint_resumes_in_tinyconv_with_torchs_numbers(tmp_path):
    """Train in PyTorch, torch.save model + optimizer, resume in tinyconv: the next steps give
    PyTorch's parameters (float64, so any difference is a real one; no bias right before the
    batch norm, whose gradient is rounding noise that Adam would scale up)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for name, kwargs in (("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01})):
        t_model = torch.nn.Sequential(
            torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)
        ).double()
        t_opt = getattr(torch.optim, name)(t_model.parameters(), **kwargs)
        x = torch.randn(8, 3, dtype=torch.float64)
        target = torch.randn(8, 2, dtype=torch.float64)

        def step(model, opt, x, target):
            opt.zero_grad()
            (model(x) - target).pow(2).mean().backward()
            opt.step()

        for _ in range(3):
            step(t_model, t_opt, x, target)
        path = tmp_path / f"{name}.pth"
        torch.save({"model": t_model.state_dict(), "optim": t_opt.state_dict(), "epoch": 3}, path)

        ckpt = tinyconv.load(path)
        nn = tinyconv.nn
        c_model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.BatchNorm1d(4), nn.Linear(4, 2))
        c_model.double().load_state_dict(ckpt["model"])
        c_opt = getattr(tinyconv.optim, name)(c_model.parameters(), **kwargs)
        c_opt.load_state_dict(ckpt["optim"])
        cx, ct = tinyconv.tensor(x.numpy()), tinyconv.tensor(target.numpy())
        for _ in range(2):
            step(t_model, t_opt, x, target)
            step(c_model, c_opt, cx, ct)
        want = t_model.state_dict()
        for key, value in c_model.state_dict().items():
            np.testing.assert_allclose(value.numpy(), want[key].numpy(), rtol=1e-12, atol=1e-14)
        assert ckpt["epoch"] == 3


@pytest.mark.torch
def test_a_pickled_module_names_what_to_save_instead(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match=r"torch\.nn\..*state_dict\(\) instead"):
        tinyconv.load(path)


@pytest.mark.torch
def test_a_dtype_tinyconv_lacks_is_named(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "bf16.pt"
    torch.save({"w": torch.ones(2, dtype=torch.bfloat16)}, path)
    with pytest.raises(CheckpointError, match="BFloat16Storage"):
        tinyconv.load(path)


@pytest.mark.torch
@given(
    st.integers(1, 4),
    st.integers(1, 5),
    st.lists(st.sampled_from(["t", "row", "col", "step", "flat", "neg", "copy"]), max_size=5),
    st.sampled_from([np.float32, np.float64, np.int16]),
)
def test_views_of_one_array_travel_to_torch_and_back(rows, cols, kinds, dtype):
    torch = pytest.importorskip("torch")
    base = tinyconv.from_numpy(np.arange(rows * cols, dtype=dtype).reshape(rows, cols))
    views = {
        "t": lambda b: b.t(),
        "row": lambda b: b[rows // 2],
        "col": lambda b: b[:, cols // 2],
        "step": lambda b: b[:, ::2],
        "flat": lambda b: b.reshape(-1)[1:],
        "neg": lambda b: b.flip(0),  # (a copy in tinyconv too: flip is no view)
        "copy": lambda b: b.clone(),
    }
    state = {"base": base, **{f"{k}{i}": views[k](base) for i, k in enumerate(kinds)}}
    buf = io.BytesIO()
    tinyconv.save(state, buf)
    theirs = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    ours = tinyconv.load(io.BytesIO(buf.getvalue()))
    for k, v in state.items():
        assert theirs[k].tolist() == v.tolist() == ours[k].tolist(), k
        shared = np.shares_memory(v.numpy(), base.numpy())
        assert np.shares_memory(ours[k].numpy(), ours["base"].numpy()) == shared, k
        t, tb = theirs[k], theirs["base"]
        same_storage = t.untyped_storage().data_ptr() == tb.untyped_storage().data_ptr()
        assert same_storage == shared, k


class _RunConfig:  # (a user class a training script puts beside its weights)
    def __init__(self, lr):
        self.lr = lr


@pytest.mark.torch
def test_add_safe_globals_allows_listed_classes_as_pytorchs_weights_only_load(tmp_path):
    import argparse

    torch = pytest.importorskip("torch")
    path = tmp_path / "ckpt.pt"
    blob = {"w": torch.ones(2), "args": argparse.Namespace(epochs=3), "cfg": _RunConfig(0.5)}
    torch.save(blob, path)
    torchs_own = torch.serialization.get_safe_globals()
    try:
        _check_safe_globals(torch, path)
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(torchs_own)
    _check_safe_globals(tinyconv, path)
    # an (object, "module.name") pair allows the object under the name the file spells
    tinyconv.serialization.add_safe_globals(
        [argparse.Namespace, (_RunConfig, f"{__name__}._RunConfig")]
    )
    try:
        assert tinyconv.load(path)["cfg"].lr == 0.5
    finally:
        tinyconv.serialization.clear_safe_globals()


def _check_safe_globals(lib, path):
    """The same allow-list steps in PyTorch and in tinyconv (lib)."""
    import argparse

    lib.serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):  # (weights-only: not allowed yet)
        lib.load(path)
    lib.serialization.add_safe_globals([argparse.Namespace])
    with pytest.raises(pickle.UnpicklingError, match="_RunConfig" if lib is tinyconv else ""):
        lib.load(path)
    with lib.serialization.safe_globals([_RunConfig]):
        got = lib.load(path)
    assert got["args"] == argparse.Namespace(epochs=3) and got["cfg"].lr == 0.5
    assert got["w"].tolist() == [1.0, 1.0]
    assert lib.serialization.get_safe_globals() == [argparse.Namespace]
    lib.serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        lib.load(path)


def test_numpy_values_in_a_checkpoint_load_as_pytorchs_do(tmp_path):
    # a training checkpoint often holds NumPy values (np.mean's accuracy, label arrays):
    # torch.save pickles them, torch.load reads them back with weights_only=False and refuses
    # them with weights_only=True (its default); tinyconv's files now behave the same both ways
    torch = pytest.importorskip("torch")
    state = {"epoch": 3, "best_acc": np.mean([0.5, 0.75]), "classes": np.arange(3)}
    state |= {"scale": np.float32(1.5), "flag": np.bool_(True), "dtype": np.dtype("float32")}
    for writer, name in ((tinyconv, "tc.pth"), (torch, "pt.pth")):
        path = tmp_path / name
        writer.save(state | {"w": writer.ones(2)}, path)
        for reader in (tinyconv, torch):
            back = reader.load(path, weights_only=False)
            assert back["best_acc"] == 0.625 and type(back["best_acc"]) is np.float64
            np.testing.assert_array_equal(back["classes"], np.arange(3))
            assert type(back["scale"]) is np.float32 and back["dtype"] == np.float32
            assert back["w"].tolist() == [1.0, 1.0]
            with pytest.raises(pickle.UnpicklingError, match="(?i)weights.only"):
                reader.load(path)  # (weights_only=True: NumPy's pickles are refused)


def test_shapes_devices_dtypes_bytes_and_counters_travel_both_ways(tmp_path):
    # what PyTorch's weights-only load reads besides tensors: tinyconv writes them as PyTorch
    # names them (torch.Size, torch.device, torch.float32, ...) and reads them back
    torch = pytest.importorskip("torch")
    for writer, name in ((tinyconv, "tc.pth"), (torch, "pt.pth")):
        state = {"shape": writer.ones(2, 3).shape, "device": writer.device("cpu")}
        state |= {"dtype": writer.float64, "raw": b"ab", "buf": bytearray(b"xy")}
        state |= {"counts": collections.Counter("aab")}
        writer.save(state, tmp_path / name)
        for reader in (tinyconv, torch):
            back = reader.load(tmp_path / name)  # (weights_only=True)
            assert type(back["shape"]) is reader.Size and back["shape"] == (2, 3)
            assert back["device"] == reader.device("cpu") and back["dtype"] is reader.float64
            assert back["raw"] == b"ab" and back["buf"] == bytearray(b"xy")
            assert back["counts"] == collections.Counter("aab")
