"""Properties over untrusted bytes, run two ways: briefly in CI (tests/core/test_gguf_fuzz.py,
tests/reliability/test_fuzzing.py) and for as long as asked by scripts/fuzz.py.

A property is a strategy and a check of one drawn value; the check raises AssertionError (or
anything else) when the code under test misbehaves, and `reproducer` names the call that
repeats a failure.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bizra_desktop.core.models.gguf import GGUFError, parse_header
from bizra_desktop.core.receipts.export_verify import verify_export_file
from tests.core.test_export import build, export
from tests.helpers import starter_path

HEADER_BYTES = 2_000_000  # the starter's metadata and tensor infos, and some tensor data
LIMIT_S = 2.0  # any input must be decided within this


@dataclass(frozen=True)
class Property:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]

    def reproducer(self, value: Any) -> str:
        return f"tests.fuzzing property {self.name!r}: check({value!r})"


# --- the GGUF header check ------------------------------------------------------------------


@cache
def real_header() -> bytes:
    with starter_path().open("rb") as handle:
        return handle.read(HEADER_BYTES)


def check_gguf(data: bytes) -> None:
    """The check ends quickly in a header or a one-line GGUFError, never anything else."""
    started = time.perf_counter()
    try:
        parse_header(data)
    except GGUFError as error:
        assert "\n" not in str(error)  # a one-line reason
    assert time.perf_counter() - started < LIMIT_S


def _flipped(flips: list[tuple[int, int]]) -> None:
    data = bytearray(real_header())
    for position, value in flips:
        data[position] = value
    check_gguf(bytes(data))


def _cut(cut_and_garbage: tuple[int, bytes]) -> None:
    cut, garbage = cut_and_garbage
    check_gguf(real_header()[:cut] + garbage)


def _behind_the_magic(tail: bytes) -> None:
    check_gguf(b"GGUF" + tail)


GGUF_FLIPS = Property(
    "gguf: byte flips in a real header",
    st.lists(st.tuples(st.integers(0, 4_000), st.integers(0, 255)), min_size=1, max_size=8),
    _flipped,
)
GGUF_CUT = Property(
    "gguf: a real header cut and followed by garbage",
    st.tuples(st.integers(0, 200_000), st.binary(max_size=64)),
    _cut,
)
GGUF_MAGIC = Property(
    "gguf: arbitrary bytes behind the magic", st.binary(max_size=256), _behind_the_magic
)
GGUF_PROPERTIES = (GGUF_FLIPS, GGUF_CUT, GGUF_MAGIC)


# --- the export verifier --------------------------------------------------------------------

# A byte at `position` (modulo the length) replaced by `value`, or `value` inserted there;
# replacing a byte by itself deletes it instead.
Mutation = tuple[int, int, bool]
MUTATIONS: st.SearchStrategy[Mutation] = st.tuples(
    st.integers(min_value=0), st.integers(0, 255), st.booleans()
)


@dataclass(frozen=True)
class ExportSamples:
    whole: bytes  # a whole-chain export with content
    selection: bytes  # one receipt with its inclusion proof, with content


def export_samples(folder: Path) -> ExportSamples:
    """Real exports of a real chain made in `folder`."""
    db_path = folder / "home" / "bizra.sqlite3"
    hashes = build(db_path, (3,))
    whole = export(db_path, folder / "all.jsonl", with_content=True).read_bytes()
    one = export(db_path, folder / "one.jsonl", receipt_hash=hashes[1], with_content=True)
    return ExportSamples(whole, one.read_bytes())


def mutated(data: bytes, mutation: Mutation) -> bytes:
    position, value, insert = mutation
    index = position % len(data)
    if insert:
        return data[:index] + bytes([value]) + data[index:]
    if data[index] != value:
        return data[:index] + bytes([value]) + data[index + 1 :]
    return data[:index] + data[index + 1 :]


def check_export_mutation(sample: bytes, mutation: Mutation) -> None:
    """Any changed, inserted or deleted byte is caught, with a one-line reason, quickly."""
    started = time.perf_counter()
    report = verify_export_file(io.BytesIO(mutated(sample, mutation)))
    assert not report.ok, f"a mutated export verified: {report.message}"
    assert "\n" not in report.message
    assert time.perf_counter() - started < LIMIT_S


def export_properties(samples: ExportSamples) -> tuple[Property, Property]:
    return (
        Property(
            "export: a byte of a whole-chain export changed, inserted or deleted",
            MUTATIONS,
            partial(check_export_mutation, samples.whole),
        ),
        Property(
            "export: a byte of a one-receipt export changed, inserted or deleted",
            MUTATIONS,
            partial(check_export_mutation, samples.selection),
        ),
    )
