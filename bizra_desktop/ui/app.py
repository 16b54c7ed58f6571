"""Start-up: the Qt application on a qasync event loop, and the main window."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import sys
from pathlib import Path

import qasync
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from bizra_desktop import __version__
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.receipts.chain import ReceiptStoreError
from bizra_desktop.core.serving import StartLocalServer
from bizra_desktop.ui import theme
from bizra_desktop.ui.gui_gc import GuiThreadCollector
from bizra_desktop.ui.main_window import MainWindow

# The source tree's resources/, or the bundle's (build.spec copies it there) when frozen.
_RESOURCES = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2])) / "resources"


def create_application() -> QApplication:
    """The QApplication with the app's name, version, look and icon (the self-test uses it too)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("BIZRA Desktop")
    app.setApplicationVersion(__version__)
    theme.manager()  # the system's light or dark theme; the window applies the setting
    if app.findChild(GuiThreadCollector) is None:
        GuiThreadCollector(app)
    icon = _RESOURCES / "icons" / "bizra.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def main(start_api_server: StartLocalServer | None = None) -> int:
    """The window, serving the local API with `start_api_server` when the settings say so."""
    multiprocessing.freeze_support()  # the inference host is a child process, frozen or not
    if "--self-test" in sys.argv[1:]:
        from bizra_desktop.ui.self_test import run_self_test  # noqa: PLC0415

        return run_self_test(sys.argv[1:])
    app = create_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        window = MainWindow(data_paths(), start_api_server)
    except (ReceiptStoreError, OSError, sqlite3.Error) as error:  # e.g. a read-only data folder
        QMessageBox.critical(None, "BIZRA Desktop cannot start", str(error))
        return 1
    window.show()
    window.maybe_open_first_run_guide()
    if window.settings.api_enabled:
        loop.create_task(window.sync_api_server())
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
