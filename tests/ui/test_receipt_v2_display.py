"""The receipt browser shows what a version 2 receipt records for a replay, and the impact view
names receipts whose stated impact their fields do not give (real SQLite chain)."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.impact_ledger import accumulate
from bizra_desktop.core.receipts.query import ReceiptQuery
from bizra_desktop.ui.receipts.detail_pane import DetailPane
from bizra_desktop.ui.receipts.impact_view import ImpactView
from tests.core.test_receipt_record import v2_record
from tests.core.test_receipts import inference_fields


def test_the_detail_pane_says_what_a_receipt_records_to_replay(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with ReceiptChain(tmp_path / "bizra.sqlite3") as chain:
        old = chain.append(inference_fields(1)).hash
        new = chain.append(v2_record(routing=None).to_body()).hash
        query = ReceiptQuery(chain)
        details = query.detail(old), query.detail(new)
    pane = DetailPane()
    qtbot.addWidget(pane)
    pane.resize(700, 500)

    pane.show_detail(details[0])
    assert pane.reproduce.text().startswith("Receipt version 1: it does not record the seed used")
    pane.show_detail(details[1])
    assert pane.reproduce.text() == (
        "Version 2 · seed 123456 · llama-cpp-python 0.3.36 · template cdcdcdcdcdcd… · "
        "9 prompt tokens from the cache · from receipt efefefefefef… — `bizra receipts replay` "
        "can make it again."
    )
    assert not pane.grab().isNull()
    pane.show_detail(None)
    assert pane.reproduce.text() == ""


def test_the_impact_view_names_receipts_whose_impact_disagrees(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with ReceiptChain(tmp_path / "bizra.sqlite3") as chain:
        for i in range(5):
            chain.append(inference_fields(i) | ({"impact": 0.9} if i % 2 else {}))
        ledger = accumulate(chain)
    view = ImpactView()
    qtbot.addWidget(view)
    view.resize(800, 600)

    view.show_ledger(ledger)
    text = view.trust.text()
    assert "but 2 receipts state an impact that their own fields do not give" in text
    assert "receipt #2 states impact 0.9 but its fields give 0.3498; receipt #4" in text
    assert not view.grab().isNull()
