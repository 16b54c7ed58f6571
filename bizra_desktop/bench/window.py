"""`bizra bench --ui`: how responsive the window stays while a long answer streams into it.

A QTimer probe asks to run every few milliseconds; how late it actually runs is the event
loop's lag, which is what a user feels as a stuck window.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.ui import theme
from bizra_desktop.ui.main_window import MainWindow

PROBE_MS = 5
PROMPT = "Write a very long story about a lighthouse keeper and a storm."


def run_ui_benchmark(tokens: int = 1000) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    theme.manager()  # the look the app has
    with tempfile.TemporaryDirectory(prefix="bizra-ui-bench-") as scratch:
        paths = DataPaths(Path(scratch)).ensure()
        save_settings(paths.settings, replace(load_settings(paths.settings), max_tokens=tokens))
        window = MainWindow(paths)
        window.resize(1100, 720)
        window.show()
        # A benchmark needs the full length: generation goes on past the model's end token.
        plain_options = window.controller.options
        window.controller.options = lambda pin: replace(
            plain_options(pin), params=replace(plain_options(pin).params, ignore_eos=True)
        )
        renders = 0
        last_length = 0

        def count_render() -> None:  # runs after the window's own render on each tick
            nonlocal renders, last_length
            live = window.pane.live
            length = live.view.body.document().characterCount() if live else 0
            if live is not None and length != last_length:
                renders += 1
            last_length = length

        window.pane.render_timer.timeout.connect(count_render)
        streamed: list[int] = []
        worker = window.controller.generation.worker
        worker.token.connect(lambda *_: streamed.append(1))

        lags: list[float] = []
        last = time.perf_counter()

        def probe() -> None:
            nonlocal last
            now = time.perf_counter()
            if streamed:  # measure only while tokens stream
                lags.append(max(0.0, (now - last) * 1000 - PROBE_MS))
            last = now

        timer = QTimer()
        timer.setInterval(PROBE_MS)
        timer.timeout.connect(probe)
        loop = QEventLoop()
        worker.finished.connect(loop.quit)
        worker.failed.connect(loop.quit)
        timer.start()
        window.pane.prompt.setPlainText(PROMPT)
        started = time.perf_counter()
        window.send()
        loop.exec()
        elapsed = time.perf_counter() - started
        timer.stop()
        window.close()
    return {
        "ui_tokens_streamed": len(streamed),
        "ui_renders": renders,
        "ui_renders_per_s": round(renders / elapsed, 1),
        "ui_lag_p50_ms": round(statistics.median(lags), 2),
        "ui_lag_p99_ms": round(statistics.quantiles(lags, n=100)[98], 2),
        "ui_lag_max_ms": round(max(lags), 2),
    }
