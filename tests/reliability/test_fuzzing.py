"""The export verifier's fuzz properties (tests/fuzzing.py), briefly; `scripts/fuzz.py` runs
them, and the GGUF ones, for minutes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from tests.fuzzing import MUTATIONS, ExportSamples, Mutation, export_properties, export_samples
from tests.helpers import RecordProperty

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 300


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> ExportSamples:
    return export_samples(tmp_path_factory.mktemp("exports"))


@pytest.mark.reliability(
    area="Fuzzing and properties",
    case="a byte of an export changed, inserted or deleted",
    done=f"{EXAMPLES} hypothesis examples on a whole-chain and on a one-receipt export",
    runs=EXAMPLES,
)
@pytest.mark.parametrize("which", [0, 1], ids=["whole chain", "one receipt"])
@settings(max_examples=EXAMPLES, deadline=None)
@given(mutation=MUTATIONS)
def test_any_byte_replaced_inserted_or_deleted_is_detected(
    samples: ExportSamples, which: int, mutation: Mutation
) -> None:
    export_properties(samples)[which].check(mutation)


@pytest.mark.reliability(
    area="Fuzzing and properties",
    case="the long fuzz command",
    done="scripts/fuzz.py --minutes 0.05 --target all, as a user runs it",
)
def test_the_fuzz_command_runs_every_property_and_counts_its_inputs(
    record_property: RecordProperty,
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--minutes", "0.05"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len([line for line in lines if line.startswith(("gguf: ", "export: "))]) == 5
    assert lines[-1].startswith("fuzzed ") and lines[-1].endswith(": no failures")
    record_property("result", lines[-1])
