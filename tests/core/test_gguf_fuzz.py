"""Fuzzing the GGUF header check: whatever bytes a file holds, the check ends quickly with a
parsed header or a GGUFError — never another exception, never a hang. The properties live in
tests/fuzzing.py; `scripts/fuzz.py --target gguf` runs them for minutes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.fuzzing import GGUF_CUT, GGUF_FLIPS, GGUF_MAGIC

FLIPS, CUTS, MAGIC = 150, 100, 150
_AREA = "Fuzzing and properties"


@pytest.mark.reliability(
    area=_AREA,
    case="byte flips in a real GGUF header",
    done=f"{FLIPS} hypothesis examples of 1 to 8 flipped bytes in the starter's first 4 kB",
    runs=FLIPS,
)
@settings(max_examples=FLIPS, deadline=None)
@given(GGUF_FLIPS.strategy)
def test_byte_flips_in_a_real_header(flips: list[tuple[int, int]]) -> None:
    GGUF_FLIPS.check(flips)


@pytest.mark.reliability(
    area=_AREA,
    case="a real GGUF header cut and followed by garbage",
    done=f"{CUTS} hypothesis examples: cut anywhere in 200 kB, up to 64 bytes of garbage",
    runs=CUTS,
)
@settings(max_examples=CUTS, deadline=None)
@given(GGUF_CUT.strategy)
def test_a_real_header_cut_and_followed_by_garbage(cut_and_garbage: tuple[int, bytes]) -> None:
    GGUF_CUT.check(cut_and_garbage)


@pytest.mark.reliability(
    area=_AREA,
    case="arbitrary bytes behind the GGUF magic",
    done=f"{MAGIC} hypothesis examples of up to 256 bytes",
    runs=MAGIC,
)
@settings(max_examples=MAGIC, deadline=None)
@given(GGUF_MAGIC.strategy)
def test_arbitrary_bytes_behind_the_magic(tail: bytes) -> None:
    GGUF_MAGIC.check(tail)
