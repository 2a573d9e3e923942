"""tinyconv.utils.tensorboard.SummaryWriter: the event files read back with an independent
reader (tests/tb_reader.py: framing, both CRCs, protobuf, PNG), and with TensorBoard's own
EventAccumulator when the `tensorboard` package is installed."""

from __future__ import annotations

import io
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np
import pytest
from hypothesis import given
from strategies import image_batches
from tb_reader import (
    crc32c,
    decode_event,
    decode_png,
    event_files,
    fields,
    read_records,
    read_runs,
    summaries,
)

import tinyconv
from tinyconv.utils.tensorboard import SummaryWriter, _proto, _summary


def _values(logdir: str, run: str = ".") -> list[tuple[int, dict]]:
    return summaries(read_runs(str(logdir))[run])


# --- bytes -----------------------------------------------------------------------------


def test_crc32c_matches_the_standard_check_value_and_the_bitwise_reader():
    # 0xE3069283 is CRC-32C's published check value for b"123456789"
    assert _proto.crc32c(b"123456789") == 0xE3069283
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 100):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert _proto.crc32c(data) == crc32c(data)


def test_varints_of_large_and_negative_ints_read_back():
    for value in (0, 1, 127, 128, 300, 2**35 + 5, 2**63 - 1, -1, -(2**40)):
        data = _proto.field_varint(2, value)
        (raw,) = fields(data)[2]
        assert (raw - (1 << 64) if raw >= 1 << 63 else raw) == value


