"""tinyconv's SummaryWriter against PyTorch's: the same calls write the same runs, tags,
steps, values, histogram buckets and image pixels (wall times and PNG bytes aside).

torch.utils.tensorboard needs the `tensorboard` package (CI's second phase installs it);
both sets of files are decoded with the tests' own reader, tests/tb_reader.py."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from tb_reader import decode_png, event_files, fields, read_runs

import tinyconv
import tinyconv.utils.tensorboard as tc_tb

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
# the skip reason names torch, so CI (TINYCONV_REQUIRE_TORCH=1) fails instead of skipping
pytest.importorskip("tensorboard", reason="torch.utils.tensorboard needs the tensorboard package")
from torch.utils.tensorboard import SummaryWriter as TorchWriter  # noqa: E402


def _script(writer_cls: type, tensor: Callable[[Any], Any], logdir: str) -> None:
    """The same training-script calls, with `tensor` making the library's tensors."""
    rng = np.random.default_rng(0)
    with writer_cls(logdir, purge_step=2, filename_suffix=".x") as w:
        for step in range(3):
            w.add_scalar("loss", tensor(np.float32(1.0 / (step + 1))), step)
            w.add_scalar("lr", 0.1 * 0.5**step, step)
            w.add_scalars("acc/split", {"train": 0.5 + step / 10, "val": tensor(step / 7)}, step)
        w.add_scalar("nd", 1 / 3, 9, walltime=100.0, new_style=True)
        w.add_scalar("nd64", 1 / 3, 9, new_style=True, double_precision=True)
        normal = rng.normal(size=1000)
        normal[:100] = 0.0
        w.add_histogram("normal", tensor(normal.astype(np.float32)), 4)
        w.add_histogram("wide", rng.normal(0, 1e6, size=300), 5)
        w.add_histogram("tiny", rng.normal(0, 1e-9, size=50), 5)
        w.add_histogram("ints", np.arange(-20, 30), 6, bins=7)
        w.add_histogram("auto", rng.random(200), 6, bins="auto")
        w.add_histogram("few", rng.normal(size=500), 7, bins=50, max_bins=7)
        w.add_histogram("one", np.array([5.0]), 7)
        w.add_histogram_raw("raw", -1.0, 2.0, 3, 1.0, 5.0, [0.0, 1.0, 2.0], [1, 1, 1], 8)
        img = rng.random((3, 6, 5)) * 1.2 - 0.1
        w.add_image("chw", tensor(img), 10)
        w.add_image("hwc", img.transpose(1, 2, 0).astype(np.float32), 10, dataformats="HWC")
        w.add_image("hw", rng.integers(0, 256, (6, 5), dtype=np.uint8), 10, dataformats="HW")
        w.add_image("gray", tensor(img[:1]), 10)
        w.add_image("rgba", rng.random((4, 3, 2)), 10)
        w.add_images("grid", tensor(rng.random((10, 3, 4, 3))), 11)
        w.add_images("grid1", rng.random((3, 1, 4, 3)), 11)
        w.add_images("nhwc", rng.random((2, 4, 3, 3)), 11, dataformats="NHWC")
        w.add_text("notes", "**bold** and ü", 12)
        labels = rng.integers(0, 2, 100)
        scores = rng.random(100)
        scores[:4] = [0.0, 1.0, 1.5, -0.25]  # edges, and two outside [0, 1]
        w.add_pr_curve("pr", tensor(labels), tensor(scores), 14)
        w.add_pr_curve("pr_w", labels.astype(bool), scores, 14, 9, weights=rng.random(100))
        w.add_pr_curve("pr_cap", labels, scores.astype(np.float32), 14, num_thresholds=500)
        w.add_pr_curve_raw("pr_raw", [3, 1], [2, 0], [0, 2], [0, 2], [0.6, 1], [1, 0.3], 15, 2)
        sound = rng.uniform(-1.2, 1.2, 300)
        w.add_audio("snd", tensor(sound.astype(np.float32)).reshape(1, -1), 16, 8000)
        w.add_audio("snd64", sound, 16)
        for i, t in enumerate(
            [
                rng.random((2, 3)).astype(np.float32),
                rng.random(4),
                np.array([[1, -(2**40)]]),
                np.array([1, -7], dtype=np.int32),
                np.array([3, 200], dtype=np.uint8),
                np.array([-3, 5], dtype=np.int8),
                np.array([-3, 5], dtype=np.int16),
                np.array([True, False]),
                np.float32(2.5),
                np.zeros((0, 2), np.float32),
            ]
        ):
            w.add_tensor(f"tensor{i}", tensor(t), 17)  # PyTorch takes only tensors
        w.add_custom_scalars(
            {
                "cat A": {"loss": ["Multiline", ["loss/train", "loss/val"]]},
                "cat B": {"acc": ["Margin", ["acc", "acc/lo", "acc/hi"]], "m": ["Multiline", []]},
            }
        )
        vertices = rng.normal(size=(1, 4, 3)).astype(np.float32)
        faces = np.array([[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]], dtype=np.int32)
        colors = rng.integers(0, 256, (1, 4, 3)).astype(np.int32)
        config = {"material": {"cls": "PointsMaterial", "size": 2}, "camera": {"fov": 75}}
        w.add_mesh("mesh", tensor(vertices), tensor(colors), tensor(faces), config, 18)
        w.add_mesh("cloud", tensor(vertices), global_step=18)
        w.add_custom_scalars_multilinechart(["a", "b"], title="ab")
        w.add_custom_scalars_marginchart(["v", "l", "u"], category="c")
        w.add_embedding(
            tensor(rng.random((5, 3))),
            metadata=["a", "b", "c", "d", "e"],
            label_img=tensor(rng.random((5, 3, 2, 3)).astype(np.float32)),
            global_step=3,
            tag="emb/1 %x",
        )
        w.add_embedding(
            rng.integers(0, 9, (4, 2)),
            metadata=[[1, "x"], [2.5, "y"], [3, "z"], [4, "w"]],
            metadata_header=["num", "let"],
            label_img=tensor(rng.random((4, 1, 3, 3))),
        )
        w.add_embedding(tensor(rng.random((2, 4)).astype(np.float32)), global_step=12345678)
        w.add_hparams(
            {"lr": 0.01, "bs": 64, "opt": "sgd", "flag": True},
            {"hp/acc": 0.75, "hp/loss": 0.5},
            hparam_domain_discrete={"opt": ["adam", "sgd"], "bs": [32, 64]},
            run_name="trial",
            global_step=13,
        )


