"""Make GGUF variants of a real model for hostile-file tests: same tensors, other metadata."""

from __future__ import annotations

import struct
from pathlib import Path

from bizra_desktop.core.models import gguf

_STRING_TYPE = 8


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def with_strings(source: Path, target: Path, replacements: dict[str, str]) -> Path:
    """Copy `source` to `target` with the string values of some metadata keys replaced (or
    added). The tensor data is kept byte for byte; only its start moves to the new alignment."""
    data = source.read_bytes()
    header = gguf.parse_header(data)
    cursor = gguf._Cursor(data)  # the reader's own cursor: the same bounds checks
    cursor.pos = 4 + 4 + 8 + 8
    kept: list[bytes] = []
    for _ in range(len(header.metadata)):
        start = cursor.pos
        key = cursor.string("key")
        value_type = int(cursor.scalar("<I", "type"))
        gguf._read_value(cursor, value_type, key)
        if key not in replacements:
            kept.append(data[start : cursor.pos])
    tensor_infos_start = cursor.pos
    for index in range(header.tensor_count):
        cursor.string(f"tensor {index}")
        dims = int(cursor.scalar("<I", "dims"))
        cursor.take(8 * dims + 4 + 8, "shape, type and offset")
    tensor_infos = data[tensor_infos_start : cursor.pos]
    alignment = int(header.metadata.get("general.alignment", 32))  # type: ignore[arg-type]
    old_data_start = -(-cursor.pos // alignment) * alignment
    added = [
        _string(k) + struct.pack("<I", _STRING_TYPE) + _string(v) for k, v in replacements.items()
    ]
    head = data[:4] + struct.pack(
        "<IQQ", header.version, header.tensor_count, len(kept) + len(added)
    )
    body = head + b"".join(kept) + b"".join(added) + tensor_infos
    body += b"\0" * (-len(body) % alignment)
    target.write_bytes(body + data[old_data_start:])
    return target
