"""`bizra-desktop --self-test`: the whole app, end to end, on the built-in model, offscreen.

The release build runs this against the frozen bundle before the installer is made (the
frozen app is smoke-tested first, DESIGN.md rule 9): it proves that Qt finds its platform
plugin, that the inference host starts as a child process of the frozen executable, that
llama.cpp's shared libraries load, that the starter model is in the bundle, and that a receipt
is written, survives closing the window and verifies.

One prompt goes through the window's own send path (the Send button), in a temporary
BIZRA_HOME; the window is then closed and the receipt chain is re-opened from disk and
verified, and the receipt's commitments are checked against the prompt and answer the window
stored. Success: exit 0 and ONE line on stdout,

    BIZRA Desktop self-test OK: model=… tokens=… tok/s=… receipt=<sha256> chain=verified …

Failure: exit 1 and one line `BIZRA Desktop self-test FAILED: <reason>` on stderr. A watchdog
ends the process (exit 3) if the event loop itself hangs, so the test always ends in bounded time.
`--self-test-report FILE` also writes the line to FILE: a windowed Windows executable may have
no stdout to print to.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import qasync

from bizra_desktop import __version__
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.models.store import STARTER_NAME
from bizra_desktop.core.paths import HOME_ENV, DataPaths, data_paths
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui.app import create_application
from bizra_desktop.ui.chat.code_render import lexer_for
from bizra_desktop.ui.main_window import MainWindow

REPORT_FLAG = "--self-test-report"
TIMEOUT_ENV = "BIZRA_SELF_TEST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 180.0
PROMPT = "What is 2 + 2?"
MAX_TOKENS = 32
OK_PREFIX = "BIZRA Desktop self-test OK:"
FAILED_PREFIX = "BIZRA Desktop self-test FAILED:"
WATCHDOG_EXIT = 3
_WATCHDOG_GRACE_S = 45.0  # past the timeout: time to stop the answer and close the window
_POLL_S = 0.05
_STOP_WAIT_S = 30.0  # a model load cannot be interrupted; the stop lands after it


class SelfTestError(Exception):
    """The self-test failed; str() is the one-line reason."""


@dataclass(frozen=True)
class SelfTestResult:
    model: str
    tokens: int
    tokens_per_s: float
    ttft_ms: float
    backend: str
    receipt_hash: str
    chain_length: int
    host_pid: int
    seconds: float

    def summary(self) -> str:
        frozen = "yes" if getattr(sys, "frozen", False) else "no"
        return (
            f"{OK_PREFIX} model={self.model} tokens={self.tokens} "
            f"tok/s={self.tokens_per_s:.1f} ttft_ms={self.ttft_ms:.0f} "
            f"receipt={self.receipt_hash} chain=verified({self.chain_length}) "
            f"backend={self.backend.replace(' ', '_')} host_pid={self.host_pid} "
            f"frozen={frozen} version={__version__} seconds={self.seconds:.1f}"
        )


def _report_path(argv: Sequence[str]) -> Path | None:
    for index, argument in enumerate(argv):
        if argument.startswith(f"{REPORT_FLAG}="):
            return Path(argument.split("=", 1)[1])
        if argument == REPORT_FLAG and index + 1 < len(argv):
            return Path(argv[index + 1])
    return None


def _timeout_s() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise SelfTestError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    if value <= 0:
        raise SelfTestError(f"{TIMEOUT_ENV} must be positive, not {text}")
    return value


def _emit(line: str, ok: bool, report: Path | None) -> None:
    stream = sys.stdout if ok else sys.stderr
    if stream is not None:  # None in a windowed executable started without handles
        print(line, file=stream, flush=True)
    if report is not None:
        try:
            report.write_text(line + "\n", encoding="utf-8")
        except OSError as error:
            if sys.stderr is not None:
                print(f"{FAILED_PREFIX} cannot write {report}: {error}", file=sys.stderr)


def _start_watchdog(seconds: float, report: Path | None) -> threading.Timer:
    def expire() -> None:
        _emit(
            f"{FAILED_PREFIX} the app did not finish within {seconds:g} s (watchdog)",
            False,
            report,
        )
        os._exit(WATCHDOG_EXIT)

    watchdog = threading.Timer(seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def run_self_test(argv: Sequence[str]) -> int:
    """Run the self-test; returns the process exit code."""
    report = _report_path(argv)
    started = time.perf_counter()
    try:
        timeout = _timeout_s()
    except SelfTestError as error:
        _emit(f"{FAILED_PREFIX} {error}", False, report)
        return 1
    watchdog = _start_watchdog(timeout + _WATCHDOG_GRACE_S, report)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    previous_home = os.environ.get(HOME_ENV)
    try:
        with tempfile.TemporaryDirectory(
            prefix="bizra-self-test-", ignore_cleanup_errors=True
        ) as home:
            os.environ[HOME_ENV] = home
            result = _run_in_app(data_paths(), timeout, started)
    except SelfTestError as error:
        _emit(f"{FAILED_PREFIX} {error}", False, report)
        return 1
    except Exception as error:  # the reason, not a traceback, is the self-test's output
        _emit(f"{FAILED_PREFIX} {type(error).__name__}: {error}", False, report)
        return 1
    finally:
        watchdog.cancel()
        if previous_home is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous_home
    _emit(result.summary(), True, report)
    return 0


def _run_in_app(paths: DataPaths, timeout: float, started: float) -> SelfTestResult:
    paths.ensure()
    settings = load_settings(paths.settings)
    save_settings(paths.settings, replace(settings, temperature=0.0, max_tokens=MAX_TOKENS))

    app = create_application()
    if getattr(sys, "frozen", False) and app.windowIcon().isNull():
        raise SelfTestError("the bundle lacks the application icon (resources/icons/bizra.png)")
    # Pygments finds its lexers by name at run time, which a bundle can silently leave out.
    if lexer_for("python") is None:
        raise SelfTestError("the bundle lacks Pygments' lexers: code blocks would not be coloured")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(paths)
    window.show()
    host_pids: set[int] = set()
    try:
        with loop:
            loop.run_until_complete(_ask(window, timeout, host_pids))
    finally:
        window.close()  # stops the worker thread and ends the inference host
        window.deleteLater()
        app.processEvents()
        asyncio.set_event_loop(None)
    return _verify(paths, host_pids, time.perf_counter() - started)


async def _ask(window: MainWindow, timeout: float, host_pids: set[int]) -> None:
    """Send PROMPT the way a user does and wait until the window has stored the answer."""
    window.pane.prompt.setPlainText(PROMPT)
    if not window.pane.send_button.isEnabled():
        raise SelfTestError("the Send button is disabled in a fresh window")
    window.pane.send_button.click()
    if window.answer is None:
        raise SelfTestError("clicking Send did not start an answer")
    deadline = time.monotonic() + timeout
    while window.answer is not None:
        pid = window.pipeline.host.pid
        if pid is not None:
            host_pids.add(pid)
        if time.monotonic() > deadline:
            await _stop(window)
            raise SelfTestError(f"no answer within {timeout:g} s")
        await asyncio.sleep(_POLL_S)


async def _stop(window: MainWindow) -> None:
    """Stop the answer and let the window take in its last events before it is closed."""
    window.stop()
    deadline = time.monotonic() + _STOP_WAIT_S
    while window.answer is not None and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)


def _verify(paths: DataPaths, host_pids: set[int], seconds: float) -> SelfTestResult:
    with ConversationStore(paths.database) as store:
        conversations = store.list()
        if len(conversations) != 1:
            raise SelfTestError(f"expected one conversation, found {len(conversations)}")
        messages = store.messages(conversations[0].id)
    roles = [message.role for message in messages]
    if roles and roles[-1] == "error":
        raise SelfTestError(f"the answer failed: {messages[-1].content}")
    if roles != ["user", "assistant"]:
        raise SelfTestError(f"expected a prompt and an answer, the window stored {roles}")
    prompt, answer = messages
    meta = answer.meta
    if not answer.content.strip():
        raise SelfTestError("the model's answer is empty")
    if meta.get("model") != STARTER_NAME:
        raise SelfTestError(f"answered by {meta.get('model')!r}, not the built-in {STARTER_NAME}")
    if not host_pids or os.getpid() in host_pids:
        raise SelfTestError("the model did not run in a separate inference process")
    receipt_hash = answer.receipt_hash
    if not receipt_hash:
        raise SelfTestError("the answer has no receipt")

    # A fresh connection after the window closed: the receipt must be on disk, not in a cache.
    with ReceiptChain(paths.database) as chain:
        report = chain.verify()
        receipt = chain.get(receipt_hash)
    if not report.ok:
        raise SelfTestError(f"receipt chain does not verify: {report.message}")
    if receipt is None or report.count != 1:
        raise SelfTestError(f"receipt {receipt_hash[:12]}… not in the chain ({report.message})")
    _check_commitments(paths.database, receipt_hash, receipt.body, prompt.content, answer.content)
    return SelfTestResult(
        model=str(meta.get("model")),
        tokens=int(meta.get("tokens", 0)),
        tokens_per_s=float(meta.get("tokens_per_s", 0.0)),
        ttft_ms=float(meta.get("ttft_ms", 0.0)),
        backend=str(meta.get("backend", "?")),
        receipt_hash=receipt_hash,
        chain_length=report.count,
        host_pid=min(host_pids),
        seconds=seconds,
    )


def _check_commitments(
    database: Path, receipt_hash: str, body: Mapping[str, Any], prompt: str, answer: str
) -> None:
    """The receipt commits to exactly the prompt and answer the window showed and stored."""
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        row = connection.execute(
            "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
        ).fetchone()
    except sqlite3.Error as error:
        raise SelfTestError(f"cannot read the receipt's commitment salt: {error}") from None
    finally:
        connection.close()
    if row is None:
        raise SelfTestError("the receipt's commitment salt is missing")
    salt = bytes(row[0])
    if body.get("prompt_commitment") != commit(prompt, salt):
        raise SelfTestError("the receipt's prompt commitment does not match the prompt")
    if body.get("response_commitment") != commit(answer, salt):
        raise SelfTestError("the receipt's response commitment does not match the answer")
