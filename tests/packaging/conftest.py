"""The release build, made once per session for every packaging test that needs it: the
frozen bundle is checked by test_release.py and its installer run under Wine by
test_installer_wine.py, so building it twice would double the slowest part of the suite."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """scripts/build_release.py's report of a full build (PyInstaller, the frozen self-test,
    makensis), plus its stdout."""
    if shutil.which("makensis") is None:
        pytest.fail(
            "makensis not found: install NSIS to build the Windows installer "
            "(Debian/Ubuntu: `apt-get install -y nsis`; .ci/run does this when it can)",
            pytrace=False,
        )
    out = tmp_path_factory.mktemp("release")
    report = out / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_release.py"),
            "--dist",
            str(out / "dist"),
            "--work",
            str(out / "work"),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=2300,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        pytest.fail(f"scripts/build_release.py failed ({result.returncode}):\n{tail}")
    loaded: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    loaded["stdout"] = result.stdout
    return loaded
