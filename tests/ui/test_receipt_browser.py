"""The receipt browser over real chains built with ReceiptChain (no model needed), offscreen."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, QItemSelectionModel, QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.export_verify import verify_export
from bizra_desktop.core.receipts.impact_ledger import Stage, summarize
from bizra_desktop.core.receipts.query import ReceiptFilter, ReceiptQuery
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.receipts.browser import ReceiptBrowser
from bizra_desktop.ui.receipts.impact_view import ImpactView
from bizra_desktop.ui.receipts.table_model import (
    HASH,
    IMPACT,
    PAGE_SIZE,
    SEQ_ROLE,
    TIER,
    PageRequest,
    ReceiptTableModel,
)
from tests.core.test_impact_ledger import fields_giving

WAIT_MS = 20_000
MODELS = ("qwen2.5-0.5b-instruct", "gemma-3-270m")
TIERS = ("NANO", "MICRO", "SMALL")


def fields(i: int, **extra: Any) -> dict[str, Any]:
    """A receipt body as the pipeline hands it over, varied by i."""
    return {
        "type": "inference",
        "model": {"name": MODELS[i % 2], "sha256": "ab" * 32},
        "tier": TIERS[i % 3],
        "complexity": "simple",
        "prompt_commitment": "cd" * 32,
        "response_commitment": "ef" * 32,
        "tokens": {"prompt": 12, "completion": 80},
        "tokens_per_s": 40.25 + i % 7,
        "impact": 0.5,
        "stopped": False,
        **extra,
    }


def fill(chain: ReceiptChain, count: int, **extra: Any) -> list[str]:
    return [chain.append(fields(i, **extra)).hash for i in range(count)]


def execute_sql(db_path: Path, sql: str, params: tuple[Any, ...]) -> None:
    """Change the file behind the app's back, as someone with the file could."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(sql, params)
        conn.commit()


def edit_body(db_path: Path, seq: int, **changes: Any) -> None:
    """Set fields of a stored body (None removes one), leaving its hash as it was."""
    with closing(sqlite3.connect(db_path)) as conn:
        (body,) = conn.execute("SELECT body FROM receipts WHERE seq = ?", (seq,)).fetchone()
    parsed = json.loads(body) | changes
    parsed = {key: value for key, value in parsed.items() if value is not None}
    execute_sql(
        db_path,
        "UPDATE receipts SET body = ? WHERE seq = ?",
        (canonical.dumps(parsed).decode(), seq),
    )


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ReceiptChain]:
    with ReceiptChain(tmp_path / "home" / "bizra.sqlite3") as opened:
        yield opened


@pytest.fixture
def open_browser(qtbot: QtBot) -> Iterator[Callable[[ReceiptChain], ReceiptBrowser]]:
    """Opens browsers shown and loaded; closes them afterwards, checking their threads ended."""
    opened: list[ReceiptBrowser] = []

    def open_one(chain: ReceiptChain) -> ReceiptBrowser:
        browser = ReceiptBrowser(DataPaths(chain.db_path.parent), chain, None)
        opened.append(browser)
        browser.show()
        wait_idle(qtbot, browser)
        return browser

    yield open_one
    for browser in opened:
        browser.close()
        assert not browser.reader.running and not browser.jobs.running


def wait_idle(qtbot: QtBot, browser: ReceiptBrowser, timeout: int = WAIT_MS) -> None:
    qtbot.waitUntil(lambda: browser.reader.idle and browser.jobs.idle, timeout=timeout)


def shown_seqs(browser: ReceiptBrowser) -> list[int]:
    model = browser.model
    return [model.receipt_at(row).seq for row in range(model.rowCount())]


