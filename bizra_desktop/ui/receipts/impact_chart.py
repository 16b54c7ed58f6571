"""The accumulated impact over time: one point per day with answers, joined by a line, and the
stage thresholds as dashed lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from bizra_desktop.core.receipts.impact_ledger import STAGE_THRESHOLDS, UNKNOWN, DayTotals
from bizra_desktop.ui import theme

_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 20, 24, 28  # room for the axis labels
_DOTS_UP_TO = 60  # more days than this and dots would merge into the line


class ImpactChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._points: list[tuple[date, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(160)

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def set_days(self, days: Sequence[DayTotals]) -> None:
        # A receipt without a readable date counts in the totals but has no place on a time axis.
        self._points = [
            (date.fromisoformat(day.day), day.cumulative) for day in days if day.day != UNKNOWN
        ]
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        plot = QRectF(self.rect()).adjusted(_LEFT, _TOP, -_RIGHT, -_BOTTOM)
        painter.setPen(QColor(theme.current().text))
        if not self._points:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No counted answers yet")
            painter.end()
            return
        top = _y_range(self._points[-1][1])
        first, last = self._points[0][0], self._points[-1][0]
        span = max((last - first).days, 1)

        def at(day: date, value: float) -> QPointF:
            x = (
                plot.center().x()
                if first == last
                else plot.left() + (day - first).days / span * plot.width()
            )
            return QPointF(x, plot.bottom() - value / top * plot.height())

        self._draw_axes(painter, plot, top, first, last)
        points = [at(day, value) for day, value in self._points]
        line = QPainterPath(points[0])
        for point in points[1:]:
            line.lineTo(point)
        area = QPainterPath(line)
        area.lineTo(points[-1].x(), plot.bottom())
        area.lineTo(points[0].x(), plot.bottom())
        area.closeSubpath()
        colour = QColor(theme.current().chart_line)
        fill = QColor(colour)
        fill.setAlpha(40)
        painter.fillPath(area, fill)
        painter.setPen(QPen(colour, 2))
        painter.drawPath(line)
        if len(points) <= _DOTS_UP_TO:
            painter.setBrush(colour)
            for point in points:
                painter.drawEllipse(point, 3, 3)
        painter.end()

    @staticmethod
    def _draw_axes(painter: QPainter, plot: QRectF, top: float, first: date, last: date) -> None:
        grid, text = QColor(theme.current().chart_grid), QColor(theme.current().text)
        painter.setPen(QPen(grid, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        label = QRectF(0, 0, _LEFT - 8, 16)
        for value in (0.0, top):
            label.moveCenter(QPointF(_LEFT / 2 - 4, plot.bottom() - value / top * plot.height()))
            painter.setPen(text)
            painter.drawText(label, Qt.AlignmentFlag.AlignRight, f"{value:,.0f}")
        dashed = QPen(grid, 1, Qt.PenStyle.DashLine)
        for stage, threshold in STAGE_THRESHOLDS:
            if 0 < threshold <= top:
                y = plot.bottom() - threshold / top * plot.height()
                painter.setPen(dashed)
                painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
                painter.setPen(text)
                painter.drawText(QPointF(plot.left() + 6, y - 4), f"{stage.value} {threshold:g}")
        bottom = QRectF(plot.left(), plot.bottom() + 4, plot.width(), _BOTTOM - 4)
        if last == first:  # the one point sits in the middle
            painter.drawText(bottom, Qt.AlignmentFlag.AlignHCenter, first.isoformat())
        else:
            painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft, first.isoformat())
            painter.drawText(bottom, Qt.AlignmentFlag.AlignRight, last.isoformat())
        painter.drawText(
            QRectF(plot.left(), 2, plot.width(), _TOP - 4),
            Qt.AlignmentFlag.AlignLeft,
            "accumulated impact (UTC days)",
        )


def _y_range(total: float) -> float:
    """The top of the value axis: the total, and the next stage's threshold, so that the chart
    shows how far the line still has to climb."""
    upcoming = [threshold for _, threshold in STAGE_THRESHOLDS if threshold > total]
    return max(total, upcoming[0] if upcoming else 0.0, 1.0) * 1.08
