"""`bizra models …` as users run it: a real process, a temp BIZRA_HOME, a local Hub."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.core.tiers import Tier
from tests.helpers import fake_nvidia_smi, starter_path
from tests.hub_server import Blob, Fault, HubServer

NANO = Tier.NANO.spec
TEN_MIB = 10 * 1024 * 1024
OFFLINE = "the app keeps working with the installed models"

# Runs `bizra` with a file-size limit: a write past it fails with EFBIG (instead of the
# SIGXFSZ signal killing the process), the same clean OSError path as a full disk.
SIZE_LIMITED = (
    "import resource, runpy, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "sys.argv = ['bizra', *sys.argv[2:]]\n"
    "runpy.run_module('bizra_desktop', run_name='__main__')\n"
)


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer() as server:
        server.add_repo(NANO.repo_id, {NANO.filename: Blob(starter_path())})
        yield server


def _env(home: Path, endpoint: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    return {
        **env,
        "BIZRA_HOME": str(home),
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PYTHONUTF8": "1",
    }


def bizra(
    home: Path, endpoint: str, *args: str, size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    start = ["-m", "bizra_desktop"] if size_limit is None else ["-c", SIZE_LIMITED, str(size_limit)]
    return subprocess.run(
        [sys.executable, *start, "models", *args],
        capture_output=True,
        text=True,
        env=_env(home, endpoint),
        timeout=120,
        check=False,
    )


def _listed(home: Path, endpoint: str) -> dict[str, Any]:
    result = bizra(home, endpoint, "list", "--json")
    assert result.returncode == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def _error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line `bizra` ends with; no traceback anywhere."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("bizra: error: ")
    return last


def test_list_download_import_delete_verify(
    bizra_home: Path, hub: HubServer, tmp_path: Path
) -> None:
    listed = _listed(bizra_home, hub.url)
    nano = listed["tiers"][0]
    assert (nano["tier"], nano["state"]) == ("NANO", "not installed")
    assert (nano["size_bytes"], nano["size_is_estimate"]) == (starter_path().stat().st_size, False)
    assert nano["fit"] in ("fits", "tight", "won't fit") and listed["hub_error"] is None

    result = bizra(bizra_home, hub.url, "download", "nano")
    assert result.returncode == 0, result.stderr
    assert f"installed {NANO.filename}" in result.stdout
    assert "NANO: downloading" in result.stderr and "NANO: verifying" in result.stderr

    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("my notes")
    failed = bizra(bizra_home, hub.url, "import", str(not_gguf), "--tier", "small")
    assert _error_line(failed, 2).endswith(
        "notes.gguf: not a GGUF file (the first bytes are not 'GGUF')"
    )
    imported = bizra(bizra_home, hub.url, "import", str(starter_path()), "--tier", "small")
    assert imported.returncode == 0, imported.stderr

    deleted = bizra(bizra_home, hub.url, "delete", "nano")
    assert deleted.returncode == 0 and NANO.filename in deleted.stdout

    verified = bizra(bizra_home, hub.url, "verify")
    assert verified.returncode == 0, verified.stderr
    assert [line.split()[:2] for line in verified.stdout.splitlines()] == [["SMALL", "ok"]]


def test_offline_each_command_says_so_in_one_line(bizra_home: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    line = _error_line(bizra(bizra_home, closed, "download", "micro"), 1)
    assert line.startswith("bizra: error: cannot reach Hugging Face: ") and line.endswith(OFFLINE)

    listed = bizra(bizra_home, closed, "list")
    assert listed.returncode == 0 and "MICRO (1.5B)" in listed.stdout
    assert listed.stderr.count("\n") == 1 and OFFLINE in listed.stderr


@pytest.mark.reliability(
    area="Faults",
    case="the disk filling up during a download",
    done="`bizra models download nano` with a file-size limit 40 MB into the 98 MB file "
    "(EFBIG, as on a full disk), then the same command with room again",
)
@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_fault_mid_download_fails_cleanly_and_resumes(
    bizra_home: Path, hub: HubServer
) -> None:
    limit = 4 * TEN_MIB + 12345
    result = bizra(bizra_home, hub.url, "download", "nano", size_limit=limit)
    line = _error_line(result, 1)
    assert "cannot write" in line and "File too large" in line and "partial file is kept" in line
    models = bizra_home / "models"
    assert not (models / NANO.filename).exists()
    kept = (models / f"{NANO.filename}.part").stat().st_size
    assert kept <= limit

    resumed = bizra(bizra_home, hub.url, "download", "nano")
    assert resumed.returncode == 0, resumed.stderr
    assert (models / NANO.filename).read_bytes() == starter_path().read_bytes()
    assert hub.downloads(NANO.filename)[-1].range_start == kept  # nothing fetched twice


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_ctrl_c_pauses_and_the_next_run_resumes(bizra_home: Path, hub: HubServer) -> None:
    hub.fail_next(Fault(hold_after=3 * TEN_MIB))
    part = bizra_home / "models" / f"{NANO.filename}.part"
    with subprocess.Popen(
        [sys.executable, "-m", "bizra_desktop", "models", "download", "nano"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(bizra_home, hub.url),
    ) as process:
        deadline = time.monotonic() + 60
        while not (part.is_file() and part.stat().st_size >= 2 * TEN_MIB):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        # The download sits in a read of the held body; give the signal a moment to set the
        # pause flag, then let bytes flow: the next chunk stops it.
        time.sleep(0.5)
        hub.release()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "paused at" in stderr and stderr.endswith("bizra: interrupted\n")
    kept = part.stat().st_size
    assert kept >= 2 * TEN_MIB and not (bizra_home / "models" / NANO.filename).exists()

    resumed = bizra(bizra_home, hub.url, "download", "nano")
    assert resumed.returncode == 0, resumed.stderr
    last = hub.downloads(NANO.filename)[-1]
    assert (last.range_start, last.sent) == (kept, starter_path().stat().st_size - kept)


def test_the_fit_counts_the_gpu_the_settings_pin(
    bizra_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Recorded from a machine with a big card and a small one.
    smi = fake_nvidia_smi(
        tmp_path / "bin",
        "0, NVIDIA H100 80GB HBM3, 81003, 81559\n1, NVIDIA GeForce GTX 1650, 1021, 4096\n",
    )
    monkeypatch.setenv("PATH", f"{smi}{os.pathsep}{os.environ['PATH']}")

    def nano_budget() -> int:
        result = bizra(bizra_home, "http://127.0.0.1:9", "list", "--json")
        assert result.returncode == 0, result.stderr
        (nano,) = [t for t in json.loads(result.stdout)["tiers"] if t["tier"] == "NANO"]
        return int(nano["memory_budget"])

    every_gpu = nano_budget()
    settings = bizra_home / "settings.json"
    save_settings(settings, replace(load_settings(settings), gpu_device=1))
    # 81 GB free on the two cards together against 1 GB on the pinned one, less headroom.
    assert 70e9 < every_gpu - nano_budget() < 81e9