def test_the_main_window_opens_it_on_its_own_chain(qtbot: QtBot, bizra_home: Path) -> None:
    window = MainWindow(DataPaths(bizra_home))
    qtbot.addWidget(window)
    window.show()
    window.menu_actions.browse_receipts_action.trigger()
    browser = window.findChild(ReceiptBrowser)
    assert browser is not None and browser.isWindow() and browser.isVisible()
    assert browser.chain is window.pipeline.chain
    wait_idle(qtbot, browser)
    assert browser.count_label.text() == "0 receipts in the chain"
    assert "from 0 answers" in browser.impact.summary.text()
    with qtbot.waitSignal(browser.destroyed):  # WA_DeleteOnClose, its threads stopped first
        browser.close()
    window.close()


# --- the table model ------------------------------------------------------------------------------


def test_the_model_is_sound_while_it_pages(qtmodeltester: ModelTester, chain: ReceiptChain) -> None:
    fill(chain, 25)
    edit_body(chain.db_path, 7, tier=None)  # a field missing: shown as —
    query = ReceiptQuery(chain)
    asked: list[PageRequest] = []  # answered by answer(), as the reader thread would, later
    model = ReceiptTableModel(asked.append, page_size=10)

    def answer() -> None:
        while asked:
            request = asked.pop(0)
            rows = query.page_before(
                request.before_seq, request.filters, request.limit, request.down_to
            )
            model.add_page(request, rows)

    model.set_filters(ReceiptFilter())
    qtmodeltester.check(model)  # watches every change from here on
    answer()
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        answer()
    assert model.rowCount() == 25 and model.index(model.row_of(7) or 0, TIER).data() == "—"
    model.mark_broken(7)
    model.set_filters(ReceiptFilter(tier="NANO"))  # i % 3 == 0, and not #7, whose tier is gone
    model.reveal(4)
    answer()
    seqs = [model.receipt_at(row).seq for row in range(model.rowCount())]
    assert seqs == [25, 22, 19, 16, 13, 10, 4, 1]
    assert model.complete and model.index(model.row_of(4) or 0, TIER).data() == "NANO"


def test_the_browsers_own_model_is_sound_as_its_pages_arrive(
    qtmodeltester: ModelTester,
    chain: ReceiptChain,
    open_browser: Callable[[ReceiptChain], ReceiptBrowser],
    qtbot: QtBot,
) -> None:
    fill(chain, PAGE_SIZE + 50)
    browser = open_browser(chain)
    model = browser.model
    qtmodeltester.check(model)  # watches the rows the reader thread delivers from here on
    model.reveal(3)
    wait_idle(qtbot, browser)
    assert model.row_of(3) is not None  # loaded down to it, past the first page
    browser.filters.tier_box.setCurrentIndex(browser.filters.tier_box.findData("SMALL"))
    wait_idle(qtbot, browser)
    browser.refresh()
    wait_idle(qtbot, browser)
    assert model.rowCount() == (PAGE_SIZE + 50) // 3


def test_rows_arrive_a_page_at_a_time_newest_first(
    chain: ReceiptChain,
    open_browser: Callable[[ReceiptChain], ReceiptBrowser],
    qtbot: QtBot,
) -> None:
    hashes = fill(chain, PAGE_SIZE * 2 + 34)
    browser = open_browser(chain)
    model = browser.model
    assert model.rowCount() == PAGE_SIZE and model.canFetchMore(QModelIndex())
    assert browser.count_label.text() == f"{len(hashes):,} receipts in the chain"
    newest = model.index(0, 0)
    assert newest.data(SEQ_ROLE) == len(hashes)
    assert model.index(0, HASH).data() == hashes[-1][:16] + "…"
    assert model.index(0, IMPACT).data() == "0.5000"
    assert model.headerData(0, Qt.Orientation.Vertical) == f"#{len(hashes)}"
    grown = []
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        wait_idle(qtbot, browser)
        grown.append(model.rowCount())
    assert grown == [PAGE_SIZE * 2, len(hashes)]
    assert shown_seqs(browser) == list(range(len(hashes), 0, -1))
    assert model.complete and not model.canFetchMore(QModelIndex())


