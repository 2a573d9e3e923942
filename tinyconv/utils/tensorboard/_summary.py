"""The `Summary.Value` messages of TensorBoard's event files, as PyTorch's SummaryWriter
makes them: scalars, histograms, PNG images, text, hparams, PR curves, tensors, audio,
custom-scalar layouts and meshes.

Each builder returns the bytes of one `Summary.Value` (a list of them for meshes; fields:
tag 1, simple_value 2, image 4, histo 5, audio 6, tensor 8, metadata 9). The numbers match
torch.utils.tensorboard's (checked against torch 2.13 in tests/test_tensorboard_torch.py):
the same histogram buckets, the same uint8 pixels; only the PNG bytes differ (another
encoder, same image).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

import numpy as np

from ...tensor import Tensor
from ._proto import (
    field_bytes,
    field_double,
    field_float,
    field_packed_doubles,
    field_string,
    field_varint,
    varint,
)

# TensorFlow DataType enum values used here
DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7


def as_numpy(value: Any, name: str) -> np.ndarray:
    """A Tensor (detached), ndarray, Python number or nested list as an ndarray."""
    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy())
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return np.asarray(value)
    if isinstance(value, (list, tuple)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return arr
    raise TypeError(
        f"{name} must be a tinyconv Tensor, a NumPy array or a Python number, "
        f"got {type(value).__name__}"
    )


def _metadata(plugin_name: str, content: bytes = b"") -> bytes:
    plugin_data = field_string(1, plugin_name) + (field_bytes(2, content) if content else b"")
    return field_bytes(9, field_bytes(1, plugin_data))


def scalar(tag: str, value: Any, new_style: bool = False, double_precision: bool = False) -> bytes:
    """A scalar: old style as `simple_value` (float32), new style as a 0-d tensor with the
    scalars plugin's metadata (float32, or float64 with double_precision)."""
    arr = as_numpy(value, "add_scalar: scalar_value")
    if arr.size != 1:
        raise ValueError(
            f"add_scalar: scalar_value must hold one number, got shape {tuple(arr.shape)}"
        )
    number = float(arr.reshape(()))
    if not new_style:
        return field_string(1, tag) + field_float(2, number)
    if double_precision:
        tensor = field_varint(1, DT_DOUBLE) + field_packed_doubles(6, [number])
    else:
        tensor = field_varint(1, DT_FLOAT) + field_bytes(5, struct.pack("<f", number))
    return field_string(1, tag) + field_bytes(8, tensor) + _metadata("scalars")


def default_bins() -> list[float]:
    """The 'tensorflow' bucket edges: +-1e-12 growing by 10% per bucket up to 1e20, and 0.

    Built by repeated multiplication (not 1.1 ** k), so the edges are the same floats as
    PyTorch's, and so values on an edge fall into the same bucket."""
    positive = []
    edge = 1e-12
    while edge < 1e20:
        positive.append(edge)
        edge *= 1.1
    return [-e for e in reversed(positive)] + [0.0] + positive


def histogram_raw(
    tag: str,
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limits: Any,
    bucket_counts: Any,
) -> bytes:
    """A HistogramProto from its parts: bucket i counts the values in
    (bucket_limits[i-1], bucket_limits[i]]."""
    limits = as_numpy(bucket_limits, "bucket_limits").reshape(-1)
    counts = as_numpy(bucket_counts, "bucket_counts").reshape(-1)
    if limits.shape != counts.shape:
        raise ValueError(
            f"add_histogram_raw: bucket_limits and bucket_counts must have the same length, "
            f"got {limits.size} and {counts.size}"
        )
    histo = (
        field_double(1, min)
        + field_double(2, max)
        + field_double(3, num)
        + field_double(4, sum)
        + field_double(5, sum_squares)
        + field_packed_doubles(6, limits.tolist())
        + field_packed_doubles(7, counts.tolist())
    )
    return field_string(1, tag) + field_bytes(5, histo)


