"""TensorBoard-readable scalar logs without the tensorboard package: TFRecord framing of Event protos.

An Event holds wall_time (field 1, double), step (field 2, int64) and either file_version (field 3,
string) or a Summary (field 5) of Values with tag (field 1, string) and simple_value (field 2, float).
Each record is: length (uint64 LE), masked CRC-32C of the length, payload, masked CRC-32C of the payload.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _event(step: int, body: bytes, wall_time: float | None = None) -> bytes:
    stamp = time.time() if wall_time is None else wall_time
    return _field(1, 1) + struct.pack("<d", stamp) + _field(2, 0) + _varint(step) + body


class EventWriter:
    """Appends scalars to ``folder/events.out.tfevents.<time>.<host>``, the file TensorBoard scans for."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self._file = self.path.open("ab")
        self._write(_event(0, _bytes_field(3, b"brain.Event:2")))

    def _write(self, payload: bytes) -> None:
        header = struct.pack("<Q", len(payload))
        self._file.write(header + struct.pack("<I", masked_crc(header)) + payload)
        self._file.write(struct.pack("<I", masked_crc(payload)))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        summary = b"".join(
            _bytes_field(1, _bytes_field(1, tag.encode()) + _field(2, 5) + struct.pack("<f", float(value)))
            for tag, value in values.items()
        )
        self._write(_event(step, _bytes_field(5, summary)))
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_scalars(path: Path) -> list[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in an event file, checking each record's CRCs (for tests and tools)."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (crc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        payload = data[pos + 12 : pos + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])
        if crc != masked_crc(header) or payload_crc != masked_crc(payload):
            raise ValueError(f"{path}: corrupt record at byte {pos}")
        out += _parse_event(payload)
        pos += 16 + length
    return out


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(buf: bytes):
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        yield number, value


def _parse_event(payload: bytes) -> list[tuple[int, str, float]]:
    step, values = 0, []
    for number, value in _fields(payload):
        if number == 2:
            step = value
        elif number == 5:
            for _, item in _fields(value):
                parts = dict(_fields(item))
                values.append((parts[1].decode(), struct.unpack("<f", parts[2])[0]))
    return [(step, tag, v) for tag, v in values]