def _normalise(value: dict) -> dict:
    out = dict(value)
    if out.get("plugin_name") == "hparams":
        plugin = fields(out.pop("plugin_content"))
        if 3 in plugin:  # session_start_info.hparams is a map: entries in any order
            plugin[3] = [sorted(fields(plugin[3][0])[1])]
        out["plugin"] = plugin
    return out


def _decoded(logdir: str) -> dict[str, list]:
    return {
        run: [
            (e["step"], e.get("file_version"), e.get("session_log_status"))
            + tuple(_normalise(v) for v in e.get("values", []))
            for e in events
        ]
        for run, events in read_runs(logdir).items()
    }


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[str, str]:
    theirs = str(tmp_path_factory.mktemp("torch"))
    ours = str(tmp_path_factory.mktemp("tinyconv"))
    _script(TorchWriter, torch.tensor, theirs)
    _script(tc_tb.SummaryWriter, tinyconv.tensor, ours)
    return theirs, ours


def test_same_runs_and_file_names(both):
    theirs, ours = both

    def names(logdir: str) -> list[tuple[str, str]]:
        # the seconds and the process-wide counter in the name differ from run to run
        return [
            (
                os.path.relpath(os.path.dirname(p), logdir),
                re.sub(
                    r"tfevents\.\d+\.(.+)\.\d+(\.x)?$", r"tfevents.T.\1.N\2", os.path.basename(p)
                ),
            )
            for p in event_files(logdir)
        ]

    assert names(ours) == names(theirs)
    # the run, two add_scalars runs and the hparams run (whose file has no suffix)
    assert [n for _, n in names(ours)] == [
        f"events.out.tfevents.T.{socket.gethostname()}.{os.getpid()}.N.x"
    ] * 3 + [f"events.out.tfevents.T.{socket.gethostname()}.{os.getpid()}.N"]


def test_same_embedding_projector_files(both):
    theirs, ours = both

    def files(logdir: str) -> dict[str, Any]:
        found = {}
        for root, _dirs, names in os.walk(logdir):
            for name in names:
                path = os.path.join(root, name)
                if name.startswith("events.out"):
                    continue
                with open(path, "rb") as f:
                    blob = f.read()
                found[os.path.relpath(path, logdir)] = blob
        return found

    expected, got = files(theirs), files(ours)
    assert sorted(got) == sorted(expected)
    assert len(expected) == 8  # the config, 3 tensors, 2 metadata, 2 sprites
    for name, blob in expected.items():
        if name.endswith(".png"):
            np.testing.assert_array_equal(decode_png(got[name]), decode_png(blob), name)
        else:
            assert got[name].decode() == blob.decode(), name


def test_same_events_values_and_pixels(both):
    theirs, ours = both
    expected, got = _decoded(theirs), _decoded(ours)
    assert sorted(got) == sorted(expected)
    for run in expected:
        assert len(got[run]) == len(expected[run]), run
        for e_got, e_exp in zip(got[run], expected[run], strict=True):
            assert e_got[:3] == e_exp[:3], run
            for v_got, v_exp in zip(e_got[3:], e_exp[3:], strict=True):
                h_got, h_exp = v_got.pop("histo", None), v_exp.pop("histo", None)
                i_got, i_exp = v_got.pop("image", None), v_exp.pop("image", None)
                assert v_got == v_exp, (run, v_exp.get("tag"))
                if h_exp is not None:
                    for key in ("sum", "sum_squares"):  # summation order may differ
                        assert h_got.pop(key) == pytest.approx(h_exp.pop(key), rel=1e-12)
                    assert h_got == h_exp, v_exp["tag"]
                assert (i_got is None) == (i_exp is None)
                if i_exp is not None:
                    pixels = i_exp.pop("pixels")
                    np.testing.assert_array_equal(i_got.pop("pixels"), pixels, v_exp["tag"])
                    assert i_got == i_exp, v_exp["tag"]
