"""Python's cycle collector, run on the GUI thread only.

Left to itself, the collector runs in whichever thread allocates when a generation passes its
threshold: a download, the generation worker, an HTTP handler. A cycle it frees there may hold
a Qt object (qasync's timers and executor threads are such cycles), whose destructor then runs
on that thread: Qt says "Timers cannot be stopped from another thread" and the process can
crash later. So automatic collection is off, and the GUI thread collects on a timer by the
same per-generation thresholds Python uses.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # garbage waits at most this long; a collection of the young costs microseconds


class GuiThreadCollector(QObject):
    """Switches automatic collection off for the process while it lives; owned by the app."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(INTERVAL_MS)
        self.destroyed.connect(gc.enable)

    @staticmethod
    def collect_due() -> int:
        """Collect the oldest generation whose count has passed its threshold, as Python
        would have; the number of unreachable objects found."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                return gc.collect(generation)
        return 0