# --- filters and the detail pane ------------------------------------------------------------------


def test_filters_by_model_tier_date_range_and_conversation_text(
    chain: ReceiptChain, open_browser: Callable[[ReceiptChain], ReceiptBrowser], qtbot: QtBot
) -> None:
    hashes = fill(chain, 12)
    for seq, day in ((1, "2025-03-01"), (2, "2025-03-02"), (3, "2025-03-03")):
        edit_body(chain.db_path, seq, timestamp=f"{day}T10:00:00.000Z")
    with ConversationStore(chain.db_path) as store:
        conversation = store.create("Lighthouse keepers").id
        store.add_message(conversation, "user", "Tell me about Fresnel lenses")
        store.add_message(conversation, "assistant", "They focus light.", receipt_hash=hashes[8])
    browser = open_browser(chain)
    bar = browser.filters
    wait_idle(qtbot, browser)
    assert bar.model_box.count() == 1 + len(MODELS)

    def shows(expected: list[int]) -> None:
        wait_idle(qtbot, browser)
        assert shown_seqs(browser) == expected
        assert browser.count_label.text().startswith(f"{len(expected):,} receipt")

    bar.model_box.setCurrentIndex(bar.model_box.findData(MODELS[1]))  # odd i: seq 2, 4, …
    shows([12, 10, 8, 6, 4, 2])
    bar.tier_box.setCurrentIndex(bar.tier_box.findData("NANO"))  # i % 3 == 0: seq 1, 4, 7, 10
    shows([10, 4])
    bar.clear()
    shows(list(range(12, 0, -1)))
    bar.since_edit.setDate(QDate(2025, 3, 2))
    bar.since_check.setChecked(True)
    bar.until_edit.setDate(QDate(2025, 3, 2))
    bar.until_check.setChecked(True)
    shows([2])
    bar.clear()
    for text, expected in (
        ("fresnel", [9]),  # in the prompt, whatever its case
        ("LIGHTHOUSE", [9]),  # in the conversation's title
        ("no such words", []),
    ):
        with qtbot.waitSignal(bar.changed, timeout=WAIT_MS):  # after a pause in typing
            bar.text_edit.setText(text)
        shows(expected)


def test_the_detail_pane_shows_the_canonical_json_and_the_exchange(
    chain: ReceiptChain, open_browser: Callable[[ReceiptChain], ReceiptBrowser], qtbot: QtBot
) -> None:
    prompt, answer = "What is a Merkle tree?", "A tree of hashes."
    salt = new_salt()
    proved = chain.append(
        fields(0, prompt_commitment=commit(prompt, salt), response_commitment=commit(answer, salt)),
        salt,
    )
    bare = chain.append(fields(1))
    with ConversationStore(chain.db_path) as store:
        conversation = store.create("Hashes").id
        store.add_message(conversation, "user", prompt)
        store.add_message(conversation, "assistant", answer, receipt_hash=proved.hash)
    browser = open_browser(chain)
    pane = browser.detail

    browser.table.selectRow(browser.model.row_of(proved.seq) or 0)
    qtbot.waitUntil(lambda: pane.json.toPlainText() == proved.canonical_json(), timeout=WAIT_MS)
    assert proved.hash in pane.title.text()
    assert pane.prompt.toPlainText() == prompt and pane.answer.toPlainText() == answer
    assert "Hashes" in pane.conversation.text()
    assert "reproduce the receipt's commitments" in pane.proof.text()

    browser.table.selectRow(browser.model.row_of(bare.seq) or 0)
    qtbot.waitUntil(lambda: pane.json.toPlainText() == bare.canonical_json(), timeout=WAIT_MS)
    assert pane.prompt.toPlainText() == "" and "No stored message" in pane.conversation.text()

    execute_sql(
        chain.db_path, "UPDATE messages SET content = ? WHERE role = 'assistant'", ("Edited.",)
    )
    browser.table.selectRow(browser.model.row_of(proved.seq) or 0)
    qtbot.waitUntil(lambda: pane.answer.toPlainText() == "Edited.", timeout=WAIT_MS)
    assert "do not reproduce" in pane.proof.text()


