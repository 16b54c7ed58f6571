#!/usr/bin/env python3
"""Fuzz for minutes what CI fuzzes for seconds: the GGUF header check and the export verifier,
with the properties of tests/fuzzing.py. The time is shared evenly among the properties; each
runs hypothesis in batches of fresh random examples until its share is spent.

    .venv/bin/python scripts/fuzz.py --minutes 10 [--target gguf|export|all]

Prints one line per property (inputs run, failures) and a summary; on a failure, hypothesis's
shrunk example and a reproducer line, and exit 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.fuzzing, where the properties live

from hypothesis import HealthCheck, given, settings

from tests.fuzzing import GGUF_PROPERTIES, Property, export_properties, export_samples

BATCH = 100  # examples per hypothesis run; each run draws from a fresh random seed


def fuzz(prop: Property, until: float) -> tuple[int, str | None]:
    """Run `prop` in batches, at least one, until the monotonic clock reaches `until`:
    (inputs run, failure or None)."""
    ran = 0
    failing: list[Any] = []

    def attempt(value: Any) -> None:
        nonlocal ran
        ran += 1
        try:
            prop.check(value)
        except BaseException:
            failing[:] = [value]  # the last failing value is the shrunk one
            raise

    run = settings(
        max_examples=BATCH,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )(given(prop.strategy)(attempt))
    while True:
        try:
            run()
        except Exception as error:
            reproducer = prop.reproducer(failing[-1])
            return ran, f"{type(error).__name__}: {error}\n  reproducer: {reproducer}"
        if time.monotonic() >= until:
            return ran, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz in all")
    parser.add_argument("--target", choices=("gguf", "export", "all"), default="all")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bizra-fuzz-") as folder:
        properties: list[Property] = []
        if args.target in ("gguf", "all"):
            properties += GGUF_PROPERTIES
        if args.target in ("export", "all"):
            properties += export_properties(export_samples(Path(folder)))
        started = time.monotonic()
        deadline = started + args.minutes * 60
        total, failures = 0, 0
        for index, prop in enumerate(properties):
            share = (deadline - time.monotonic()) / (len(properties) - index)
            ran, failure = fuzz(prop, time.monotonic() + share)
            total += ran
            print(f"{prop.name}: {ran:,} inputs, {'FAILED' if failure else 'no failures'}")
            if failure:
                failures += 1
                print(f"  {failure}")
            sys.stdout.flush()
    outcome = f"{failures} failing properties" if failures else "no failures"
    print(f"fuzzed {total:,} inputs in {time.monotonic() - started:.0f} s: {outcome}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
