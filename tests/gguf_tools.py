"""Make GGUF variants of a real model for hostile-file tests: other metadata or other tensor
data behind a header that passes the check."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bizra_desktop.core.models import gguf

_STRING_TYPE = 8


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


@dataclass(frozen=True)
class _Layout:
    header: gguf.GGUFHeader
    metadata: dict[str, bytes]  # key → its whole raw entry (key, type and value)
    tensor_infos: bytes
    alignment: int
    data_start: int  # where the tensor data begins


def _layout(data: bytes) -> _Layout:
    header = gguf.parse_header(data)
    cursor = gguf._Cursor(data)  # the reader's own cursor: the same bounds checks
    cursor.pos = 4 + 4 + 8 + 8
    metadata: dict[str, bytes] = {}
    for _ in range(len(header.metadata)):
        start = cursor.pos
        key = cursor.string("key")
        value_type = int(cursor.scalar("<I", "type"))
        gguf._read_value(cursor, value_type, key)
        metadata[key] = data[start : cursor.pos]
    tensor_infos_start = cursor.pos
    for index in range(header.tensor_count):
        cursor.string(f"tensor {index}")
        dims = int(cursor.scalar("<I", "dims"))
        cursor.take(8 * dims + 4 + 8, "shape, type and offset")
    alignment = int(header.metadata.get("general.alignment", 32))  # type: ignore[arg-type]
    return _Layout(
        header,
        metadata,
        data[tensor_infos_start : cursor.pos],
        alignment,
        -(-cursor.pos // alignment) * alignment,
    )


def with_strings(source: Path, target: Path, replacements: dict[str, str]) -> Path:
    """Copy `source` to `target` with the string values of some metadata keys replaced (or
    added). The tensor data is kept byte for byte; only its start moves to the new alignment."""
    data = source.read_bytes()
    layout = _layout(data)
    kept = [entry for key, entry in layout.metadata.items() if key not in replacements]
    added = [
        _string(k) + struct.pack("<I", _STRING_TYPE) + _string(v) for k, v in replacements.items()
    ]
    head = data[:4] + struct.pack(
        "<IQQ", layout.header.version, layout.header.tensor_count, len(kept) + len(added)
    )
    body = head + b"".join(kept) + b"".join(added) + layout.tensor_infos
    body += b"\0" * (-len(body) % layout.alignment)
    target.write_bytes(body + data[layout.data_start :])
    return target


def with_tensor_data(source: Path, target: Path, fill: Callable[[int], bytes]) -> Path:
    """Copy `source` to `target` with its header untouched and all of its tensor data replaced
    by `fill(size)`, `size` bytes as the original's (so every tensor still lies in the file)."""
    data = source.read_bytes()
    start = _layout(data).data_start
    garbage = fill(len(data) - start)
    assert len(garbage) == len(data) - start, "the tensor data must keep its size"
    target.write_bytes(data[:start] + garbage)
    return target
