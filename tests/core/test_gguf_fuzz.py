"""Fuzzing the GGUF header check: whatever bytes a file holds, the check ends quickly with a
parsed header or a GGUFError — never another exception, never a hang."""

from __future__ import annotations

import time
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from bizra_desktop.core.models.gguf import GGUFError, parse_header
from tests.helpers import starter_path

HEADER_BYTES = 2_000_000  # the starter's metadata and tensor infos, and some tensor data


@cache
def _real_header() -> bytes:
    with starter_path().open("rb") as handle:
        return handle.read(HEADER_BYTES)


def _check(data: bytes) -> None:
    started = time.perf_counter()
    try:
        parse_header(data)
    except GGUFError as error:
        assert "\n" not in str(error)  # a one-line reason
    assert time.perf_counter() - started < 2.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4_000), st.integers(0, 255)), min_size=1, max_size=8))
def test_byte_flips_in_a_real_header(flips: list[tuple[int, int]]) -> None:
    data = bytearray(_real_header())
    for position, value in flips:
        data[position] = value
    _check(bytes(data))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 200_000), st.binary(max_size=64))
def test_a_real_header_cut_and_followed_by_garbage(cut: int, garbage: bytes) -> None:
    _check(_real_header()[:cut] + garbage)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=256))
def test_arbitrary_bytes_behind_the_magic(tail: bytes) -> None:
    _check(b"GGUF" + tail)
