"""Worker threads of the model manager: started with their worker, stopped without blocking
the window for long, and never destroyed while they run (Qt aborts the process if they are)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread


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