def histogram(
    tag: str, values: Any, bins: Any = "tensorflow", max_bins: int | None = None
) -> bytes:
    """A histogram of `values` (any shape, flattened, as float64) with NumPy's binning
    (`bins` an int, a NumPy estimator name, edges, or 'tensorflow' for the default edges).

    Only the buckets from the first to the last non-empty one are kept, with a leading empty
    bucket whose limit is the left edge (TensorBoard reads a bucket's limit as its right
    edge); max_bins sums neighbouring buckets until at most that many are left."""
    arr = as_numpy(values, "add_histogram: values").astype(np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("add_histogram: values has no element (a histogram needs at least one)")
    if isinstance(bins, str) and bins == "tensorflow":
        bins = default_bins()
    counts, edges = np.histogram(arr, bins=bins)
    if max_bins is not None and counts.size > max_bins:
        group = counts.size // max_bins
        extra = counts.size % group
        if extra:
            counts = np.concatenate([counts, np.zeros(group - extra, counts.dtype)])
        counts = counts.reshape(-1, group).sum(axis=1)
        kept = edges[::group]
        edges = np.concatenate([kept, edges[-1:]]) if extra else kept
    nonzero = np.flatnonzero(counts)
    if nonzero.size == 0:
        raise ValueError(
            "add_histogram: no value of values falls inside the bins "
            f"(values range from {arr.min()} to {arr.max()})"
        )
    first, last = int(nonzero[0]), int(nonzero[-1])
    limits = edges[first : last + 2]
    kept_counts = np.concatenate([[0.0], counts[first : last + 1]])
    return histogram_raw(
        tag,
        arr.min(),
        arr.max(),
        arr.size,
        arr.sum(),
        arr.dot(arr),
        limits,
        kept_counts.astype(np.float64),
    )


def text(tag: str, text_string: str) -> bytes:
    """Text for the text plugin (Markdown): a 1-element string tensor, tag + '/text_summary'."""
    if not isinstance(text_string, str):
        raise TypeError(f"add_text: text_string must be a str, got {type(text_string).__name__}")
    shape = field_bytes(2, field_varint(1, 1))  # TensorShapeProto with one dim of size 1
    tensor = field_varint(1, DT_STRING) + field_bytes(2, shape) + field_string(8, text_string)
    return field_string(1, tag + "/text_summary") + field_bytes(8, tensor) + _metadata("text")


# --- images ---------------------------------------------------------------------------


def _grid(nchw: np.ndarray) -> np.ndarray:
    """N images (N, C, H, W) tiled into one (C, rows*H, cols*W): 8 a row (fewer if N < 8),
    row by row, no padding, empty cells zero (PyTorch's layout)."""
    n, c, h, w = nchw.shape
    if c == 1:
        nchw = np.concatenate([nchw] * 3, axis=1)
        c = 3
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    canvas = np.zeros((c, rows * h, cols * w), dtype=nchw.dtype)
    for i in range(n):
        r, q = divmod(i, cols)
        canvas[:, r * h : (r + 1) * h, q * w : (q + 1) * w] = nchw[i]
    return canvas


def to_hwc(arr: np.ndarray, dataformats: str) -> np.ndarray:
    """An image array in `dataformats` (a permutation of CHW, HWC, HW, or NCHW-like with N)
    as (H, W, C), a single channel repeated to RGB, batches tiled into a grid."""
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt) or not set(fmt) <= set("NCHW") or not {"H", "W"} <= set(fmt):
        raise ValueError(
            f"add_image: dataformats must be letters of NCHW naming H and W once each, "
            f"got {dataformats!r}"
        )
    if arr.ndim != len(fmt):
        raise ValueError(
            f"add_image: img_tensor has {arr.ndim} dimensions (shape {tuple(arr.shape)}) but "
            f"dataformats {dataformats!r} names {len(fmt)}"
        )
    if "N" in fmt:
        if "C" not in fmt:
            raise ValueError(f"add_images: dataformats {dataformats!r} must name C too")
        return _grid(arr.transpose([fmt.index(d) for d in "NCHW"])).transpose(1, 2, 0)
    if "C" not in fmt:
        hw = arr.transpose([fmt.index(d) for d in "HW"])
        return np.stack([hw, hw, hw], axis=2)
    hwc = arr.transpose([fmt.index(d) for d in "HWC"])
    if hwc.shape[2] == 1:
        hwc = np.concatenate([hwc] * 3, axis=2)
    return hwc


