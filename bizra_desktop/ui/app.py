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
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.serving import LocalServer, StartLocalServer
from bizra_desktop.core.settings import Settings
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


class LocalApi:
    """The local OpenAI-compatible API beside the window: started, restarted or stopped to
    match its settings, on the app's event loop, and closed when the window closes."""

    def __init__(self, window: MainWindow, start: StartLocalServer | None) -> None:
        """`start`: the API front end's starter (None: this app serves no API)."""
        self.window, self._start = window, start
        self.server: LocalServer | None = None
        self._serving = self._wanted(window.settings)
        window.settings_applied.connect(self._on_settings)
        window.closing.connect(self.close)

    @staticmethod
    def _wanted(settings: Settings) -> tuple[bool, int, str]:
        return settings.api_enabled, settings.api_port, settings.api_key

    def _on_settings(self, settings: Settings) -> None:
        if self._wanted(settings) != self._serving:
            self._serving = self._wanted(settings)
            asyncio.get_running_loop().create_task(self.sync())

    async def sync(self) -> None:
        """Start, restart or stop the server to match the window's settings."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        settings, status = self.window.settings, self.window.status
        if not settings.api_enabled:
            status.show_api(None)
            return
        if self._start is None:
            status.show_api("API: off (this app was started without it)")
            return
        port = settings.api_port
        try:
            self.server = await self._start(
                self.window.pipeline,
                "127.0.0.1",
                port,
                settings.api_key,
                defaults=lambda: run_defaults(self.window.settings),
            )
        except OSError as error:
            status.show_api(f"API: off (port {port}: {error.strerror or error})")
            return
        status.show_api(f"API: http://127.0.0.1:{port}/v1")

    def close(self) -> None:
        """Stop listening; a running answer stops with the window's pipeline."""
        if self.server is not None:
            self.server.close()


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
        window = MainWindow(data_paths())
    except (ReceiptStoreError, OSError, sqlite3.Error) as error:  # e.g. a read-only data folder
        QMessageBox.critical(None, "BIZRA Desktop cannot start", str(error))
        return 1
    api = LocalApi(window, start_api_server)
    window.show()
    window.maybe_open_first_run_guide()
    if window.settings.api_enabled:
        loop.create_task(api.sync())
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    return 0