# --- Verify ---------------------------------------------------------------------------------------


def test_verify_reports_an_intact_chain(
    chain: ReceiptChain, open_browser: Callable[[ReceiptChain], ReceiptBrowser], qtbot: QtBot
) -> None:
    fill(chain, 30)
    browser = open_browser(chain)
    browser.verify_action.trigger()
    assert browser.progress.isVisible() and not browser.verify_action.isEnabled()
    wait_idle(qtbot, browser)
    assert browser.banner.property("kind") == "ok"
    assert "chain of 30 receipts is intact" in browser.banner.text()
    assert not browser.progress.isVisible() and browser.verify_action.isEnabled()
    assert browser.progress.value() == browser.progress.maximum() == 30


def test_verify_pinpoints_a_tampered_receipt_below_the_pages_loaded(
    chain: ReceiptChain, open_browser: Callable[[ReceiptChain], ReceiptBrowser], qtbot: QtBot
) -> None:
    fill(chain, PAGE_SIZE + 200)
    tampered = 150  # below the first page, which holds #700 … #201
    edit_body(chain.db_path, tampered, impact=1.0)
    browser = open_browser(chain)
    browser.filters.tier_box.setCurrentIndex(browser.filters.tier_box.findData("NANO"))
    wait_idle(qtbot, browser)  # #150 is a SMALL receipt (i = 149): filtered out
    assert browser.model.row_of(tampered) is None

    browser.verify()
    wait_idle(qtbot, browser)
    message = browser.banner.text()
    assert browser.banner.property("kind") == "error"
    assert f"receipt #{tampered}" in message and "stored hash does not match its content" in message
    assert browser.filters.filters() == ReceiptFilter()  # cleared to show the receipt
    current = browser.table.currentIndex()
    assert current.data(SEQ_ROLE) == tampered
    assert browser.table.selectionModel().isRowSelected(current.row())
    assert browser.table.visualRect(current).intersects(browser.table.viewport().rect())
    assert current.data(Qt.ItemDataRole.BackgroundRole) is not None  # the row is shaded
    qtbot.waitUntil(
        lambda: f"receipt #{tampered}" in browser.detail.problem.text(), timeout=WAIT_MS
    )
    assert browser.detail.problem.isVisible()
    ledger_text = browser.impact.trust.text()
    assert "does not verify" in ledger_text
    assert f"{tampered - 1} answers" in browser.impact.summary.text()


# --- exports --------------------------------------------------------------------------------------


