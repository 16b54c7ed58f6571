"""The SIGKILL durability harness (benchmarks/durability.py), short: the full run is a command."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from benchmarks.durability import DurabilityError, check_after_kill, receipt_fields, run_once
from bizra_desktop.core.receipts.chain import ReceiptChain

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@pytest.mark.reliability(
    area="Faults",
    case="SIGKILL of a process appending receipts (the chain alone)",
    done="5 runs of 40 appends, killed at random moments; `python benchmarks/durability.py` "
    "runs 50 x 1,000",
)
def test_sigkill_at_random_moments_loses_no_acknowledged_receipt(tmp_path: Path) -> None:
    rng = random.Random(20250101)
    results = [
        run_once(tmp_path / f"run{n}", 40, rng, max_delay_s=0.5, kill_span=15) for n in range(5)
    ]

    assert all(result.appends == 40 for result in results)
    assert sum(result.kills for result in results) >= 5  # the kills did land
    for n in range(5):
        with ReceiptChain(
            tmp_path / f"run{n}" / "bizra.sqlite3", tmp_path / f"run{n}" / "keys"
        ) as c:
            assert len(c) == 40
            assert c.verify().ok


def test_a_committed_but_unacknowledged_receipt_is_reconciled(tmp_path: Path) -> None:
    with ReceiptChain(tmp_path / "bizra.sqlite3", tmp_path / "keys") as chain:
        acknowledged = [chain.append(receipt_fields(1)).hash]
        unacknowledged = chain.append(receipt_fields(2)).hash  # killed before it was printed

    assert check_after_kill(tmp_path, acknowledged) == 1
    assert acknowledged[-1] == unacknowledged


def test_a_lost_acknowledged_receipt_fails_the_harness(tmp_path: Path) -> None:
    with ReceiptChain(tmp_path / "bizra.sqlite3", tmp_path / "keys") as chain:
        acknowledged = [chain.append(receipt_fields(1)).hash]

    with pytest.raises(DurabilityError, match="missing"):
        check_after_kill(tmp_path, [*acknowledged, "0" * 64])