def to_uint8(hwc: np.ndarray) -> np.ndarray:
    """uint8 pixels as PyTorch makes them: uint8 kept, anything else (floats in [0, 1])
    times 255 in float32, clipped to [0, 255] and truncated."""
    scale = 1 if hwc.dtype == np.uint8 else 255
    return (hwc.astype(np.float32) * np.float32(scale)).clip(0, 255).astype(np.uint8)


_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray+alpha, RGB, RGBA


def _chunk(kind: bytes, data: bytes) -> bytes:
    # every PNG chunk: length, type, data, CRC-32 (zlib's polynomial) of type and data
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(hwc: np.ndarray) -> bytes:
    """A (H, W, C) uint8 array, C in 1..4, as PNG bytes (8 bits a channel, no interlace,
    filter 0 on every row, zlib-deflated)."""
    h, w, c = hwc.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), hwc.reshape(h, w * c)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOR_TYPE[c], 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(np.ascontiguousarray(rows).tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def image(tag: str, img_tensor: Any, dataformats: str = "CHW") -> bytes:
    """An image (or a grid of images) as a PNG-encoded `Summary.Image`."""
    arr = as_numpy(img_tensor, "add_image: img_tensor")
    hwc = to_hwc(arr, dataformats)
    h, w, c = hwc.shape
    if c not in _PNG_COLOR_TYPE:
        raise ValueError(
            f"add_image: an image needs 1, 2, 3 or 4 channels, got {c} "
            f"(shape {tuple(arr.shape)}, dataformats {dataformats!r})"
        )
    if h == 0 or w == 0:
        raise ValueError(f"add_image: img_tensor is empty (shape {tuple(arr.shape)})")
    png = encode_png(to_uint8(hwc))
    msg = field_varint(1, h) + field_varint(2, w) + field_varint(3, c) + field_bytes(4, png)
    return field_string(1, tag) + field_bytes(4, msg)


# --- hyperparameters (TensorBoard's HPARAMS tab) --------------------------------------

# hparams plugin enums: HParamInfo.type and SessionEndInfo.status
_HP_STRING, _HP_FLOAT64, _HP_STATUS_SUCCESS = 1, 3, 1


def _hp_value(value: Any) -> bytes:
    # google.protobuf.Value: number_value 2 (double) or string_value 3
    if isinstance(value, str):
        return field_string(3, value)
    return field_double(2, value)


def _hp_number(name: str, value: Any) -> float | str:
    """A hyperparameter as what is stored: str as is, numbers (bools as 0/1, one-element
    Tensors and arrays) as float64."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float, np.number)):
        return float(value)
    if isinstance(value, (Tensor, np.ndarray)):
        arr = as_numpy(value, f"add_hparams: hparam_dict[{name!r}]")
        if arr.size == 1:
            return float(arr.reshape(()))
        raise ValueError(
            f"add_hparams: hparam_dict[{name!r}] must hold one number, got shape {tuple(arr.shape)}"
        )
    raise ValueError(
        f"add_hparams: hparam_dict[{name!r}] must be an int, float, str, bool or one-element "
        f"Tensor, got {type(value).__name__}"
    )


def hparams(
    hparam_dict: dict[str, Any],
    metric_dict: dict[str, Any],
    hparam_domain_discrete: dict[str, list[Any]] | None = None,
) -> tuple[bytes, bytes, bytes]:
    """The three values the hparams plugin reads from a run: the experiment (which
    hyperparameters and metrics exist), the session start (this run's values) and the
    session end, each a tensor-less Summary.Value whose metadata carries HParamsPluginData
    (experiment 2, session_start_info 3, session_end_info 4)."""
    if not isinstance(hparam_dict, dict):
        raise TypeError(
            f"add_hparams: hparam_dict must be a dict, got {type(hparam_dict).__name__}"
        )
    if not isinstance(metric_dict, dict):
        raise TypeError(
            f"add_hparams: metric_dict must be a dict, got {type(metric_dict).__name__}"
        )
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError(
            f"add_hparams: hparam_domain_discrete must be a dict, got {type(domains).__name__}"
        )
    for name, domain in domains.items():
        if (
            name not in hparam_dict
            or not isinstance(domain, list)
            or not all(isinstance(d, type(hparam_dict[name])) for d in domain)
        ):
            raise TypeError(
                f"add_hparams: hparam_domain_discrete[{name!r}] must be a list of values of the "
                f"type of hparam_dict[{name!r}] (a key of hparam_dict), got {domain!r}"
            )
    infos = b""
    starts = b""
    for name, value in hparam_dict.items():
        if value is None:
            continue  # PyTorch skips a hyperparameter without a value
        stored = _hp_number(name, value)
        info = field_string(1, name) + field_varint(
            4, _HP_STRING if isinstance(stored, str) else _HP_FLOAT64
        )
        if name in domains:
            listed = b"".join(field_bytes(1, _hp_value(d)) for d in domains[name])
            info += field_bytes(5, listed)
        infos += field_bytes(4, info)
        # SessionStartInfo.hparams is a map<string, Value>: entries of key 1 and value 2
        starts += field_bytes(1, field_string(1, name) + field_bytes(2, _hp_value(stored)))
    for metric in metric_dict:
        infos += field_bytes(5, field_bytes(1, field_string(2, metric)))  # MetricInfo.name.tag

    def value(tag: str, plugin_field: int, message: bytes) -> bytes:
        return field_string(1, tag) + _metadata("hparams", field_bytes(plugin_field, message))

    return (
        value("_hparams_/experiment", 2, infos),
        value("_hparams_/session_start_info", 3, starts),
        value("_hparams_/session_end_info", 4, field_varint(1, _HP_STATUS_SUCCESS)),
    )


# --- precision-recall curves ----------------------------------------------------------


def pr_curve_raw(
    tag: str,
    true_positive_counts: Any,
    false_positive_counts: Any,
    true_negative_counts: Any,
    false_negative_counts: Any,
    precision: Any,
    recall: Any,
    num_thresholds: int = 127,
) -> bytes:
    """A PR curve from its six rows (one entry per threshold): a float32 tensor (6, T) with
    the pr_curves plugin's metadata (PrCurvePluginData: num_thresholds 2, at most 127)."""
    rows = [
        as_numpy(r, f"add_pr_curve: {name}").astype(np.float64).reshape(-1)
        for name, r in (
            ("true_positive_counts", true_positive_counts),
            ("false_positive_counts", false_positive_counts),
            ("true_negative_counts", true_negative_counts),
            ("false_negative_counts", false_negative_counts),
            ("precision", precision),
            ("recall", recall),
        )
    ]
    if len({r.size for r in rows}) != 1:
        raise ValueError(
            f"add_pr_curve_raw: the six rows must have one length, got {[r.size for r in rows]}"
        )
    data = np.stack(rows)
    shape = field_bytes(2, field_varint(1, 6)) + field_bytes(2, field_varint(1, data.shape[1]))
    tensor = (
        field_varint(1, DT_FLOAT)
        + field_bytes(2, shape)
        + field_bytes(5, data.astype("<f4").tobytes())
    )
    content = field_varint(2, min(int(num_thresholds), 127))  # version 0 is left out
    return field_string(1, tag) + field_bytes(8, tensor) + _metadata("pr_curves", content)


def pr_curve(
    tag: str,
    labels: Any,
    predictions: Any,
    num_thresholds: int = 127,
    weights: Any = None,
) -> bytes:
    """The precision-recall curve of `predictions` (probabilities in [0, 1]) against
    `labels` (0/1 or bools) at num_thresholds (at most 127) evenly spaced thresholds.

    A prediction p lands in bucket floor(p * (T - 1)) (out-of-range ones are dropped);
    true and false positives at threshold i are the (weighted) positives and negatives in
    buckets >= i."""
    if not isinstance(num_thresholds, int) or num_thresholds < 1:
        raise ValueError(
            f"add_pr_curve: num_thresholds must be an int >= 1, got {num_thresholds!r}"
        )
    n = min(num_thresholds, 127)
    truth = as_numpy(labels, "add_pr_curve: labels").astype(np.float64).reshape(-1)
    scores = as_numpy(predictions, "add_pr_curve: predictions").astype(np.float64).reshape(-1)
    w = np.ones_like(scores) if weights is None else as_numpy(weights, "add_pr_curve: weights")
    w = np.asarray(w, np.float64).reshape(-1)
    if not truth.size == scores.size == w.size:
        raise ValueError(
            f"add_pr_curve: labels, predictions and weights must have as many elements, got "
            f"{truth.size}, {scores.size} and {w.size}"
        )
    bucket = np.floor(scores * (n - 1))
    inside = (bucket >= 0) & (bucket <= n - 1)  # NaN is outside too
    index = bucket[inside].astype(np.int64)
    tp = np.bincount(index, weights=(truth * w)[inside], minlength=n)
    fp = np.bincount(index, weights=((1.0 - truth) * w)[inside], minlength=n)
    tp = np.cumsum(tp[::-1])[::-1]
    fp = np.cumsum(fp[::-1])[::-1]
    tn = fp[0] - fp
    fn = tp[0] - tp
    # 1e-7 keeps 0 / 0 (no prediction above the threshold) at 0
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return pr_curve_raw(tag, tp, fp, tn, fn, precision, recall, n)


# --- raw tensors, audio and custom-scalar layouts -------------------------------------

# NumPy dtype -> (TensorFlow DataType, TensorProto field, how the values are packed)
_TENSOR_FIELDS = {
    np.dtype(np.float32): (DT_FLOAT, 5, "f"),
    np.dtype(np.float64): (DT_DOUBLE, 6, "d"),
    np.dtype(np.int32): (3, 7, "varint"),  # DT_INT32, int_val
    np.dtype(np.int16): (5, 7, "varint"),  # DT_INT16, int_val
    np.dtype(np.int8): (6, 7, "varint"),  # DT_INT8, int_val
    np.dtype(np.uint8): (4, 16, "varint"),  # DT_UINT8, uint32_val
    np.dtype(np.int64): (9, 10, "varint"),  # DT_INT64, int64_val
    np.dtype(np.bool_): (10, 11, "varint"),  # DT_BOOL, bool_val
}


def _shape(shape: tuple[int, ...]) -> bytes:
    # TensorShapeProto: one Dim (size 1) per dimension; a 0-d tensor has none
    return b"".join(field_bytes(2, field_varint(1, d)) for d in shape)


def tensor(tag: str, value: Any) -> bytes:
    """A tensor as a TensorProto of its dtype (flattened values, the shape beside them)
    with the `tensor` plugin's metadata."""
    arr = as_numpy(value, "add_tensor: tensor")
    if arr.dtype not in _TENSOR_FIELDS:
        raise TypeError(
            f"add_tensor: tensor has dtype {arr.dtype}; supported: float32, float64, int8, "
            "int16, int32, int64, uint8, bool"
        )
    dtype, number, packing = _TENSOR_FIELDS[arr.dtype]
    flat = arr.reshape(-1)
    if packing == "varint":
        packed = b"".join(varint(int(v)) for v in flat.tolist())
    else:
        packed = flat.astype("<" + packing).tobytes()
    proto = field_varint(1, dtype) + field_bytes(2, _shape(arr.shape))
    if flat.size:
        proto += field_bytes(number, packed)
    return field_string(1, tag) + field_bytes(8, proto) + _metadata("tensor")


def _wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """Mono 16-bit PCM WAV bytes."""
    data = samples.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def audio(tag: str, snd_tensor: Any, sample_rate: int = 44100) -> bytes:
    """Mono sound, shape (1, L) or (L,), amplitudes in [-1, 1] (clipped), as a WAV of
    16-bit samples (amplitude times 32767, truncated)."""
    arr = as_numpy(snd_tensor, "add_audio: snd_tensor").squeeze()
    if arr.ndim != 1:
        raise ValueError(
            f"add_audio: snd_tensor must be one channel, (1, L) or (L,), got shape "
            f"{tuple(np.shape(snd_tensor))}"
        )
    samples = (arr.clip(-1, 1) * np.iinfo(np.int16).max).astype(np.int16)
    msg = (
        field_float(1, sample_rate)
        + field_varint(2, 1)
        + field_varint(3, arr.size)
        + field_bytes(4, _wav(samples, int(sample_rate)))
        + field_string(5, "audio/wav")
    )
    return field_string(1, tag) + field_bytes(6, msg)


def custom_scalars(layout: dict[str, dict[str, list[Any]]]) -> bytes:
    """The layout of the custom-scalars dashboard: {category: {chart title:
    ['Multiline', [tags]] or ['Margin', [value, lower, upper]]}}, as a Layout message
    (category 2) in a string tensor under the tag custom_scalars__config__."""
    categories = b""
    for category, charts in layout.items():
        body = field_string(1, category)
        for title, (kind, tags) in charts.items():
            if kind == "Multiline":
                content = field_bytes(2, b"".join(field_string(1, t) for t in tags))
            elif kind == "Margin":
                if len(tags) != 3:
                    raise ValueError(
                        f"add_custom_scalars: a Margin chart needs [value, lower, upper] tags, "
                        f"got {tags!r} for {title!r}"
                    )
                series = b"".join(field_string(i + 1, t) for i, t in enumerate(tags))
                content = field_bytes(3, field_bytes(1, series))
            else:
                raise ValueError(
                    f"add_custom_scalars: chart {title!r} must be 'Multiline' or 'Margin', "
                    f"got {kind!r}"
                )
            body += field_bytes(2, field_string(1, title) + content)
        categories += field_bytes(2, body)
    proto = field_varint(1, DT_STRING) + field_bytes(2, b"") + field_bytes(8, categories)
    return (
        field_string(1, "custom_scalars__config__")
        + field_bytes(8, proto)
        + _metadata("custom_scalars")
    )


# --- meshes ---------------------------------------------------------------------------

_MESH_PARTS = (("VERTEX", 1), ("FACE", 2), ("COLOR", 3))  # MeshPluginData.ContentType
_MESH_ARGUMENT = {"VERTEX": "vertices", "FACE": "faces", "COLOR": "colors"}


def mesh(
    tag: str,
    vertices: Any,
    colors: Any = None,
    faces: Any = None,
    config_dict: dict[str, Any] | None = None,
) -> list[bytes]:
    """A 3-D point cloud or mesh for the mesh plugin: one float32 tensor value per part
    given, tagged {tag}_VERTEX, {tag}_FACE, {tag}_COLOR, each (B, N, 3); the metadata
    names the mesh, the part, its shape, which parts exist (a bit mask) and the
    three.js scene config as JSON."""
    parts = {"VERTEX": vertices, "FACE": faces, "COLOR": colors}
    arrays = {}
    for name, _ in _MESH_PARTS:
        if parts[name] is None:
            continue
        argument = _MESH_ARGUMENT[name]
        arr = as_numpy(parts[name], f"add_mesh: {argument}").astype(np.float32)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(
                f"add_mesh: {argument} must have shape (B, N, 3), got {tuple(arr.shape)}"
            )
        arrays[name] = arr
    components = sum(1 << kind for name, kind in _MESH_PARTS if name in arrays)
    config = json.dumps(config_dict or {}, sort_keys=True)
    values = []
    for name, kind in _MESH_PARTS:
        if name not in arrays:
            continue
        arr = arrays[name]
        plugin = (
            field_string(2, tag)
            + field_varint(3, kind)
            + field_string(5, config)
            + field_bytes(6, b"".join(varint(d) for d in arr.shape))
            + field_varint(7, components)
        )
        proto = (
            field_varint(1, DT_FLOAT)
            + field_bytes(2, _shape(arr.shape))
            + field_bytes(5, arr.astype("<f4").tobytes())
        )
        values.append(
            field_string(1, f"{tag}_{name}") + field_bytes(8, proto) + _metadata("mesh", plugin)
        )
    return values
