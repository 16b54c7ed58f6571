"""Faults of the disk under the data folder: full while a receipt is written, read-only at
start-up. Real `bizra` and window processes, the real model, real SQLite files."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import _one_line_error, bizra
from tests.helpers import RecordProperty
from tests.reliability.processes import (
    Child,
    as_user,
    bizra_command,
    bizra_env,
    chain_state,
    stored_messages,
)

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(sys.platform != "linux", reason="prlimit, and capabilities for root"),
]


@pytest.mark.reliability(
    area="Faults",
    case="the disk filling up during a write of the conversation",
    done="a running `bizra chat` had its file size limit (RLIMIT_FSIZE, set with prlimit) "
    "lowered to its database's WAL size between two answers, then raised again",
)
def test_a_full_disk_fails_the_answer_and_keeps_the_chain(
    record_property: RecordProperty, bizra_home: Path
) -> None:
    with Child(bizra_command("chat"), bizra_env(bizra_home), stdin=True) as chat:
        answered = _turn(chat, 1, "Say hi.")
        # The next write to any file past this size fails (EFBIG: CPython ignores SIGXFSZ), as
        # on a full disk; the prompt, saved before the model runs, is the first thing the next
        # answer writes (a failed receipt write rolls back with the texts: tests/core).
        wal = (bizra_home / "bizra.sqlite3-wal").stat().st_size
        _, hard = resource.prlimit(chat.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(chat.pid, resource.RLIMIT_FSIZE, (wal, hard))
        full = _turn(chat, 2, "Say hello again.")
        resource.prlimit(chat.pid, resource.RLIMIT_FSIZE, (hard, hard))
        freed = _turn(chat, 3, "Say bye.")
        assert chat.finish() == 0, chat.output()

    error = "bizra: error: the conversation could not be saved: disk I/O error"
    assert [line for line in full.splitlines() if "error" in line] == [error]
    assert "Traceback" not in chat.stderr.decode()
    report, hashes = chain_state(bizra_home)
    assert report.ok, report.message
    assert [h[:16] for h in hashes] == [_receipt_prefix(answered), _receipt_prefix(freed)]
    assert [(m.role, m.content) for m in stored_messages(bizra_home) if m.role == "user"] == [
        ("user", "Say hi."),
        ("user", "Say bye."),
    ]
    record_property("runs", 1)
    record_property(
        "result",
        f"the prompt's write failed with {error!r}; the 1 receipt and 2 messages before it "
        "intact, chain verified; after space came back the same process answered with a receipt",
    )


def _turn(chat: Child, number: int, prompt: str) -> str:
    """The chat's `number`th prompt; returns what the turn wrote to stderr."""
    chat.wait_for(lambda: chat.stdout.count(b"you> ") >= number)
    before = len(chat.stderr)
    chat.send(prompt + "\n")
    chat.wait_for(lambda: chat.stdout.count(b"you> ") >= number + 1)
    # stderr is a pipe of its own: the turn's last line there (its figures or its error) may
    # arrive after the next prompt on stdout.
    chat.wait_for(lambda: _turn_ended(chat.stderr[before:]))
    return chat.stderr[before:].decode()


def _turn_ended(stderr: bytes) -> bool:
    *lines, rest = stderr.split(b"\n")
    return not rest and bool(lines) and (b" tok/s " in lines[-1] or b"error" in lines[-1])


def _receipt_prefix(stderr: str) -> str:
    """The receipt hash's first 16 digits, as the answer's figures line shows them."""
    return stderr.rpartition("receipt ")[2][:16]


# The window's start-up (bizra_desktop.ui.app.main) as a user runs it; the message box it shows
# is read and closed by a timer, and a window that did start is closed after 30 s.
_WINDOW = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from bizra_desktop.ui import app

def read_message_box() -> None:
    box = QApplication.activeModalWidget()
    if isinstance(box, QMessageBox):
        print(box.windowTitle(), box.text(), sep=": ", flush=True)
        box.accept()

qt = app.create_application()
timer = QTimer()
timer.timeout.connect(read_message_box)
timer.start(50)
QTimer.singleShot(30_000, qt.quit)
sys.exit(app.main())
"""


def _start_window(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        as_user([sys.executable, "-c", _WINDOW]),
        capture_output=True,
        text=True,
        env={**bizra_env(home), "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
        check=False,
    )


def _ask_as_user(home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        as_user(bizra_command("ask", "Hello!", "--max-tokens", "4")),
        capture_output=True,
        text=True,
        env=bizra_env(home),
        timeout=120,
        check=False,
    )


def _snapshot(home: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under `home`: its content's hash, mtime and mode."""
    return {
        str(path.relative_to(home)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
            path.stat().st_mode,
        )
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


@pytest.mark.reliability(
    area="Faults",
    case="a read-only data folder",
    done="`bizra ask` and the window's start-up, each with the data folder read-only (0o500), "
    "its database read-only (0o400), and a data folder that cannot be created; as root without "
    "CAP_DAC_OVERRIDE so that the permissions hold",
)
def test_a_read_only_data_folder_is_named_in_one_line(
    record_property: RecordProperty, bizra_home: Path, tmp_path: Path
) -> None:
    assert bizra(bizra_home, "ask", "Hello!", "--max-tokens", "4").returncode == 0
    database = bizra_home / "bizra.sqlite3"
    cases = {
        "folder 0o500": (
            bizra_home,
            0o500,
            f"cannot open the database {database}: the data folder {bizra_home} is read-only",
        ),
        "database 0o400": (
            database,
            0o400,
            f"cannot open the database {database}: "
            f"bizra.sqlite3 in the data folder {bizra_home} is read-only",
        ),
    }
    errors = []
    for name, (target, mode, message) in cases.items():
        before = _snapshot(bizra_home)
        kept_mode = target.stat().st_mode
        target.chmod(mode)
        try:
            asked = _ask_as_user(bizra_home)
            started = _start_window(bizra_home)
        finally:
            target.chmod(kept_mode)
        _one_line_error(asked, 1, message)
        assert asked.stderr == f"bizra: error: {message}\n", name
        assert (started.returncode, started.stdout) == (
            1,
            f"BIZRA Desktop cannot start: {message}\n",
        ), started.stderr
        assert "Traceback" not in started.stderr
        assert _snapshot(bizra_home) == before, f"{name}: a file was changed"
        errors.append(message)

    parent = tmp_path / "locked"
    parent.mkdir(mode=0o500)
    missing = parent / "home"
    message = f"cannot create the data folder {missing}: [Errno 13] Permission denied: '{missing}'"
    _one_line_error(_ask_as_user(missing), 1, message)
    started = _start_window(missing)
    assert (started.returncode, started.stdout) == (1, f"BIZRA Desktop cannot start: {message}\n")
    assert not missing.exists()
    errors.append(message)

    assert bizra(bizra_home, "ask", "Hello again!", "--max-tokens", "4").returncode == 0
    report, hashes = chain_state(bizra_home)
    assert report.ok and len(hashes) == 2
    record_property("runs", 6)
    record_property(
        "result",
        f"6 of 6 refused with one line naming the folder, no traceback, no file changed: {errors}; "
        f"{'run as root without CAP_DAC_OVERRIDE' if os.geteuid() == 0 else 'run as a user'}",
    )
