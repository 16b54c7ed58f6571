#!/usr/bin/env python3
"""Rerun every reliability case and rewrite docs/RELIABILITY.md from what happened.

    python scripts/reliability_report.py                    # all cases, rewrite the page
    python scripts/reliability_report.py --fuzz-minutes 10  # and a long fuzz run first
    python scripts/reliability_report.py --out /tmp/r.md -k gguf   # a subset, elsewhere

A case is a test marked `@pytest.mark.reliability(area=..., case=..., done=..., runs=n)`
(runs: how often one test exercises the case, such as a hypothesis test's examples; 1 if not
given); a test may instead add `record_property("runs", n)` once it knows, and
`record_property("result", "...")` (the measured outcome). Tests of one case are one row.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AREAS = (
    "Hostile model files",
    "Hostile chat templates",
    "Prompt edge cases",
    "Faults",
    "Fuzzing and properties",
    "Secrets and privacy",
)


@dataclass
class Case:
    area: str
    case: str
    done: str
    tests: int = 0
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    runs: int = 0
    results: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        if self.failed:
            return f"**FAILED** ({len(self.failed)} of {self.tests} tests)"
        if self.skipped and not self.passed:
            return "skipped here"
        return f"passed ({self.passed} test{'s' if self.passed != 1 else ''})"


class CaseCollector:
    """A pytest plugin: groups the reliability tests' outcomes by case."""

    def __init__(self) -> None:
        self.cases: dict[tuple[str, str], Case] = {}
        self._case_of: dict[str, Case] = {}
        self._runs: dict[str, int] = {}  # a marker's runs=: a hypothesis test's examples

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            marker = item.get_closest_marker("reliability")
            if marker is None:
                continue
            area, case, done = (marker.kwargs[key] for key in ("area", "case", "done"))
            self._runs[item.nodeid] = int(marker.kwargs.get("runs", 1))
            if area not in AREAS:
                raise pytest.UsageError(f"{item.nodeid}: unknown reliability area {area!r}")
            row = self.cases.setdefault((area, case), Case(area, case, done))
            row.tests += 1
            self._case_of[item.nodeid] = row

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        row = self._case_of.get(report.nodeid)
        if row is None:
            return
        row.seconds += report.duration
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            row.skipped.append(str(reason).removeprefix("Skipped: "))
        elif report.failed:
            row.failed.append(report.nodeid)
        elif report.when == "call":
            row.passed += 1
            properties = dict(report.user_properties)
            row.runs += int(str(properties.get("runs", self._runs[report.nodeid])))
            if "result" in properties:
                row.results.append(str(properties["result"]))


def run_cases(pytest_args: list[str]) -> tuple[int, list[Case], float]:
    collector = CaseCollector()
    started = time.perf_counter()
    code = pytest.main(
        ["-m", "reliability", "-q", "-p", "no:cacheprovider", *pytest_args], plugins=[collector]
    )
    cases = sorted(collector.cases.values(), key=lambda c: (AREAS.index(c.area), c.case))
    return int(code), cases, time.perf_counter() - started


# pytest's temporary folders, which results quote: /tmp/pytest-of-USER/pytest-N/TEST/
_TEMP_FOLDER = re.compile(r"/\S*?/pytest-\d+/[^/\s]+/")


def _cell(text: str) -> str:
    return _TEMP_FOLDER.sub("…/", text).replace("|", "\\|").replace("\n", " ")


def render(cases: list[Case], seconds: float, fuzz: str | None) -> str:
    total_runs = sum(case.runs for case in cases)
    failed = [case for case in cases if case.failed]
    lines = [
        "# Reliability",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
        f"`python scripts/reliability_report.py` on {platform.platform()}, "
        f"Python {platform.python_version()}: {len(cases)} cases, "
        f"{sum(case.tests for case in cases)} tests, {total_runs:,} runs in {seconds:.0f} s; "
        f"{'every case held' if not failed else f'{len(failed)} cases FAILED'}.",
        "",
        "Each row is one case of issue #8: what the tests did, how often (runs: kills, inputs, "
        "examples), and the outcome they asserted. CI runs the same tests on every push; "
        "`scripts/fuzz.py` runs the fuzz properties for longer.",
    ]
    for area in AREAS:
        rows = [case for case in cases if case.area == area]
        if not rows:
            continue
        lines += [
            "",
            f"## {area}",
            "",
            "| case | what was done | runs | result | outcome |",
            "|---|---|---|---|---|",
        ]
        for case in rows:
            result = "; ".join(case.results) or "as asserted"
            if case.skipped:
                result += f" (skipped: {'; '.join(sorted(set(case.skipped)))})"
            lines.append(
                f"| {_cell(case.case)} | {_cell(case.done)} | {case.runs:,} | {_cell(result)} "
                f"| {case.outcome} |"
            )
    if fuzz:
        lines += ["", FUZZ_HEADING, "", fuzz.strip()]
    return "\n".join(lines) + "\n"


FUZZ_HEADING = "## Long fuzz run"


def earlier_fuzz(page: Path) -> str | None:
    """The long fuzz section of the page as it stands, kept when this run does not fuzz."""
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return None
    _, heading, section = text.partition(FUZZ_HEADING + "\n")
    return section.strip() or None if heading else None


def long_fuzz(minutes: float) -> str:
    started = datetime.now(UTC)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--minutes", str(minutes)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return (
        f"`python scripts/fuzz.py --minutes {minutes:g}`, started {started:%Y-%m-%d %H:%M} UTC, "
        f"exit code {result.returncode}:\n\n```\n{(result.stdout + result.stderr).strip()}\n```"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "RELIABILITY.md")
    parser.add_argument("--fuzz-minutes", type=float, default=0.0)
    args, pytest_args = parser.parse_known_args(argv)
    fuzz = long_fuzz(args.fuzz_minutes) if args.fuzz_minutes > 0 else earlier_fuzz(args.out)
    code, cases, seconds = run_cases(pytest_args)
    if not cases:
        print("no reliability case ran", file=sys.stderr)
        return code or 1
    args.out.write_text(render(cases, seconds, fuzz), encoding="utf-8")
    print(f"{args.out}: {len(cases)} cases, pytest exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
