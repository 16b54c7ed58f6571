"""The performance report's charts: decode tokens/s per model (bandwidth bound and native
marked), and quiet against loaded decode speed for the pipeline and native llama-bench."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

WIDTH, HEIGHT, MARGIN = 900, 440, 60
BOTTOM = 80  # room for a tier and a model name wrapped over three lines


def _canvas() -> tuple[QImage, QPainter]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication.instance() or QGuiApplication([])  # fonts need an application
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setFont(QFont("sans", 9))
    return image, painter


def _axes(painter: QPainter, top: float) -> Callable[[float], float]:
    """Draws the axes scaled to `top` tokens/s; returns the y of a value."""
    plot_height = HEIGHT - MARGIN - BOTTOM

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - value / top * plot_height

    painter.drawLine(MARGIN, HEIGHT - BOTTOM, WIDTH - MARGIN, HEIGHT - BOTTOM)
    painter.drawLine(MARGIN, MARGIN, MARGIN, HEIGHT - BOTTOM)
    painter.drawText(QRectF(4, MARGIN - 24, 120, 16), Qt.AlignmentFlag.AlignLeft, "tokens/s")
    for fraction in (0.0, 0.5, 1.0):
        value = top / 1.1 * fraction
        painter.drawText(
            QRectF(4, y_of(value) - 8, MARGIN - 8, 16), Qt.AlignmentFlag.AlignRight, f"{value:.0f}"
        )
    return y_of


def render_chart(rows: Sequence[dict[str, Any]], path: Path) -> None:
    image, painter = _canvas()
    painter.drawText(
        QRectF(0, 8, WIDTH, 24),
        Qt.AlignmentFlag.AlignCenter,
        "Decode tokens/s per model (bar) · memory-bandwidth bound (red tick) · "
        "native llama-bench (blue tick)",
    )
    top = max([1.0, *(_marks(row) for row in rows)]) * 1.1
    y_of = _axes(painter, top)
    slot = (WIDTH - 2 * MARGIN) / max(1, len(rows))
    for index, row in enumerate(rows):
        bar = min(slot * 0.5, 120.0)
        left = MARGIN + index * slot + (slot - bar) / 2
        rate = float(row["pipeline_tokens_per_s"])
        painter.fillRect(
            QRectF(left, y_of(rate), bar, HEIGHT - BOTTOM - y_of(rate)), QColor("#00838f")
        )
        # Inside the bar's top (the ticks often sit just above it), or left of a short bar.
        if HEIGHT - BOTTOM - y_of(rate) >= 20:
            painter.setPen(QPen(QColor("white")))
            label, align = QRectF(left, y_of(rate) + 2, bar, 16), Qt.AlignmentFlag.AlignCenter
        else:
            label, align = QRectF(left - 50, y_of(rate) - 12, 40, 16), Qt.AlignmentFlag.AlignRight
        painter.drawText(label, align, f"{rate:.0f}")
        for key, colour in (
            ("bandwidth_bound_tokens_per_s", "#c62828"),
            ("native_tokens_per_s", "#1565c0"),
        ):
            if row.get(key):
                value = float(row[key])
                painter.setPen(QPen(QColor(colour), 3))
                mark = y_of(value)
                painter.drawLine(int(left - 6), int(mark), int(left + bar + 6), int(mark))
                painter.drawText(
                    QRectF(left + bar + 10, mark - 8, 40, 16),
                    Qt.AlignmentFlag.AlignLeft,
                    f"{value:.0f}",
                )
        painter.setPen(QPen(QColor("black")))
        painter.drawText(
            QRectF(left - 30, HEIGHT - BOTTOM + 6, bar + 60, BOTTOM - 8),
            Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap,
            f"{row['tier']}\n{row['model']}",
        )
    painter.end()
    image.save(str(path))


def _marks(row: dict[str, Any]) -> float:
    keys = ("pipeline_tokens_per_s", "bandwidth_bound_tokens_per_s", "native_tokens_per_s")
    return max(float(row.get(key) or 0) for key in keys)


QUIET, LOADED = QColor("#00838f"), QColor("#ef6c00")


def render_contention_chart(row: dict[str, Any], path: Path) -> None:
    """Quiet and loaded decode tok/s side by side: the pipeline with its automatic thread
    count, with a fixed one, and native llama-bench at each thread count."""
    figures = row["contention"]
    groups = [
        (
            "pipeline\nautomatic threads",
            figures["pipeline_quiet_tokens_per_s"],
            figures["pipeline_loaded_tokens_per_s"],
        ),
        (
            f"pipeline\n{row['threads']} threads, fixed",
            figures["pipeline_fixed_threads_quiet_tokens_per_s"],
            figures["pipeline_fixed_threads_loaded_tokens_per_s"],
        ),
        *(
            (
                f"native llama-bench\n{n['threads']} thread{'s' if n['threads'] > 1 else ''}",
                n["quiet_tokens_per_s"],
                n["loaded_tokens_per_s"],
            )
            for n in figures.get("native", [])
        ),
    ]
    image, painter = _canvas()
    spinners = figures["spinning_processes"]
    painter.drawText(
        QRectF(0, 8, WIDTH, 24),
        Qt.AlignmentFlag.AlignCenter,
        f"{row['model']}: decode tokens/s quiet (teal) and beside {spinners} busy "
        f"process{'es' if spinners > 1 else ''} (orange)",
    )
    top = max([1.0, *(max(quiet, loaded) for _, quiet, loaded in groups)]) * 1.1
    y_of = _axes(painter, top)
    slot = (WIDTH - 2 * MARGIN) / len(groups)
    bar = min(slot * 0.3, 60.0)
    for index, (label, *rates) in enumerate(groups):
        left = MARGIN + index * slot + slot / 2 - bar
        for offset, (rate, colour) in enumerate(zip(rates, (QUIET, LOADED), strict=True)):
            x = left + offset * bar
            painter.fillRect(QRectF(x, y_of(rate), bar - 2, HEIGHT - BOTTOM - y_of(rate)), colour)
            painter.setPen(QPen(QColor("black")))
            painter.drawText(
                QRectF(x - 10, y_of(rate) - 16, bar + 18, 16),
                Qt.AlignmentFlag.AlignCenter,
                f"{rate:.0f}",
            )
        painter.drawText(
            QRectF(MARGIN + index * slot, HEIGHT - BOTTOM + 6, slot, BOTTOM - 8),
            Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap,
            label,
        )
    painter.end()
    image.save(str(path))
