"""A bounds-checked GGUF header reader.

Every model file passes through here before llama.cpp sees it: a file that is not GGUF, a
truncated download or a header with absurd counts gets a one-line reason instead of reaching
native code that may abort the process.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bizra_desktop.core.text import printable

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)

# Far above any real model (Qwen2.5-14B has 579 tensors and ~40 metadata keys), far below what
# would let a hostile header make us loop for minutes.
MAX_TENSORS = 1_000_000
MAX_KV = 100_000
MAX_KEY_BYTES = 65_535
MAX_DIMS = 4  # GGML_MAX_DIMS

# value type id -> struct format of a scalar (None: string, "array": array)
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
# ggml tensor type id -> (elements per block, bytes per block), from ggml's type traits; the
# common types only, an unknown one is checked by its offset alone.
_GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4),
    1: (1, 2),
    2: (32, 18),
    3: (32, 20),
    6: (32, 22),
    7: (32, 24),
    8: (32, 34),
    10: (256, 84),
    11: (256, 110),
    12: (256, 144),
    13: (256, 176),
    14: (256, 210),
    24: (1, 1),
    25: (1, 2),
    26: (1, 4),
    27: (1, 8),
    28: (1, 8),
    30: (1, 2),
}
_STRING = 8
_ARRAY = 9

MetaValue = int | float | bool | str | tuple[str, int]


class GGUFError(ValueError):
    """The file is not a GGUF model llama.cpp can be trusted with; str() is a one-line reason."""


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    tensor_count: int
    metadata: Mapping[str, MetaValue]  # arrays are summarised as ("array", length)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def arch_int(self, suffix: str) -> int | None:
        value = self.metadata.get(f"{self.architecture}.{suffix}")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    @property
    def context_length(self) -> int | None:
        return self.arch_int("context_length")

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    def kv_cache_bytes(self, n_ctx: int) -> int | None:
        """f16 K and V for every layer and position, or None when the header lacks the shape."""
        layers = self.arch_int("block_count")
        heads = self.arch_int("attention.head_count")
        kv_heads = self.arch_int("attention.head_count_kv") or heads
        width = self.arch_int("embedding_length")
        head_dim = self.arch_int("attention.key_length") or (
            width // heads if width and heads else None
        )
        if not (layers and kv_heads and head_dim):
            return None
        return 2 * 2 * layers * kv_heads * head_dim * n_ctx


class _Cursor:
    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> int:
        start = self.pos
        if count < 0 or start + count > len(self.data):
            raise GGUFError(f"truncated while reading {what} at byte {start}")
        self.pos = start + count
        return start

    def scalar(self, fmt: str, what: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        start = self.take(size, what)
        value: int | float | bool = struct.unpack_from(fmt, self.data, start)[0]
        return value

    def count(self, what: str) -> int:
        return int(self.scalar("<Q", what))

    def string(self, what: str, limit: int | None = None) -> str:
        length = self.count(f"length of {what}")
        if limit is not None and length > limit:
            raise GGUFError(f"{what} claims {length} bytes, more than the {limit} allowed")
        start = self.take(length, what)
        return bytes(self.data[start : start + length]).decode("utf-8", errors="replace")

    def skip_string(self, what: str) -> None:
        self.take(self.count(f"length of {what}"), what)


def _read_value(cursor: _Cursor, value_type: int, key: str) -> MetaValue:
    """The value of metadata `key` (as messages show it); summarised for arrays."""
    if value_type in _SCALARS:
        return cursor.scalar(_SCALARS[value_type], f"value of {key}")
    if value_type == _STRING:
        return cursor.string(f"value of {key}")
    if value_type != _ARRAY:
        raise GGUFError(f"metadata key '{key}' has unknown value type {value_type}")
    element_type = int(cursor.scalar("<I", f"element type of {key}"))
    length = cursor.count(f"length of array {key}")
    if element_type in _SCALARS:
        cursor.take(length * struct.calcsize(_SCALARS[element_type]), f"array {key}")
    elif element_type == _STRING:
        # A string needs at least its 8-byte length: refuse counts the rest of the file can't hold.
        if length * 8 > len(cursor.data) - cursor.pos:
            raise GGUFError(f"array {key} claims {length} strings, more than the file can hold")
        for index in range(length):
            cursor.skip_string(f"{key}[{index}]")
    else:
        raise GGUFError(f"array '{key}' has unsupported element type {element_type}")
    return ("array", length)


def parse_header(data: mmap.mmap | bytes) -> GGUFHeader:
    cursor = _Cursor(data)
    if len(data) < 4 or bytes(data[:4]) != MAGIC:
        raise GGUFError("not a GGUF file (the first bytes are not 'GGUF')")
    cursor.pos = 4
    version = int(cursor.scalar("<I", "version"))
    if version not in SUPPORTED_VERSIONS:
        raise GGUFError(f"unsupported GGUF version {version} (supported: 2 and 3)")
    tensor_count = cursor.count("tensor count")
    kv_count = cursor.count("metadata count")
    if tensor_count > MAX_TENSORS:
        raise GGUFError(f"header claims {tensor_count} tensors, an absurd number")
    if kv_count > MAX_KV:
        raise GGUFError(f"header claims {kv_count} metadata keys, an absurd number")
    metadata: dict[str, MetaValue] = {}
    for index in range(kv_count):
        key = cursor.string(f"metadata key #{index}", limit=MAX_KEY_BYTES)
        shown = printable(key)
        value_type = int(cursor.scalar("<I", f"type of {shown}"))
        metadata[key] = _read_value(cursor, value_type, shown)
    _check_tensor_offsets(cursor, tensor_count, metadata)
    return GGUFHeader(version, tensor_count, metadata)


def _check_tensor_offsets(
    cursor: _Cursor, tensor_count: int, metadata: Mapping[str, MetaValue]
) -> None:
    """Every tensor must start inside the file: a cut-off download fails here, not in C."""
    last_offset = 0  # end of the furthest tensor, relative to the data section
    for index in range(tensor_count):
        name = printable(cursor.string(f"name of tensor #{index}", limit=MAX_KEY_BYTES))
        dims = int(cursor.scalar("<I", f"dimensions of {name}"))
        if dims > MAX_DIMS:
            raise GGUFError(f"tensor '{name}' claims {dims} dimensions (at most {MAX_DIMS})")
        shape_at = cursor.take(8 * dims, f"shape of {name}")
        elements = 1
        for dim in struct.unpack_from(f"<{dims}Q", cursor.data, shape_at):
            elements *= dim
        ggml_type = int(cursor.scalar("<I", f"type of {name}"))
        block, block_bytes = _GGML_BLOCKS.get(ggml_type, (1, 0))  # unknown type: offset only
        end = cursor.count(f"offset of {name}") + -(-elements // block) * block_bytes
        last_offset = max(last_offset, end)
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0:
        raise GGUFError(f"invalid general.alignment {alignment!r}")
    data_start = -(-cursor.pos // alignment) * alignment
    if tensor_count and data_start + last_offset > len(cursor.data):
        raise GGUFError(
            f"truncated: tensor data should reach byte {data_start + last_offset:,} "
            f"but the file has {len(cursor.data):,} bytes"
        )


def read_header(path: Path) -> GGUFHeader:
    """Parse the header of `path`, raising GGUFError with a reason that names the file."""
    try:
        with path.open("rb") as handle:
            size = path.stat().st_size
            if size == 0:
                raise GGUFError("the file is empty")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return parse_header(data)
    except GGUFError as error:
        raise GGUFError(f"{path.name}: {error}") from None
    except IsADirectoryError:
        raise GGUFError(f"{path}: is a directory, not a model file") from None
    except OSError as error:
        raise GGUFError(f"{path}: cannot read ({error.strerror or error})") from None
