"""Real `bizra` processes for the fault tests: output read as it arrives, SIGKILL, the
children a killed process leaves behind, and running a process without root's override of
file permissions. POSIX only (SIGKILL, /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from bizra_desktop.core.conversations import ConversationStore, Message
from bizra_desktop.core.receipts.chain import ReceiptChain, VerifyReport

# Run as root, a process writes to read-only files anyway (CAP_DAC_OVERRIDE). This prefix drops
# that capability and CAP_DAC_READ_SEARCH from the bounding set, then execs the command: as
# root it then gets exactly a user's permission checks on files it does not own.
_DROP_DAC = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH; 24 = PR_CAPBSET_DROP\n"
    "    if libc.prctl(24, cap, 0, 0, 0) != 0:\n"
    "        sys.exit(f'cannot drop capability {cap}: errno {ctypes.get_errno()}')\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def as_user(command: Sequence[str]) -> list[str]:
    """`command` with the permission checks a user gets, also when the tests run as root."""
    if os.geteuid() != 0:
        return list(command)
    return [sys.executable, "-c", _DROP_DAC, *command]


def bizra_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bizra_desktop", *args]


def bizra_env(home: Path) -> dict[str, str]:
    return {**os.environ, "BIZRA_HOME": str(home), "PYTHONUTF8": "1"}


class Child:
    """A process whose stdout and stderr are collected as they arrive."""

    def __init__(self, command: Sequence[str], env: dict[str, str], stdin: bool = False) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.started = time.monotonic()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(stream, buffer), daemon=True)
            for stream, buffer in (
                (self.process.stdout, self.stdout),
                (self.process.stderr, self.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        """A test that failed midway leaves no process behind."""
        if self.process.poll() is None:
            self.kill()

    def _read(self, stream: IO[bytes], buffer: bytearray) -> None:
        while chunk := os.read(stream.fileno(), 65536):
            with self._changed:
                buffer += chunk
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until `ready()` holds; AssertionError (with the output) if the process ended or
        the time ran out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                if self.process.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(f"the process ended first: {self.output()}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting: {self.output()}")
                self._changed.wait(0.05)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode())
        self.process.stdin.flush()

    def kill(self) -> list[int]:
        """SIGKILL the process; returns the pids of its children, as they were just before."""
        children = child_pids(self.pid)
        self.process.send_signal(signal.SIGKILL)
        self.finish()
        return children

    def finish(self, timeout: float = 60.0) -> int:
        if self.process.stdin is not None:
            self.process.stdin.close()
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        assert self.process.stdout is not None and self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()
        return code

    def output(self) -> str:
        return f"stdout={bytes(self.stdout)!r} stderr={bytes(self.stderr)!r}"


def child_pids(pid: int) -> list[int]:
    """The running processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name is in parentheses and may hold spaces: split after it.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def still_running(pids: Sequence[int], within_s: float) -> list[int]:
    """Those of `pids` still running (a zombie has ended) after waiting up to `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        alive = [pid for pid in pids if _running(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def stored_messages(home: Path) -> list[Message]:
    """Every stored message, oldest conversation first (opening the conversations as the app
    does, which also proves the file opens)."""
    with ConversationStore(home / "bizra.sqlite3") as store:
        return [
            message
            for conversation in reversed(store.list())
            for message in store.messages(conversation.id)
        ]


def chain_state(home: Path) -> tuple[VerifyReport, list[str]]:
    """The chain's verification and its receipt hashes, as `bizra receipts verify` sees them."""
    with ReceiptChain(home / "bizra.sqlite3") as chain:
        return chain.verify(), [receipt.hash for receipt in chain]
