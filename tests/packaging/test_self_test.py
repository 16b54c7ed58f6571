"""`bizra-desktop --self-test` from the source tree, as a real process (the release build runs
the same self-test against the frozen bundle: tests/packaging/test_release.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bizra_desktop.ui.self_test import FAILED_PREFIX, TIMEOUT_ENV

pytestmark = pytest.mark.model

SUMMARY = re.compile(
    r"^BIZRA Desktop self-test OK: model=SmolLM2-135M-Instruct tokens=(?P<tokens>\d+) "
    r"tok/s=[\d.]+ ttft_ms=\d+ receipt=(?P<hash>[0-9a-f]{64}) chain=verified\(1\) "
    r"backend=\S+ host_pid=(?P<pid>\d+) frozen=no version=\S+ seconds=[\d.]+$"
)


def _command() -> list[str]:
    """The installed `bizra-desktop` launcher beside this interpreter, else the module."""
    scripts = Path(sys.executable).parent
    launcher = scripts / ("bizra-desktop.exe" if os.name == "nt" else "bizra-desktop")
    return [str(launcher)] if launcher.is_file() else [sys.executable, "-m", "bizra_desktop.gui"]


def _self_test(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # No QT_QPA_PLATFORM: the self-test must choose offscreen by itself.
    base = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    return subprocess.run(
        [*_command(), "--self-test", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_self_test_answers_on_the_starter_model_and_verifies_the_receipt(
    tmp_path: Path, bizra_home: Path
) -> None:
    report = tmp_path / "report.txt"
    result = _self_test("--self-test-report", str(report))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # exactly one summary line
    match = SUMMARY.match(lines[0])
    assert match is not None, lines[0]
    assert int(match["tokens"]) > 0
    assert report.read_text(encoding="utf-8") == lines[0] + "\n"
    assert "Traceback" not in result.stderr
    # It used a temporary BIZRA_HOME of its own, not the one it was started with.
    assert not bizra_home.exists()


def test_self_test_fails_in_bounded_time_with_one_reason(bizra_home: Path) -> None:
    started = time.monotonic()
    result = _self_test(**{TIMEOUT_ENV: "0.001"})

    assert result.returncode == 1
    assert time.monotonic() - started < 120
    assert result.stdout == ""
    failures = [line for line in result.stderr.splitlines() if line.startswith(FAILED_PREFIX)]
    assert failures == [f"{FAILED_PREFIX} no answer within 0.001 s"], result.stderr
    assert "Traceback" not in result.stderr
    assert not bizra_home.exists()


def test_self_test_rejects_a_bad_timeout(bizra_home: Path) -> None:
    result = _self_test(**{TIMEOUT_ENV: "soon"})

    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"{TIMEOUT_ENV}='soon' is not a number of seconds")
