"""A small independent reader of TensorBoard event files for the tests: TFRecord framing
with both checksums verified, protobuf decoded field by field, and PNG decoded (all five
row filters, so PIL's files from PyTorch's writer read too). It shares no code with
tinyconv/utils/tensorboard, so a mistake there cannot hide behind the same mistake here."""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import numpy as np


def crc32c(data: bytes) -> int:
    # bit by bit (slow, but independent of tinyconv's table-driven version)
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: str) -> list[bytes]:
    """Every record's data; AssertionError on a bad length, checksum or truncated file."""
    with open(path, "rb") as f:
        blob = f.read()
    out, pos = [], 0
    while pos < len(blob):
        header = blob[pos : pos + 8]
        assert len(header) == 8, f"{path}: truncated length at byte {pos}"
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8 : pos + 12])
        assert length_crc == masked(crc32c(header)), f"{path}: bad length CRC at byte {pos}"
        data = blob[pos + 12 : pos + 12 + length]
        assert len(data) == length, f"{path}: truncated record at byte {pos}"
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length : pos + 16 + length])
        assert data_crc == masked(crc32c(data)), f"{path}: bad data CRC at byte {pos}"
        out.append(data)
        pos += 16 + length
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> dict[int, list[Any]]:
    """field number -> values in order: int (varint), bytes (8-byte, 4-byte or
    length-delimited)."""
    out: dict[int, list[Any]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise AssertionError(f"unexpected wire type {wire} for field {number}")
        out.setdefault(number, []).append(value)
    return out


def _one(f: dict[int, list[Any]], number: int, default: Any = None) -> Any:
    values = f.get(number, [])
    assert len(values) <= 1, f"field {number} repeated"
    return values[0] if values else default


def _double(raw: bytes | None) -> float:
    return struct.unpack("<d", raw)[0] if raw is not None else 0.0


def _doubles(f: dict[int, list[Any]], number: int) -> list[float]:
    out: list[float] = []
    for raw in f.get(number, []):  # packed (one blob) or not (one double each)
        out.extend(struct.unpack(f"<{len(raw) // 8}d", raw))
    return out


def _varints(f: dict[int, list[Any]], number: int) -> list[int]:
    """A repeated integer field, packed (length-delimited blobs) or not, as signed ints."""
    out: list[int] = []
    for raw in f.get(number, []):
        if isinstance(raw, int):
            out.append(_signed64(raw))
            continue
        pos = 0
        while pos < len(raw):
            value, pos = _varint(raw, pos)
            out.append(_signed64(value))
    return out


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def decode_value(data: bytes) -> dict[str, Any]:
    """A Summary.Value as a dict (only the parts the writers use)."""
    f = fields(data)
    out: dict[str, Any] = {"tag": _one(f, 1, b"").decode()}
    if 2 in f:
        out["simple_value"] = struct.unpack("<f", _one(f, 2))[0]
    if 4 in f:
        im = fields(_one(f, 4))
        out["image"] = {
            "height": _one(im, 1, 0),
            "width": _one(im, 2, 0),
            "colorspace": _one(im, 3, 0),
            "pixels": decode_png(_one(im, 4)),
        }
    if 5 in f:
        h = fields(_one(f, 5))
        out["histo"] = {
            "min": _double(_one(h, 1)),
            "max": _double(_one(h, 2)),
            "num": _double(_one(h, 3)),
            "sum": _double(_one(h, 4)),
            "sum_squares": _double(_one(h, 5)),
            "bucket_limit": _doubles(h, 6),
            "bucket": _doubles(h, 7),
        }
    if 8 in f:
        t = fields(_one(f, 8))
        shape = fields(_one(t, 2, b""))
        floats: list[float] = []
        for raw in t.get(5, []):
            floats.extend(struct.unpack(f"<{len(raw) // 4}f", raw))
        out["tensor"] = {
            "dtype": _one(t, 1, 0),
            "shape": [_one(fields(d), 1, 0) for d in shape.get(2, [])],
            "float_val": floats,
            "double_val": _doubles(t, 6),
            "string_val": [s.decode() for s in t.get(8, [])],
            "string_bytes": t.get(8, []),
            "int_val": _varints(t, 7),
            "int64_val": _varints(t, 10),
            "bool_val": _varints(t, 11),
            "uint32_val": _varints(t, 16),
        }
    if 6 in f:
        a = fields(_one(f, 6))
        out["audio"] = {
            "sample_rate": struct.unpack("<f", _one(a, 1))[0],
            "num_channels": _one(a, 2, 0),
            "length_frames": _one(a, 3, 0),
            "wav": _one(a, 4, b""),
            "content_type": _one(a, 5, b"").decode(),
        }
    if 9 in f:
        plugin = fields(_one(fields(_one(f, 9)), 1, b""))
        out["plugin_name"] = _one(plugin, 1, b"").decode()
        out["plugin_content"] = _one(plugin, 2, b"")
    return out


def decode_event(data: bytes) -> dict[str, Any]:
    f = fields(data)
    out: dict[str, Any] = {"wall_time": _double(_one(f, 1)), "step": _signed64(_one(f, 2, 0))}
    if 3 in f:
        out["file_version"] = _one(f, 3).decode()
    if 5 in f:
        out["values"] = [decode_value(v) for v in fields(_one(f, 5)).get(1, [])]
    if 7 in f:
        out["session_log_status"] = _one(fields(_one(f, 7)), 1, 0)
    return out


def event_files(logdir: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(logdir):
        found += [os.path.join(root, n) for n in files if n.startswith("events.out.tfevents.")]
    return sorted(found)


def read_runs(logdir: str) -> dict[str, list[dict[str, Any]]]:
    """Run folder (relative to logdir, '.' for logdir itself) -> its events, files in name
    order; each file must open with the file_version event."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in event_files(logdir):
        events = [decode_event(r) for r in read_records(path)]
        assert events and events[0].get("file_version") == "brain.Event:2", path
        run = os.path.relpath(os.path.dirname(path), logdir)
        runs.setdefault(run, []).extend(events)
    return runs


def summaries(events: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(step, value) of every summary value, in file order."""
    return [(e["step"], v) for e in events for v in e.get("values", [])]


def decode_png(png: bytes) -> np.ndarray:
    """An 8-bit non-interlaced PNG (gray, gray+alpha, RGB or RGBA) as (H, W, C) uint8."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), f"bad CRC in PNG chunk {kind!r}"
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0, (depth, interlace)
    c = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    raw = zlib.decompress(idat)
    stride = w * c
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for r in range(h):
        kind = raw[r * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        if kind in (0, 2):  # None and Up need no left neighbour: whole rows at once
            cur = (line + (prev if kind == 2 else 0)) & 0xFF
        for i in range(stride if kind not in (0, 2) else 0):
            a = cur[i - c] if i >= c else 0
            b = prev[i]
            d = prev[i - c] if i >= c else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - d
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - d)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else d)
            cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    return out.reshape(h, w, c)
