"""The bytes of a TensorBoard event file, written by hand: protobuf fields and TFRecord framing.

An event file is a sequence of records. Each record is

    uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes
    data (length bytes)           | uint32 masked CRC32C of the data

and each record's data is one serialized `Event` protobuf message. A protobuf message is a
sequence of fields, each a key (field number << 3 | wire type, as a varint) then the value:
wire type 0 a varint (ints, enums, bools), 1 eight little-endian bytes (double), 2 a varint
length then that many bytes (strings, bytes, nested messages, packed repeated numbers),
5 four little-endian bytes (float). Nothing here knows what an Event means; `_summary.py`
and `writer.py` put the fields together.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

# wire types
VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def _crc32c_table() -> list[int]:
    # CRC-32C (Castagnoli), reflected polynomial 0x82F63B78: the checksum TFRecord uses
    # (zlib.crc32 is the other polynomial, so it cannot stand in for it).
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of `data`, as an unsigned 32-bit int."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC that TFRecord stores: rotated right by 15 bits plus a constant (so that a CRC
    of data that itself holds CRCs does not degenerate)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord: framing and checksums around `data`."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def varint(value: int) -> bytes:
    """Base-128 varint; negative ints as their 64-bit two's complement (protobuf's int64)."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field_varint(number: int, value: int) -> bytes:
    return key(number, VARINT) + varint(int(value))


def field_double(number: int, value: float) -> bytes:
    return key(number, FIXED64) + struct.pack("<d", float(value))


def field_float(number: int, value: float) -> bytes:
    # a Python float rounds to float32 here, as protobuf's float field does
    return key(number, FIXED32) + struct.pack("<f", float(value))


def field_bytes(number: int, value: bytes) -> bytes:
    """A length-delimited field: bytes, a UTF-8 string, or a nested message's bytes."""
    return key(number, LENGTH) + varint(len(value)) + value


def field_string(number: int, value: str) -> bytes:
    return field_bytes(number, value.encode("utf-8"))


def field_packed_doubles(number: int, values: Iterable[float]) -> bytes:
    """A packed repeated double: one length-delimited field of little-endian doubles."""
    values = [float(v) for v in values]
    return field_bytes(number, struct.pack(f"<{len(values)}d", *values))


def field_packed_floats(number: int, values: Iterable[float]) -> bytes:
    values = [float(v) for v in values]
    return field_bytes(number, struct.pack(f"<{len(values)}f", *values))
