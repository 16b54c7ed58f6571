"""Background work in the UI, one idiom: a QObject worker on its own QThread.

Requests reach a worker as queued signals and results leave it as queued signals; a worker's
thread is started by `start_thread` and stopped by `stop_thread` (quit → wait, never
terminate). Long-lived workers (generation, downloads, the model manager's) are QObjects of
their own; one-off jobs (a database read, a chain walk, an export, a GPU search) are `Task`s on a
`TaskRunner`, itself such a worker: `run(progress)` off the GUI thread, then `done(result)` on it.

A runner's shutdown is cooperative: tasks not yet started are skipped unless they must finish
(`Task(..., finish=True)`: a write the user's data depends on), and a walk of the chain stops at
its next progress report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

T = TypeVar("T")
Progress = Callable[[int, int], None]  # (done, total), as ReceiptChain.verify reports
# An export cannot be interrupted (about 7 s for 100,000 receipts with texts): wait it out.
_STOP_WAIT_MS = 60_000
# Explicit on every cross-thread connection (DESIGN rule 2), never left to AutoConnection.
QUEUED = Qt.ConnectionType.QueuedConnection


def start_thread(worker: QObject, name: str) -> QThread:
    """Move `worker` onto a new running thread; its slots then run there."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread, wait_ms: int) -> bool:
    """quit → wait(wait_ms); True if the thread has ended.

    A worker blocked in the core (a Hub request up to its timeout, a download waiting for its
    next chunk) may outlast the window that started it. Its thread is then handed to the
    application, which deletes it once it has finished and waits for it before quitting.
    The worker itself stays alive while its slot runs: the running method holds it.
    """
    if not shiboken6.isValid(thread):
        return True  # at interpreter exit Python may have deleted it first: it was not running
    thread.quit()
    if thread.wait(wait_ms):
        return True
    app = QCoreApplication.instance()
    if app is not None:
        thread.setParent(app)  # now owned by Qt: the window's references going cannot kill it
        thread.finished.connect(thread.deleteLater)
        app.aboutToQuit.connect(thread.wait)
    return False


class Cancelled(Exception):
    """Raised inside a task's progress callback once its runner shuts down: it ends a walk early."""


class Task(Generic[T]):
    """`run(progress)` on the worker thread, then on the GUI thread `done(result)`, or
    `error(message)` if it raised; `progress` gets the run's progress reports there too.
    `finish`: run even when the runner shuts down before it started (a write)."""

    def __init__(
        self,
        run: Callable[[Progress], T],
        done: Callable[[T], None],
        *,
        progress: Progress | None = None,
        error: Callable[[str], None] | None = None,
        finish: bool = False,
    ) -> None:
        self._run, self._done = run, done
        self._progress, self._error = progress, error
        self.finish = finish
        self._result: T  # set by execute(), on the worker thread, before delivery

    def execute(self, progress: Progress) -> None:
        self._result = self._run(progress)

    def deliver(self) -> None:
        self._done(self._result)

    def report(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(done, total)

    def fail(self, message: str) -> None:
        if self._error is not None:
            self._error(message)


class _Worker(QObject):
    requested = Signal(object)  # Task, or None: quit once every earlier request is handled
    finished = Signal(object)  # Task, its result inside
    progressed = Signal(object, int, int)  # Task, done, total
    failed = Signal(object, str)  # Task, message for the user

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self._stop = stop
        self.requested.connect(self._run, QUEUED)

    @Slot(object)
    def _run(self, task: Task[object] | None) -> None:
        if task is None:  # queued behind every task submitted before shutdown: they are done
            QThread.currentThread().quit()
            return
        if self._stop.is_set() and not task.finish:
            return
        try:
            task.execute(partial(self._progress, task))
        except Cancelled:
            return
        except Exception as error:  # reported, never lost: the thread must keep serving
            self.failed.emit(task, str(error) or type(error).__name__)
            return
        self.finished.emit(task)

    def _progress(self, task: Task[object], done: int, total: int) -> None:
        if self._stop.is_set() and not task.finish:
            raise Cancelled
        self.progressed.emit(task, done, total)


class TaskRunner(QObject):
    """One worker thread running tasks in the order submitted. submit() and the callbacks are
    the GUI thread's; `failed` says what went wrong in a task, in one line for the user."""

    failed = Signal(str)

    def __init__(
        self,
        name: str,
        parent: QObject | None = None,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        """`cleanup` runs on the worker thread as it ends: to close what its tasks opened."""
        super().__init__(parent)
        self._stop = threading.Event()
        self._pending = 0  # submitted, not yet delivered
        self._worker = _Worker(self._stop)
        self._worker.finished.connect(self._finished, QUEUED)
        self._worker.progressed.connect(self._progressed, QUEUED)
        self._worker.failed.connect(self._failed, QUEUED)
        self._thread = QThread()
        if cleanup is not None:
            # QThread.finished is emitted by the ending thread itself; direct keeps it there.
            self._thread.finished.connect(cleanup, Qt.ConnectionType.DirectConnection)
        app = QCoreApplication.instance()
        if app is not None:  # a window left open at exit must not leave its thread running
            app.aboutToQuit.connect(self.shutdown)
        self._thread.setObjectName(name)
        self._worker.moveToThread(self._thread)
        self._thread.start()

    def submit(self, task: Task[T]) -> None:
        self._pending += 1
        self._worker.requested.emit(task)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @property
    def idle(self) -> bool:
        """Every task submitted has been delivered (or has failed)."""
        return self._pending == 0

    def shutdown(self) -> None:
        """Stop → quit → wait; safe to call twice. Tasks that must finish run first; results
        still queued are dropped."""
        self._stop.set()
        if not shiboken6.isValid(self._thread) or not self._thread.isRunning():
            return
        self._worker.requested.emit(None)  # not quit(): that could skip a write still queued
        if not self._thread.wait(_STOP_WAIT_MS):
            stop_thread(self._thread, 0)  # handed to the application, which waits for it

    @Slot(object)
    def _finished(self, task: Task[object]) -> None:
        self._pending -= 1
        if not self._stop.is_set():
            task.deliver()

    @Slot(object, int, int)
    def _progressed(self, task: Task[object], done: int, total: int) -> None:
        if not self._stop.is_set():
            task.report(done, total)

    @Slot(object, str)
    def _failed(self, task: Task[object], message: str) -> None:
        self._pending -= 1
        if not self._stop.is_set():
            task.fail(message)
            self.failed.emit(message)