def test_export_a_selection_then_open_it_and_verify_it(
    chain: ReceiptChain,
    open_browser: Callable[[ReceiptChain], ReceiptBrowser],
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    prompt, answer = "Hi", "Hello!"
    salt = new_salt()
    fill(chain, 10)
    with_text = chain.append(
        fields(
            10, prompt_commitment=commit(prompt, salt), response_commitment=commit(answer, salt)
        ),
        salt,
    )
    fill(chain, 5)
    with ConversationStore(chain.db_path) as store:
        conversation = store.create("Greeting").id
        store.add_message(conversation, "user", prompt)
        store.add_message(conversation, "assistant", answer, receipt_hash=with_text.hash)
    browser = open_browser(chain)
    selection = browser.table.selectionModel()
    picked = [3, with_text.seq, 12]
    for seq in picked:
        index = browser.model.index(browser.model.row_of(seq) or 0, 0)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.select(index, flags)

    out = tmp_path / "picked.jsonl"
    browser.export_selection_to(out, with_content=True)
    wait_idle(qtbot, browser)
    assert browser.banner.property("kind") == "ok", browser.banner.text()
    assert "exported 3 receipts (a selection with proofs, texts of 1)" in browser.banner.text()
    report = verify_export(out)
    assert report.ok and report.count == 3 and report.commitments == 1, report.message
    lines = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert [line["seq"] for line in lines] == sorted(picked)

    browser.verify_export_at(out)
    wait_idle(qtbot, browser)
    assert browser.banner.property("kind") == "ok"
    assert browser.banner.text().startswith("picked.jsonl: export of 3 receipts is valid")

    altered = tmp_path / "altered.jsonl"
    altered.write_bytes(out.read_bytes().replace(b'\\"impact\\":0.5', b'\\"impact\\":0.9', 1))
    browser.verify_export_at(altered)
    wait_idle(qtbot, browser)
    assert browser.banner.property("kind") == "error"
    assert "line 2: receipt #3" in browser.banner.text()


def test_exporting_nothing_says_what_to_do(
    chain: ReceiptChain,
    open_browser: Callable[[ReceiptChain], ReceiptBrowser],
    tmp_path: Path,
) -> None:
    fill(chain, 3)
    browser = open_browser(chain)
    browser.export_selection_to(tmp_path / "none.jsonl")
    assert (
        browser.banner.property("kind") == "error"
        and "Select the receipts" in browser.banner.text()
    )
    assert not (tmp_path / "none.jsonl").exists()


# --- impact ---------------------------------------------------------------------------------------


def test_impact_totals_stage_and_tiers_from_the_verified_chain(
    chain: ReceiptChain, open_browser: Callable[[ReceiptChain], ReceiptBrowser]
) -> None:
    for i, (tier, impact) in enumerate((("NANO", 0.5), ("NANO", 0.25), ("SMALL", 0.75))):
        chain.append(fields(i, tier=tier, **fields_giving(impact)))  # counted as fields give
    chain.append({"type": "note"})  # not an answer: counts for nothing
    browser = open_browser(chain)
    view = browser.impact
    assert "Accumulated impact <b>1.5000</b> from 3 answers" in view.summary.text()
    assert "stage <b>SEED</b>" in view.summary.text()
    assert view.stage_bar.text() == "8.5000 more to BLOOM"
    assert view.stage_bar.value() == 150  # 1.5 of the 10 to BLOOM, in thousandths
    assert view.trust.text() == "Counted from the verified chain only."
    tiers = view.per_tier
    assert [[tiers.index(r, c).data() for c in range(3)] for r in range(2)] == [
        ["NANO", "2", "0.7500"],
        ["SMALL", "1", "0.7500"],
    ]
    latest = chain.latest()
    assert latest is not None and view.per_day.index(0, 0).data() == latest.body["timestamp"][:10]
    assert [view.per_day.index(0, c).data() for c in (1, 2, 3)] == ["3", "1.5000", "1.5000"]


def test_the_impact_view_over_days_and_stages(qtbot: QtBot, qtmodeltester: ModelTester) -> None:
    entries = [
        (seq, f"2025-03-{1 + seq // 40:02d}", ("NANO", "SMALL")[seq % 2], 0.6)
        for seq in range(1, 201)
    ]
    view = ImpactView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show_ledger(summarize(entries))
    qtmodeltester.check(view.per_day)
    qtmodeltester.check(view.per_tier)
    assert "stage <b>FRUIT</b>" in view.summary.text()
    assert view.stage_bar.text() == "FRUIT: the last stage"
    assert view.per_day.rowCount() == 6 and view.per_day.index(0, 0).data() == "2025-03-06"
    assert view.per_day.index(0, 3).data() == "120.0000"  # accumulated: the chart's last point
    assert [point for point in view.chart._points][-1] == (date(2025, 3, 6), 120.0)
    assert not view.chart.grab().isNull()  # paints without error at every size it is given
    assert summarize([]).stage is Stage.SEED


# --- 100,000 receipts ----------------------------------------------------------------------------


def _large_chain(folder: Path, count: int) -> Path:
    """A valid chain of `count` receipts, made in seconds rather than the minute 100,000 appends
    take: rows are written as a database from before the Merkle log held them (canonical JSON,
    each naming its predecessor's hash), and ReceiptChain's own migration then builds the tree and
    signs the checkpoint when it opens the file, so the chain verifies like any other."""
    db_path = folder / "bizra.sqlite3"
    ReceiptChain(db_path).close()
    prev, rows = "GENESIS", []
    for i in range(count):
        body = {
            **fields(i, tokens_per_s=40.25 + i % 7 * 1.5, impact=round(0.15 + i % 9 / 10, 4)),
            "prev_hash": prev,
            "timestamp": f"2025-{1 + i * 12 // count:02d}-{1 + i % 28:02d}T12:00:00.000Z",
        }
        # json.dumps with sorted keys and no spaces is RFC 8785 for these values (ASCII keys,
        # no integral floats), and a hundred times faster than the canonicaliser.
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        prev = hashlib.sha256(text.encode()).hexdigest()
        rows.append((i + 1, prev, text))
    with closing(sqlite3.connect(db_path)) as conn:
        conn.executemany("INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)", rows)
        conn.execute("UPDATE merkle_state SET size = 0, frontier = NULL")
        conn.commit()
    assert canonical.dumps(json.loads(rows[0][2])).decode() == rows[0][2]
    return db_path


def page_after(model: ReceiptTableModel, rows: int) -> Callable[[], bool]:
    return lambda: model.rowCount() > rows or model.complete


@pytest.fixture(scope="session")
def large_chain_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _large_chain(tmp_path_factory.mktemp("large") / "home", 100_000)


def test_100000_receipts_open_at_once_and_scroll_to_the_end(
    large_chain_path: Path,
    qtbot: QtBot,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ReceiptChain(large_chain_path) as chain:
        started = time.perf_counter()
        browser = ReceiptBrowser(DataPaths(large_chain_path.parent), chain, None)
        browser.show()
        qtbot.waitUntil(lambda: browser.model.rowCount() > 0, timeout=WAIT_MS)
        opened_s = time.perf_counter() - started
        assert browser.model.rowCount() == PAGE_SIZE  # one page, not 100,000 rows

        started, sizes = time.perf_counter(), []
        while not browser.model.complete:
            arrived = page_after(browser.model, browser.model.rowCount())
            browser.table.scrollToBottom()  # as a user dragging the scroll bar down
            qtbot.waitUntil(arrived, timeout=WAIT_MS)
            sizes.append(browser.model.rowCount())
        scrolled_s = time.perf_counter() - started
        assert browser.model.rowCount() == 100_000 and browser.model.receipt_at(99_999).seq == 1
        growth = [after - before for before, after in zip([PAGE_SIZE, *sizes], sizes, strict=False)]
        assert set(growth[:-1]) == {PAGE_SIZE}  # the last fetch may find nothing more
        browser.table.scrollToBottom()
        qtbot.waitUntil(
            lambda: browser.table.rowAt(browser.table.viewport().height() - 1) == 99_999
        )

        steps: list[int] = []
        browser.progress.valueChanged.connect(steps.append)
        started = time.perf_counter()
        browser.verify()
        wait_idle(qtbot, browser, timeout=120_000)
        verified_s = time.perf_counter() - started
        assert "chain of 100000 receipts is intact" in browser.banner.text()
        assert len(set(steps)) >= 20 and steps[-1] == 100_000  # the bar moved as it went
        browser.close()
        assert not browser.reader.running and not browser.jobs.running
    with capsys.disabled():
        print(
            f"\n100,000 receipts: first page shown in {opened_s:.2f} s, scrolled to the end "
            f"({len(sizes)} pages) in {scrolled_s:.2f} s, Verify (and the impact recount) "
            f"{verified_s:.2f} s"
        )
