"""The GGUF header check: real model files pass, broken ones get a one-line reason."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bizra_desktop.core.models.gguf import GGUFError, parse_header, read_header
from bizra_desktop.core.models.store import ModelFileError, open_model, split_parts
from tests.helpers import starter_path


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _header(version: int = 3, tensors: int = 0, kvs: list[bytes] | None = None) -> bytes:
    items = kvs or []
    return b"GGUF" + struct.pack("<IQQ", version, tensors, len(items)) + b"".join(items)


def _kv_string(key: str, value: str) -> bytes:
    return _string(key) + struct.pack("<I", 8) + _string(value)


def test_starter_model_header_describes_the_model() -> None:
    header = read_header(starter_path())
    assert header.version == 3
    assert header.architecture == "llama"
    assert header.context_length == 8192
    assert header.chat_template is not None and "<|im_start|>" in header.chat_template
    assert header.tensor_count > 0
    kv_cache = header.kv_cache_bytes(4096)
    assert kv_cache is not None and 50_000_000 < kv_cache < 200_000_000


def test_a_minimal_valid_header_parses() -> None:
    data = _header(
        kvs=[_kv_string("general.architecture", "qwen2"), _kv_string("general.name", "x")]
    )
    header = parse_header(data)
    assert (header.architecture, header.name) == ("qwen2", "x")


@pytest.mark.reliability(
    area="Hostile model files",
    case="broken GGUF headers",
    done="11 crafted headers: bad magic and versions, cut counts, absurd counts and lengths",
)
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a GGUF file"),
        (b"PK\x03\x04" + b"\0" * 60, "not a GGUF file"),
        (_header(version=1), "unsupported GGUF version 1"),
        (_header(version=99), "unsupported GGUF version 99"),
        (_header()[:10], "truncated while reading tensor count"),
        (_header(tensors=10**12), "absurd number"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 10**9), "absurd number"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 10**15), "more than the"),
        (
            _header(kvs=[_string("k") + struct.pack("<I", 8) + struct.pack("<Q", 10**6)]),
            "truncated while reading value of k",
        ),
        (_header(kvs=[_string("k") + struct.pack("<I", 77)]), "unknown value type 77"),
        (
            _header(kvs=[_string("k") + struct.pack("<IIQ", 9, 8, 10**12)]),
            "more than the file can hold",
        ),
    ],
)
def test_broken_headers_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(GGUFError, match=reason):
        parse_header(data)


@pytest.mark.reliability(
    area="Hostile model files",
    case="a metadata key with a newline and a terminal escape",
    done="a key 'k\\n\\x1b[31m' whose value is cut off, and one of an unknown type",
)
@pytest.mark.parametrize("value", [struct.pack("<I", 8), struct.pack("<I", 77)])
def test_names_from_the_file_are_escaped_in_the_one_line_reason(value: bytes) -> None:
    with pytest.raises(GGUFError) as caught:
        parse_header(_header(kvs=[_string("k\n\x1b[31m") + value]))
    assert "k\\n\\x1b[31m" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.reliability(
    area="Hostile model files",
    case="a real model file cut short",
    done="the starter model cut at 9 points from 3 bytes to 1 byte short of its end",
)
@pytest.mark.parametrize("cut", [3, 4, 8, 24, 1000, 100_000, 2_000_000, 50_000_000, -1])
def test_truncated_copies_of_the_real_model_are_refused(tmp_path: Path, cut: int) -> None:
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(starter_path().read_bytes()[:cut])
    with pytest.raises(
        ModelFileError, match=r"^cut\.gguf: (truncated|not a GGUF|array .* more than)"
    ):
        open_model(truncated)


def test_model_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        open_model(tmp_path / "missing.gguf")
    with pytest.raises(ModelFileError, match="is not a file"):
        open_model(tmp_path)
    empty = tmp_path / "empty.gguf"
    empty.touch()
    with pytest.raises(ModelFileError, match=r"empty\.gguf: the file is empty"):
        open_model(empty)


def test_split_models_need_every_part(tmp_path: Path) -> None:
    first = tmp_path / "m-00001-of-00003.gguf"
    first.write_bytes(starter_path().read_bytes()[:4096])
    assert [p.name for p in split_parts(first)] == [
        "m-00001-of-00003.gguf",
        "m-00002-of-00003.gguf",
        "m-00003-of-00003.gguf",
    ]
    with pytest.raises(
        ModelFileError, match=r"missing m-00002-of-00003.gguf, m-00003-of-00003.gguf"
    ):
        open_model(first)
