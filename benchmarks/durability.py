"""Durability harness: a writer process appends receipts and is killed with SIGKILL at random
moments; after each kill the chain must hold every acknowledged receipt and verify.

A receipt is acknowledged when the writer has printed its hash, which it does only after
`ReceiptChain.append` returned (after COMMIT). On restart at most one receipt may be committed
but unacknowledged (killed between COMMIT and the print); it is a whole, valid receipt, so it is
reconciled (taken as acknowledged) and must never read as tampering.

    python benchmarks/durability.py                  # the full run: 50 runs x 1,000 appends
    python benchmarks/durability.py --runs 5 --appends 200 --seed 7

tests/core/test_durability.py runs a short version of the same harness. POSIX only (SIGKILL).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bizra_desktop.core.receipts.chain import ReceiptChain  # noqa: E402


@dataclass
class RunResult:
    appends: int
    kills: int
    reconciled: int  # committed-but-unacknowledged receipts found on restart


class DurabilityError(AssertionError):
    """An acknowledged receipt was lost, or the chain did not verify after a kill."""


def writer(home: Path, target: int) -> None:
    """Append until the chain holds `target` receipts, printing each hash once committed."""
    with ReceiptChain(home / "bizra.sqlite3", home / "keys") as chain:
        for seq in range(len(chain) + 1, target + 1):
            receipt = chain.append(receipt_fields(seq))
            sys.stdout.write(receipt.hash + "\n")
            sys.stdout.flush()


def receipt_fields(seq: int) -> dict[str, object]:
    return {
        "type": "inference",
        "model": {"name": "durability-writer"},
        "tier": "NANO",
        "complexity": "simple",
        "tokens": {"prompt": 8, "completion": seq % 97},
        "tokens_per_s": 10.0,
        "impact": 0.3,
    }


# Every writer is killed after a random number of acknowledged appends plus up to this much, so
# kills land anywhere inside an append (mid-transaction, mid-COMMIT, before the print); some
# (_EARLY_KILLS) earlier still, at a random time after the start, to cover startup and the key's
# creation.
_JITTER_S = 0.005
_EARLY_KILLS = 0.2


def run_once(
    home: Path, appends: int, rng: random.Random, max_delay_s: float, kill_span: int
) -> RunResult:
    """One run: start the writer, kill it at a random moment (after 0 to `kill_span` appends,
    or up to `max_delay_s` after its start), check, restart, until `appends` are acknowledged."""
    acknowledged: list[str] = []
    kills = reconciled = 0
    while len(acknowledged) < appends:
        early = rng.uniform(0.0, max_delay_s) if rng.random() < _EARLY_KILLS else None
        plan = _KillPlan(rng.randint(0, kill_span), rng.uniform(0, _JITTER_S), early)
        output = _run_writer(home, appends, plan)
        kills += output.killed
        acknowledged += output.hashes
        reconciled += check_after_kill(home, acknowledged)
    return RunResult(len(acknowledged), kills, reconciled)


@dataclass(frozen=True)
class _KillPlan:
    after_lines: int  # acknowledged appends to wait for (the writer may finish first)
    then_s: float  # and then this long
    deadline_s: float | None  # or kill this long after the start, if that comes first


@dataclass
class _WriterOutput:
    hashes: list[str]
    killed: bool


def _run_writer(home: Path, target: int, plan: _KillPlan) -> _WriterOutput:
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--writer", str(home), str(target)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    chunks: list[bytes] = []
    reached = threading.Event()

    def read(stdout: IO[bytes]) -> None:
        for chunk in stdout:
            chunks.append(chunk)
            if len(chunks) >= plan.after_lines:
                reached.set()

    reader = threading.Thread(target=read, args=(process.stdout,), daemon=True)
    reader.start()
    if plan.after_lines == 0:
        reached.set()
    deadline = time.monotonic() + (plan.deadline_s if plan.deadline_s is not None else 1e9)
    while not reached.wait(0.001) and process.poll() is None:
        if time.monotonic() >= deadline:
            break
    else:
        time.sleep(plan.then_s)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    reader.join()
    process.stdout.close()
    if not killed and process.returncode != 0:
        raise DurabilityError(f"the writer failed with exit code {process.returncode}")
    # A line cut by the kill has no newline: that hash was never acknowledged.
    complete = [chunk for chunk in chunks if chunk.endswith(b"\n")]
    return _WriterOutput([chunk.decode().strip() for chunk in complete], killed)


def check_after_kill(home: Path, acknowledged: list[str]) -> int:
    """Check the chain after a writer ended; returns 1 if it reconciled a committed receipt
    that was never acknowledged (and appends it to `acknowledged`), else 0."""
    database = home / "bizra.sqlite3"
    if not database.exists():  # killed before the file was made
        if acknowledged:
            raise DurabilityError("the database vanished")
        return 0
    with ReceiptChain(database, home / "keys") as chain:
        report = chain.verify()
        stored = [receipt.hash for receipt in chain]
    if not report.ok:
        raise DurabilityError(f"after a kill the chain does not verify: {report.message}")
    if stored[: len(acknowledged)] != acknowledged:
        raise DurabilityError("an acknowledged receipt is missing or out of place")
    extra = len(stored) - len(acknowledged)
    if extra > 1:
        raise DurabilityError(f"{extra} committed receipts were never acknowledged")
    acknowledged += stored[len(acknowledged) :]
    return extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument(
        "--max-delay", type=float, default=1.0, help="latest early kill, seconds after start"
    )
    parser.add_argument("--kill-span", type=int, default=100, help="most appends between two kills")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--writer", nargs=2, metavar=("HOME", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer:
        writer(Path(args.writer[0]), int(args.writer[1]))
        return 0
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    print(
        f"seed {seed}: {args.runs} runs x {args.appends} appends; SIGKILL after 0 to "
        f"{args.kill_span} appends, or within {args.max_delay} s of a start"
    )
    totals = RunResult(0, 0, 0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bizra-durability-") as folder:
        for number in range(1, args.runs + 1):
            home = Path(folder) / f"run{number}"
            result = run_once(home, args.appends, rng, args.max_delay, args.kill_span)
            totals = RunResult(
                totals.appends + result.appends,
                totals.kills + result.kills,
                totals.reconciled + result.reconciled,
            )
            print(
                f"run {number}: {result.appends} appends, {result.kills} kills, "
                f"{result.reconciled} reconciled",
                flush=True,
            )
    print(
        f"ok: {totals.appends} acknowledged receipts, none lost; {totals.kills} kills; "
        f"{totals.reconciled} committed-but-unacknowledged receipts reconciled; "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
