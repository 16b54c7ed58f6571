"""The impact accumulator: total and stage, the way to the next stage, totals per tier and per
day, and the chart over time. It shows an ImpactLedger: counted from the verified chain only."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from bizra_desktop.core.receipts.impact_ledger import STAGE_THRESHOLDS, ImpactLedger, Stage
from bizra_desktop.ui import theme
from bizra_desktop.ui.accessibility import describe
from bizra_desktop.ui.receipts.impact_chart import ImpactChart
from bizra_desktop.ui.receipts.totals_model import TotalsModel

_STEPS = 1000  # the stage bar's resolution


class ImpactView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Counting…")
        self.summary.setObjectName("impact-summary")
        self.stage_bar = QProgressBar()
        self.stage_bar.setRange(0, _STEPS)
        self.trust = QLabel()
        self.trust.setWordWrap(True)
        self.chart = ImpactChart()
        self.per_tier = TotalsModel(("Tier", "Answers", "Impact"), self)
        self.per_day = TotalsModel(("Day (UTC)", "Answers", "Impact", "Accumulated"), self)
        tables = QHBoxLayout()
        for model, stretch, name in ((self.per_tier, 2, "Per tier"), (self.per_day, 3, "Per day")):
            view = _table(model)
            describe(view, f"Impact {name.lower()}", f"{name}: answers and their impact.")
            tables.addWidget(view, stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.stage_bar)
        layout.addWidget(self.trust)
        layout.addWidget(self.chart, 3)
        layout.addLayout(tables, 2)

    def show_counting(self) -> None:
        self.trust.setText("Counting: the chain is verified on the way…")

    def show_ledger(self, ledger: ImpactLedger) -> None:
        answers = f"{ledger.receipts:,} answer{'' if ledger.receipts == 1 else 's'}"
        self.summary.setText(
            f"<span style='font-size:15px'>Accumulated impact <b>{ledger.total:,.4f}</b> from "
            f"{answers} · stage <b>{ledger.stage.value}</b></span>"
        )
        self._show_stage(ledger)
        if ledger.verified and ledger.disagreements:
            self.trust.setText(_disagreements(ledger))
        elif ledger.verified:
            self.trust.setText("Counted from the verified chain only.")
        else:
            self.trust.setText(
                f"<span style='color:{theme.current().error_text}'>The chain does not verify: "
                "only the receipts before "
                f"the first broken one are counted. {html.escape(ledger.problem or '')}</span>"
            )
        self.chart.set_days(ledger.per_day)
        self.per_tier.set_rows(
            [(tier, totals.receipts, totals.impact) for tier, totals in ledger.per_tier.items()]
        )
        # Newest day first: the table is for looking up recent days, the chart for the trend.
        self.per_day.set_rows(
            [
                (day.day, day.receipts, day.impact, day.cumulative)
                for day in reversed(ledger.per_day)
            ]
        )

    def _show_stage(self, ledger: ImpactLedger) -> None:
        upcoming = ledger.next_stage
        if upcoming is None:
            self.stage_bar.setValue(_STEPS)
            self.stage_bar.setFormat(f"{ledger.stage.value}: the last stage")
            return
        stage, needed = upcoming
        start = _threshold(ledger.stage)
        span = _threshold(stage) - start
        self.stage_bar.setValue(round((ledger.total - start) / span * _STEPS))
        self.stage_bar.setFormat(f"{needed:,.4f} more to {stage.value}")


def _disagreements(ledger: ImpactLedger, shown: int = 3) -> str:
    """The receipts whose stated impact is not what their fields give (each counts what its
    fields give), the first few named."""
    found = ledger.disagreements
    named = "; ".join(html.escape(one.describe()) for one in found[:shown])
    more = f"; and {len(found) - shown:,} more" if len(found) > shown else ""
    return (
        f"<span style='color:{theme.current().error_text}'>Counted from the verified chain, but "
        f"{len(found):,} receipt{'' if len(found) == 1 else 's'} state an impact that "
        f"{'its' if len(found) == 1 else 'their'} own fields do not give (counted as the fields "
        f"give): {named}{more}.</span>"
    )


def _threshold(stage: Stage) -> float:
    return dict(STAGE_THRESHOLDS)[stage]


def _table(model: TotalsModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to select: no focus frame either
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    return view