def test_a_damaged_file_is_caught_by_the_checksums(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("loss", 1.0, 1)
    (path,) = event_files(str(tmp_path))
    blob = bytearray(open(path, "rb").read())
    blob[-6] ^= 1  # inside the last record's data
    open(path, "wb").write(bytes(blob))
    with pytest.raises(AssertionError, match="bad data CRC"):
        read_records(path)


# --- files and folders -----------------------------------------------------------------


def test_file_name_first_event_and_suffix(tmp_path):
    w = SummaryWriter(str(tmp_path / "run"), filename_suffix=".v1")
    assert w.get_logdir() == str(tmp_path / "run")
    (path,) = event_files(str(tmp_path))  # created at construction, as PyTorch's
    name = os.path.basename(path)
    host = re.escape(socket.gethostname())
    assert re.fullmatch(rf"events\.out\.tfevents\.\d{{10}}\.{host}\.{os.getpid()}\.\d+\.v1", name)
    w.close()
    (first,) = read_runs(str(tmp_path / "run"))["."]
    assert first["file_version"] == "brain.Event:2" and first["step"] == 0


def test_default_log_dir_is_runs_date_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as w:
        logdir = w.get_logdir()
    host = re.escape(socket.gethostname())
    assert re.fullmatch(rf"runs[/\\][A-Z][a-z]{{2}}\d\d_\d\d-\d\d-\d\d_{host}_lr0\.1", logdir)
    assert len(event_files(str(tmp_path / logdir))) == 1


def test_events_reach_the_disk_every_max_queue_events_and_on_flush(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=3)
    (path,) = event_files(str(tmp_path))

    def steps() -> list[int]:
        return [e["step"] for e in map(decode_event, read_records(path))][1:]

    w.add_scalar("a", 1.0, 1)
    w.add_scalar("a", 1.0, 2)
    assert steps() == []  # buffered
    w.add_scalar("a", 1.0, 3)
    assert steps() == [1, 2, 3]
    w.add_scalar("a", 1.0, 4)
    w.flush()
    assert steps() == [1, 2, 3, 4]
    w.close()


def test_a_background_thread_flushes_every_flush_secs(tmp_path):
    w = SummaryWriter(str(tmp_path), max_queue=1000, flush_secs=0.05)
    (path,) = event_files(str(tmp_path))
    w.add_scalar("a", 1.0, 1)
    deadline = time.monotonic() + 30  # generous: the machine may be busy
    while len(read_records(path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [decode_event(r)["step"] for r in read_records(path)] == [0, 1]
    file_writer = w.file_writer
    w.close()
    assert not file_writer._flusher.is_alive()  # close() stops the thread


def test_a_script_that_never_closes_keeps_its_events(tmp_path):
    script = (
        "from tinyconv.utils.tensorboard import SummaryWriter\n"
        f"w = SummaryWriter({str(tmp_path)!r})\n"
        "for i in range(3):\n"
        "    w.add_scalar('a', float(i), i)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120)
    assert [(s, v["simple_value"]) for s, v in _values(tmp_path)] == [(0, 0.0), (1, 1.0), (2, 2.0)]


def test_close_then_add_opens_a_new_file_and_context_manager_closes(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("a", 1.0, 1)
    assert w.file_writer is None
    w.add_scalar("a", 2.0, 2)
    w.close()
    assert len(event_files(str(tmp_path))) == 2
    assert [(s, v["simple_value"]) for s, v in _values(tmp_path)] == [(1, 1.0), (2, 2.0)]


def test_purge_step_writes_the_restart_markers(tmp_path):
    with SummaryWriter(str(tmp_path), purge_step=7) as w:
        w.add_scalar("a", 1.0, 7)
    events = read_runs(str(tmp_path))["."]
    assert events[1] == {**events[1], "step": 7, "file_version": "brain.Event:2"}
    assert events[2]["step"] == 7 and events[2]["session_log_status"] == 1  # START
    assert [e["step"] for e in events[3:]] == [7]


# --- scalars ----------------------------------------------------------------------------


def test_scalars_from_numbers_tensors_and_arrays_with_steps_tags_and_walltime(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("loss", 0.1, 0)
        w.add_scalar("loss", tinyconv.tensor(0.25), 1)
        w.add_scalar("loss", tinyconv.tensor([3.0], requires_grad=True) * 2, 2)
        w.add_scalar("acc", np.float64(0.75), global_step=10, walltime=123.5)
        w.add_scalar("acc", np.array([[1]]), tinyconv.tensor(11))
        w.add_scalar("big step", 5, 2**40)
    got = [(s, v["tag"], v["simple_value"]) for s, v in _values(tmp_path)]
    assert got == [
        (0, "loss", np.float32(0.1)),  # stored as float32, as in PyTorch
        (1, "loss", 0.25),
        (2, "loss", 6.0),
        (10, "acc", 0.75),
        (11, "acc", 1.0),
        (2**40, "big step", 5.0),
    ]
    walltimes = [e["wall_time"] for e in read_runs(str(tmp_path))["."] if "values" in e]
    assert walltimes[3] == 123.5


def test_new_style_scalars_are_tensors_of_the_scalars_plugin(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("f", 0.1, 1, new_style=True)
        w.add_scalar("d", 0.1, 2, new_style=True, double_precision=True)
    (_, f), (_, d) = _values(tmp_path)
    assert f["plugin_name"] == d["plugin_name"] == "scalars"
    assert f["tensor"]["dtype"] == 1 and f["tensor"]["float_val"] == [np.float32(0.1)]
    assert d["tensor"]["dtype"] == 2 and d["tensor"]["double_val"] == [0.1]
    assert "simple_value" not in f


def test_add_scalars_writes_one_run_per_curve(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(3):
            w.add_scalars("loss/all", {"train": step, "val": step + 0.5}, step)
    runs = read_runs(str(tmp_path))
    assert sorted(runs) == [".", "loss_all_train", "loss_all_val"]
    assert summaries(runs["."]) == []
    train = [(s, v["tag"], v["simple_value"]) for s, v in summaries(runs["loss_all_train"])]
    assert train == [(0, "loss/all", 0.0), (1, "loss/all", 1.0), (2, "loss/all", 2.0)]
    val = [v["simple_value"] for _, v in summaries(runs["loss_all_val"])]
    assert val == [0.5, 1.5, 2.5]


# --- histograms -------------------------------------------------------------------------


def test_default_bins_are_symmetric_exponential_buckets():
    bins = np.array(_summary.default_bins())
    assert bins.size == 1549 and bins[774] == 0 and np.array_equal(bins[:774], -bins[:774:-1])
    positive = bins[775:]
    assert positive[0] == 1e-12 and positive[-1] < 1e20 <= positive[-1] * 1.1
    np.testing.assert_allclose(positive[1:] / positive[:-1], 1.1, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_histogram_counts_every_value_in_its_bucket(tmp_path, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 10.0 ** rng.integers(-3, 4), size=int(rng.integers(1, 500)))
    values[: values.size // 4] = 0.0  # zeros sit on an edge
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("w", tinyconv.tensor(values, dtype=tinyconv.float64), 3)
    ((step, v),) = _values(tmp_path)
    h = v["histo"]
    assert step == 3 and v["tag"] == "w"
    assert (h["min"], h["max"], h["num"]) == (values.min(), values.max(), values.size)
    assert h["sum"] == pytest.approx(values.sum(), rel=1e-12, abs=1e-12)
    assert h["sum_squares"] == pytest.approx((values**2).sum(), rel=1e-12)
    limits, counts = np.array(h["bucket_limit"]), np.array(h["bucket"])
    assert counts[0] == 0 and counts[1] > 0 and counts[-1] > 0  # trimmed to the data
    assert np.isin(limits, _summary.default_bins()).all()
    # bucket i (i >= 1) holds the values in [limit[i-1], limit[i]) (NumPy's binning)
    expected = [
        np.sum((values >= lo) & (values < hi))
        for lo, hi in zip(limits[:-1], limits[1:], strict=True)
    ]
    assert counts[1:].tolist() == expected and counts.sum() == values.size


def test_histogram_with_int_bins_and_max_bins(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("a", np.arange(10), 1, bins=4)
        w.add_histogram("b", np.arange(20.0), 2, bins=10, max_bins=3)
        w.add_histogram("c", np.arange(20.0), 3, bins=10, max_bins=5)
    (_, a), (_, b), (_, c) = _values(tmp_path)
    # np.histogram's edges, a leading empty bucket; max_bins sums runs of
    # len // max_bins buckets (the last run padded with empty ones)
    assert a["histo"]["bucket_limit"] == [0.0, 2.25, 4.5, 6.75, 9.0]
    assert a["histo"]["bucket"] == [0.0, 3.0, 2.0, 2.0, 3.0]
    edges = np.histogram_bin_edges(np.arange(20.0), 10)
    assert b["histo"]["bucket_limit"] == [*edges[[0, 3, 6, 9]], edges[10]]
    assert b["histo"]["bucket"] == [0.0, 6.0, 6.0, 6.0, 2.0]
    assert c["histo"]["bucket_limit"] == list(edges[::2])
    assert c["histo"]["bucket"] == [0.0, 4.0, 4.0, 4.0, 4.0, 4.0]


def test_histogram_raw_is_written_as_given(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram_raw("r", 0.0, 3.0, 4, 6.0, 14.0, [1.0, 2.0, 3.0], [1, 1, 2], 5)
    ((step, v),) = _values(tmp_path)
    assert step == 5 and v["histo"] == {
        "min": 0.0,
        "max": 3.0,
        "num": 4.0,
        "sum": 6.0,
        "sum_squares": 14.0,
        "bucket_limit": [1.0, 2.0, 3.0],
        "bucket": [1.0, 1.0, 2.0],
    }


# --- images -----------------------------------------------------------------------------


def _pixels(x: np.ndarray) -> np.ndarray:
    # float32 times 255, clipped and truncated, as PyTorch's writer
    return (x.astype(np.float32) * np.float32(255)).clip(0, 255).astype(np.uint8)


def test_images_in_every_layout_decode_to_the_scaled_pixels(tmp_path):
    rng = np.random.default_rng(0)
    chw = rng.random((3, 5, 7)) * 1.2 - 0.1  # some values outside [0, 1]: clipped
    rgba = rng.random((4, 2, 3)).astype(np.float32)
    gray_u8 = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("chw", tinyconv.tensor(chw), 1)
        w.add_image("hwc", chw.transpose(1, 2, 0), 2, dataformats="HWC")
        w.add_image("hw", gray_u8, 3, dataformats="HW")
        w.add_image("c1", chw[:1], 4)
        w.add_image("rgba", rgba, 5)
    imgs = {v["tag"]: (s, v["image"]) for s, v in _values(tmp_path)}
    expected = _pixels(chw.transpose(1, 2, 0))
    for tag, step in (("chw", 1), ("hwc", 2)):
        assert imgs[tag][0] == step
        img = imgs[tag][1]
        assert (img["height"], img["width"], img["colorspace"]) == (5, 7, 3)
        np.testing.assert_array_equal(img["pixels"], expected)
    np.testing.assert_array_equal(imgs["hw"][1]["pixels"], np.stack([gray_u8] * 3, axis=2))
    np.testing.assert_array_equal(imgs["c1"][1]["pixels"], np.repeat(expected[..., :1], 3, 2))
    assert imgs["rgba"][1]["colorspace"] == 4
    np.testing.assert_array_equal(imgs["rgba"][1]["pixels"], _pixels(rgba.transpose(1, 2, 0)))


def test_add_images_tiles_a_grid_of_eight_a_row(tmp_path):
    n, h, w_ = 10, 2, 3
    batch = np.arange(n)[:, None, None, None] * np.ones((n, 3, h, w_)) / 10
    with SummaryWriter(str(tmp_path)) as w:
        w.add_images("grid", batch, 1)
        w.add_images("nhwc", batch.transpose(0, 2, 3, 1), 2, dataformats="NHWC")
    (_, grid), (_, nhwc) = _values(tmp_path)
    img = grid["image"]
    assert (img["height"], img["width"]) == (2 * h, 8 * w_)
    expected = np.zeros((2 * h, 8 * w_, 3), np.uint8)
    for i in range(n):
        r, c = divmod(i, 8)
        expected[r * h : (r + 1) * h, c * w_ : (c + 1) * w_] = _pixels(np.float64(i / 10))
    np.testing.assert_array_equal(img["pixels"], expected)
    np.testing.assert_array_equal(nhwc["image"]["pixels"], expected)


@given(image_batches())
def test_any_batch_decodes_to_its_grid(batch_and_format):
    batch, fmt = batch_and_format
    nchw = batch if fmt == "NCHW" else batch.transpose(0, 3, 1, 2)
    n, c, h, w_ = nchw.shape
    pixels = nchw if nchw.dtype == np.uint8 else _pixels(nchw)
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    cols = min(n, 8)
    expected = np.zeros((-(-n // cols) * h, cols * w_, pixels.shape[1]), np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        expected[r * h : (r + 1) * h, col * w_ : (col + 1) * w_] = pixels[i].transpose(1, 2, 0)
    with tempfile.TemporaryDirectory() as logdir:
        with SummaryWriter(logdir) as w:
            w.add_images("b", batch, 0, dataformats=fmt)
        ((_, v),) = _values(logdir)
    img = v["image"]
    assert (img["height"], img["width"], img["colorspace"]) == expected.shape
    np.testing.assert_array_equal(img["pixels"], expected)


def test_add_figure_renders_matplotlib_pixels(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=20)
    fig.patch.set_facecolor((1.0, 0.0, 0.0))
    with SummaryWriter(str(tmp_path)) as w:
        w.add_figure("fig", fig, 1)
    ((_, v),) = _values(tmp_path)
    img = v["image"]
    assert (img["height"], img["width"], img["colorspace"]) == (20, 40, 4)
    assert (img["pixels"][0, 0] == [255, 0, 0, 255]).all()
    assert not plt.fignum_exists(fig.number)  # close=True closed it


# --- text and hparams -------------------------------------------------------------------


def test_text_is_a_string_tensor_of_the_text_plugin(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_text("notes", "**lr** = 0.1, ü", 4)
    ((step, v),) = _values(tmp_path)
    assert step == 4 and v["tag"] == "notes/text_summary" and v["plugin_name"] == "text"
    assert v["tensor"]["dtype"] == 7 and v["tensor"]["shape"] == [1]
    assert v["tensor"]["string_val"] == ["**lr** = 0.1, ü"]


def _hparams_content(value: dict) -> dict[int, list]:
    assert value["plugin_name"] == "hparams"
    return fields(value["plugin_content"])


def test_hparams_write_a_run_with_experiment_session_and_metrics(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_hparams(
            {"lr": 0.1, "bs": 32, "opt": "adam", "skip": None},
            {"hp/acc": 0.9},
            hparam_domain_discrete={"opt": ["adam", "sgd"]},
            run_name="trial1",
            global_step=3,
        )
    runs = read_runs(str(tmp_path))
    assert sorted(runs) == [".", "trial1"]
    exp, start, end, metric = summaries(runs["trial1"])
    assert [s for s, _ in (exp, start, end, metric)] == [3, 3, 3, 3]
    assert metric[1]["tag"] == "hp/acc" and metric[1]["simple_value"] == np.float32(0.9)
    experiment = fields(_hparams_content(exp[1])[2][0])
    infos = [fields(i) for i in experiment[4]]
    assert [(i[1][0], i[4][0]) for i in infos] == [(b"lr", 3), (b"bs", 3), (b"opt", 1)]
    domain = [fields(v)[3][0] for v in fields(infos[2][5][0])[1]]
    assert domain == [b"adam", b"sgd"]
    (metric_info,) = experiment[5]
    assert fields(fields(metric_info)[1][0])[2] == [b"hp/acc"]
    starts = {}
    for entry in fields(_hparams_content(start[1])[3][0])[1]:
        e = fields(entry)
        value = fields(e[2][0])
        starts[e[1][0]] = struct.unpack("<d", value[2][0])[0] if 2 in value else value[3][0]
    assert starts == {b"lr": 0.1, b"bs": 32.0, b"opt": b"adam"}
    assert fields(_hparams_content(end[1])[4][0]) == {1: [1]}  # STATUS_SUCCESS


@pytest.mark.parametrize("weighted", [False, True])
def test_pr_curve_counts_each_threshold(tmp_path, weighted):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 60).astype(bool)
    scores = rng.random(60)
    scores[:3] = [0.0, 1.0, 0.5]  # on thresholds
    weights = rng.random(60) if weighted else np.ones(60)
    n = 11
    with SummaryWriter(str(tmp_path)) as w:
        w.add_pr_curve("pr", tinyconv.tensor(labels), scores, 2, n, weights if weighted else None)
    ((step, v),) = _values(tmp_path)
    assert step == 2 and v["plugin_name"] == "pr_curves"
    assert fields(v["plugin_content"]) == {2: [n]}  # PrCurvePluginData.num_thresholds
    assert v["tensor"]["dtype"] == 1 and v["tensor"]["shape"] == [6, n]
    got = np.array(v["tensor"]["float_val"]).reshape(6, n)
    # threshold i counts the predictions p with floor(p * (n - 1)) >= i as positive
    rows = []
    for i in range(n):
        above = np.floor(scores * (n - 1)) >= i
        tp, fp = weights[above & labels].sum(), weights[above & ~labels].sum()
        fn, tn = weights[~above & labels].sum(), weights[~above & ~labels].sum()
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        rows.append([tp, fp, tn, fn, precision, tp / (tp + fn)])
    np.testing.assert_allclose(got, np.array(rows).T.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_embedding_writes_the_projector_files(tmp_path):
    rng = np.random.default_rng(0)
    mat = rng.random((5, 3))
    images = rng.random((5, 1, 2, 2))
    with SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(tinyconv.tensor(mat), ["a", "b", "c", "d", "e"], images, 7, "feat/x")
        w.add_embedding(np.eye(2, dtype=np.int64), [[0, "p"], [1, "q"]], None, 8, "ids", ["n", "l"])
        with pytest.warns(UserWarning, match="is overwritten"):
            w.add_embedding(np.eye(2), global_step=8, tag="ids")
    folder = tmp_path / "00007" / "feat%2fx"
    rows = [line.split("\t") for line in (folder / "tensors.tsv").read_text().splitlines()]
    np.testing.assert_array_equal(np.array(rows, dtype=np.float64), mat)  # repr: exact
    assert (folder / "metadata.tsv").read_text() == "a\nb\nc\nd\ne\n"
    sprite = decode_png((folder / "sprite.png").read_bytes())
    assert sprite.shape == (6, 6, 3)  # 3 columns of 2x2 images, a square canvas
    expected = np.zeros((6, 6), np.uint8)
    for i in range(5):
        r, c = divmod(i, 3)
        expected[2 * r : 2 * r + 2, 2 * c : 2 * c + 2] = (images[i, 0] * 255).astype(np.uint8)
    np.testing.assert_array_equal(sprite, np.stack([expected] * 3, axis=2))
    assert (tmp_path / "00008" / "ids" / "metadata.tsv").read_text() == "n\tl\n0\tp\n1\tq\n"
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert config.count("embeddings {") == 3
    assert config.startswith(
        'embeddings {\n  tensor_name: "feat/x:00007"\n'
        '  metadata_path: "00007/feat%2fx/metadata.tsv"\n  sprite {\n'
        '    image_path: "00007/feat%2fx/sprite.png"\n    single_image_dim: 2\n'
        '    single_image_dim: 2\n  }\n  tensor_path: "00007/feat%2fx/tensors.tsv"\n}\n'
    )


def test_audio_is_a_16_bit_wav(tmp_path):
    sound = np.array([0.0, 0.5, -0.25, 1.0, -1.5, 2.0], np.float32)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_audio("snd", tinyconv.tensor(sound).reshape(1, -1), 3, sample_rate=8000)
    ((step, v),) = _values(tmp_path)
    a = v["audio"]
    assert step == 3 and a["sample_rate"] == 8000 and a["num_channels"] == 1
    assert a["length_frames"] == 6 and a["content_type"] == "audio/wav"
    with wave.open(io.BytesIO(a["wav"])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        samples = np.frombuffer(wav.readframes(6), "<i2")
    # amplitude times 32767, truncated; outside [-1, 1] clipped
    assert samples.tolist() == [0, 16383, -8191, 32767, -32767, 32767]


def test_tensors_keep_dtype_shape_and_values(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_tensor("f", tinyconv.tensor([[1.5, 2.0, -3.0]]), 1)
        w.add_tensor("d", np.array([0.1]), 2)
        w.add_tensor("i", np.array([[5], [-(2**40)]]), 3)
        w.add_tensor("b", np.array([True, False, True]), 4)
        w.add_tensor("u", np.array([7, 255], np.uint8), 5)
    (_, f), (_, d), (_, i), (_, b), (_, u) = _values(tmp_path)
    assert {v["plugin_name"] for v in (f, d, i, b, u)} == {"tensor"}
    assert (f["tensor"]["dtype"], f["tensor"]["shape"]) == (1, [1, 3])
    assert f["tensor"]["float_val"] == [1.5, 2.0, -3.0]
    assert (d["tensor"]["dtype"], d["tensor"]["double_val"]) == (2, [0.1])
    assert (i["tensor"]["dtype"], i["tensor"]["shape"]) == (9, [2, 1])
    assert i["tensor"]["int64_val"] == [5, -(2**40)]
    assert (b["tensor"]["dtype"], b["tensor"]["bool_val"]) == (10, [1, 0, 1])
    assert (u["tensor"]["dtype"], u["tensor"]["uint32_val"]) == (4, [7, 255])


def test_custom_scalars_layout(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_custom_scalars(
            {
                "losses": {
                    "both": ["Multiline", ["loss/a", "loss/b"]],
                    "band": ["Margin", ["m", "lo", "hi"]],
                }
            }
        )
    ((_, v),) = _values(tmp_path)
    assert v["tag"] == "custom_scalars__config__" and v["plugin_name"] == "custom_scalars"
    (layout,) = v["tensor"]["string_bytes"]
    (category,) = fields(layout)[2]
    category = fields(category)
    assert category[1] == [b"losses"]
    multiline, margin = (fields(c) for c in category[2])
    assert multiline[1] == [b"both"] and fields(multiline[2][0]) == {1: [b"loss/a", b"loss/b"]}
    assert margin[1] == [b"band"]
    assert fields(fields(margin[3][0])[1][0]) == {1: [b"m"], 2: [b"lo"], 3: [b"hi"]}


def test_mesh_parts_share_one_event(tmp_path):
    vertices = np.arange(12.0).reshape(1, 4, 3)
    faces = np.array([[[0, 1, 2], [1, 2, 3]]])
    with SummaryWriter(str(tmp_path)) as w:
        w.add_mesh("m", tinyconv.tensor(vertices), faces=faces, config_dict={"b": 1, "a": 2})
    (event,) = [e for e in read_runs(str(tmp_path))["."] if "values" in e]
    vert, face = event["values"]
    assert (vert["tag"], face["tag"]) == ("m_VERTEX", "m_FACE")
    assert vert["tensor"]["shape"] == [1, 4, 3] and vert["tensor"]["float_val"] == list(
        vertices.ravel()
    )
    assert face["tensor"]["float_val"] == [0.0, 1.0, 2.0, 1.0, 2.0, 3.0]
    for value, kind, shape in ((vert, 1, [1, 4, 3]), (face, 2, [1, 2, 3])):
        plugin = fields(value["plugin_content"])
        assert value["plugin_name"] == "mesh" and plugin[2] == [b"m"] and plugin[3] == [kind]
        assert plugin[5] == [b'{"a": 2, "b": 1}']  # JSON with sorted keys
        assert list(plugin[6][0]) == shape and plugin[7] == [2 + 4]  # VERTEX and FACE bits


# --- bad input --------------------------------------------------------------------------


def test_bad_input_raises_naming_the_argument(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(ValueError, match="scalar_value must hold one number"):
            w.add_scalar("a", np.zeros(3))
        with pytest.raises(TypeError, match="scalar_value must be a tinyconv Tensor"):
            w.add_scalar("a", "1.0")
        with pytest.raises(ValueError, match="global_step must be one integer"):
            w.add_scalar("a", 1.0, 1.5)
        with pytest.raises(ValueError, match="values has no element"):
            w.add_histogram("h", np.zeros(0))
        with pytest.raises(ValueError, match="dataformats 'CHW' names 3"):
            w.add_image("i", np.zeros((2, 2)))
        with pytest.raises(ValueError, match="dataformats must be letters of NCHW"):
            w.add_image("i", np.zeros((3, 2, 2)), dataformats="XYZ")
        with pytest.raises(ValueError, match="1, 2, 3 or 4 channels, got 5"):
            w.add_image("i", np.zeros((5, 2, 2)))
        with pytest.raises(ValueError, match="img_tensor is empty"):
            w.add_image("i", np.zeros((3, 0, 2)))
        with pytest.raises(TypeError, match="text_string must be a str"):
            w.add_text("t", 3)
        with pytest.raises(ValueError, match="as many elements, got 3, 4 and 4"):
            w.add_pr_curve("pr", np.ones(3), np.ones(4))
        with pytest.raises(ValueError, match="num_thresholds must be an int >= 1"):
            w.add_pr_curve("pr", np.ones(3), np.ones(3), num_thresholds=0)
        with pytest.raises(ValueError, match=r"mat must be 2-D \(N, D\), got shape \(3,\)"):
            w.add_embedding(np.zeros(3))
        with pytest.raises(ValueError, match="metadata has 2 labels but mat has 3 rows"):
            w.add_embedding(np.zeros((3, 2)), metadata=["a", "b"])
        with pytest.raises(ValueError, match="label_img must be"):
            w.add_embedding(np.zeros((3, 2)), label_img=np.zeros((2, 3, 4, 4)))
        with pytest.raises(ValueError, match=r"snd_tensor must be one channel.*\(2, 5\)"):
            w.add_audio("a", np.zeros((2, 5)))
        with pytest.raises(TypeError, match="add_tensor: tensor has dtype float16"):
            w.add_tensor("t", np.zeros(2, np.float16))
        with pytest.raises(ValueError, match="'Multiline' or 'Margin', got 'Bars'"):
            w.add_custom_scalars({"c": {"t": ["Bars", ["a"]]}})
        with pytest.raises(ValueError, match=r"needs \[value, lower, upper\]"):
            w.add_custom_scalars_marginchart(["a", "b"])
        with pytest.raises(ValueError, match=r"faces must have shape \(B, N, 3\), got \(4, 3\)"):
            w.add_mesh("m", np.zeros((1, 4, 3)), faces=np.zeros((4, 3)))
        with pytest.raises(TypeError, match="hparam_dict must be a dict"):
            w.add_hparams([("lr", 0.1)], {})
        with pytest.raises(TypeError, match=r"hparam_domain_discrete\['lr'\]"):
            w.add_hparams({"lr": 0.1}, {}, hparam_domain_discrete={"lr": ["a"]})
        with pytest.raises(NotImplementedError, match="add_graph.*tinyconv.viz.graph"):
            w.add_graph(tinyconv.nn.Linear(2, 2), tinyconv.zeros(1, 2))
        for name in ("add_image_with_boxes", "add_onnx_graph", "add_video"):
            with pytest.raises(NotImplementedError, match=name):
                getattr(w, name)("t", np.zeros(3))
    # nothing was written by the calls that raised
    assert _values(tmp_path) == []


# --- TensorBoard's own reader -----------------------------------------------------------


def test_tensorboard_reads_the_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rng = np.random.default_rng(0)
    img = rng.random((3, 4, 6))
    values = rng.normal(size=200)
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_histogram("w", values, 2)
        w.add_image("img", img, 3)
        w.add_text("note", "hello", 4)
        w.add_scalar("ns", 0.5, 5, new_style=True, double_precision=True)
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    tags = acc.Tags()
    assert tags["scalars"] == ["loss"] and tags["histograms"] == ["w"] and tags["images"] == ["img"]
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [
        (s, float(np.float32(1.0 / (s + 1)))) for s in range(5)
    ]
    (h,) = acc.Histograms("w")
    ours = _values(tmp_path)[5][1]["histo"]
    assert h.step == 2 and h.histogram_value.num == 200
    assert list(h.histogram_value.bucket_limit) == ours["bucket_limit"]
    assert list(h.histogram_value.bucket) == ours["bucket"]
    (im,) = acc.Images("img")
    assert (im.step, im.height, im.width) == (3, 4, 6)
    np.testing.assert_array_equal(
        decode_png(im.encoded_image_string), _pixels(img.transpose(1, 2, 0))
    )
    (text,) = acc.Tensors("note/text_summary")
    assert text.step == 4 and text.tensor_proto.string_val == [b"hello"]
    (ns,) = acc.Tensors("ns")
    assert ns.step == 5 and list(ns.tensor_proto.double_val) == [0.5]
