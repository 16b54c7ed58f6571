"""Start-up: the Qt application on a qasync event loop, and the main window."""

from __future__ import annotations

import asyncio
import multiprocessing
import sys

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox

from bizra_desktop import __version__
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.receipts.chain import ReceiptStoreError
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.style import STYLESHEET


def main() -> int:
    multiprocessing.freeze_support()  # the inference host is a child process, frozen or not
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("BIZRA Desktop")
    app.setApplicationVersion(__version__)
    app.setStyleSheet(STYLESHEET)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        window = MainWindow(data_paths())
    except (ReceiptStoreError, OSError) as error:
        QMessageBox.critical(None, "BIZRA Desktop cannot start", str(error))
        return 1
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
