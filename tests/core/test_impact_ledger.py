"""The impact accumulator (from the verified chain only) and the browser's paged queries."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.impact import impact_score
from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.chain import CHAIN_FIELDS, ReceiptChain
from bizra_desktop.core.receipts.impact_ledger import (
    STAGE_THRESHOLDS,
    Stage,
    Totals,
    accumulate,
    stage_for,
    summarize,
)
from bizra_desktop.core.receipts.query import ReceiptFilter, ReceiptQuery, ReceiptRow
from bizra_desktop.core.tiers import Complexity
from tests.core.test_export import build
from tests.core.test_receipts import execute_sql, inference_fields, stored_row


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "bizra.sqlite3"


def receipt(i: int, *, tier: str = "NANO", impact: float = 0.5, **extra: Any) -> dict[str, Any]:
    """A receipt whose own fields give `impact` (core/impact.py), as the pipeline writes it."""
    return inference_fields(i) | {"tier": tier, **fields_giving(impact)} | extra


def fields_giving(impact: float) -> dict[str, Any]:
    """Complexity, speed and length whose impact is `impact` (0.1 to 1.0): the largest base
    not above it, the rest from speed (up to 0.2 at 50 tok/s), then length (0.1 at 500)."""
    complexity = max(c for c in Complexity if impact_score(c, 0, 0) <= impact + 1e-9)
    rest = impact - impact_score(complexity, 0, 0)
    speed = min(rest, 0.2)
    fields = {
        "complexity": complexity.label,
        "tokens_per_s": round(speed / 0.2 * 50, 2),
        "tokens": {"prompt": 12, "completion": round((rest - speed) / 0.1 * 500)},
    }
    fields["impact"] = impact_score(
        complexity, fields["tokens_per_s"], fields["tokens"]["completion"]
    )
    assert abs(fields["impact"] - impact) < 1e-9, (impact, fields)
    return fields


def fill(db_path: Path, bodies: list[dict[str, Any]]) -> list[str]:
    with ReceiptChain(db_path) as chain:
        return [chain.append(body).hash for body in bodies]


def ledger_of(db_path: Path) -> Any:
    with ReceiptChain(db_path) as chain:
        return accumulate(chain)


def set_timestamp(db_path: Path, seq: int, timestamp: str) -> None:
    """Give a receipt another day, re-signing nothing: only for tests of the unverified query."""
    _, body = stored_row(db_path, seq)
    execute_sql(
        db_path,
        (
            "UPDATE receipts SET body = ? WHERE seq = ?",
            (canonical.dumps(json.loads(body) | {"timestamp": timestamp}).decode(), seq),
        ),
    )


# --- stages ---------------------------------------------------------------------------------------


def test_stages_and_their_thresholds() -> None:
    assert STAGE_THRESHOLDS == ((Stage.SEED, 0.0), (Stage.BLOOM, 10.0), (Stage.FRUIT, 100.0))
    assert [stage_for(t) for t in (0, 9.9999, 10, 99.9999, 100, 1e6)] == [
        Stage.SEED,
        Stage.SEED,
        Stage.BLOOM,
        Stage.BLOOM,
        Stage.FRUIT,
        Stage.FRUIT,
    ]


def test_totals_per_day_per_tier_and_the_next_stage() -> None:
    entries = [
        (1, "2025-03-01", "NANO", 0.25),
        (2, "2025-03-01", "SMALL", 0.5),
        (3, "2025-03-03", "NANO", 0.3333),
    ]
    ledger = summarize(entries)

    assert (ledger.total, ledger.stage, ledger.receipts, ledger.verified) == (
        1.0833,
        Stage.SEED,
        3,
        True,
    )
    assert [(d.day, d.receipts, d.impact, d.cumulative) for d in ledger.per_day] == [
        ("2025-03-01", 2, 0.75, 0.75),
        ("2025-03-03", 1, 0.3333, 1.0833),
    ]
    assert dict(ledger.per_tier) == {"NANO": Totals(2, 0.5833), "SMALL": Totals(1, 0.5)}
    assert ledger.next_stage == (Stage.BLOOM, 8.9167)
    assert summarize([(1, "d", "t", 1.0)] * 100).next_stage is None


# --- from the chain -----------------------------------------------------------------------------


def test_the_ledger_counts_inference_receipts_of_the_verified_chain(db_path: Path) -> None:
    fill(
        db_path,
        [
            receipt(0, impact=0.5),
            receipt(1, tier="SMALL", impact=0.75),
            {"type": "note", "impact": 1.0},  # not an answer
            receipt(3, impact=1.0),
        ],
    )
    ledger = ledger_of(db_path)

    assert (ledger.verified, ledger.problem, ledger.disagreements) == (True, None, ())
    assert (ledger.total, ledger.receipts) == (2.25, 3)
    assert dict(ledger.per_tier) == {"NANO": Totals(2, 1.5), "SMALL": Totals(1, 0.75)}
    assert ledger.per_day[-1].cumulative == 2.25
    assert sum(day.receipts for day in ledger.per_day) == 3


def test_a_stated_impact_its_fields_do_not_give_counts_what_they_give(db_path: Path) -> None:
    fill(
        db_path,
        [
            receipt(0, impact=0.5),
            receipt(1, impact=0.5) | {"impact": 5.0},  # states more than any answer earns
            receipt(2, impact=0.5) | {"complexity": "legendary"},  # gives no impact at all
        ],
    )
    ledger = ledger_of(db_path)

    assert ledger.verified  # the chain itself is intact: the app wrote these bodies
    assert (ledger.total, ledger.receipts) == (1.0, 2)
    assert [(d.seq, d.stated, d.recomputed) for d in ledger.disagreements] == [
        (2, 5.0, 0.5),
        (3, 0.5, None),
    ]
    assert ledger.disagreements[0].describe() == (
        "receipt #2 states impact 5.0 but its fields give 0.5"
    )
    assert "unknown complexity 'legendary'" in ledger.disagreements[1].describe()


def test_an_edited_impact_cannot_inflate_the_total(db_path: Path) -> None:
    fill(db_path, [receipt(i, impact=0.5) for i in range(4)])
    execute_sql(
        db_path, ("UPDATE receipts SET body = replace(body, '0.5', '0.9') WHERE seq = 3", ())
    )
    ledger = ledger_of(db_path)

    assert not ledger.verified
    assert "receipt #3" in (ledger.problem or "")
    assert (ledger.total, ledger.receipts) == (1.0, 2)  # stops before the bad receipt


def test_an_impact_rewritten_by_the_key_holder_is_flagged(db_path: Path) -> None:
    """Whoever holds the installation key can rebuild the whole chain with a raised impact:
    it verifies, but the impact its fields give is what counts, and the receipt is named."""
    fill(db_path, [receipt(i, impact=0.5) for i in range(3)])
    rewritten = db_path.parent / "rewritten.sqlite3"
    with ReceiptChain(db_path) as original, ReceiptChain(rewritten, original.keys_dir) as forged:
        for stored in original:
            body = {k: v for k, v in stored.body.items() if k not in CHAIN_FIELDS}
            forged.append(body | ({"impact": 1.0} if stored.seq == 2 else {}))
        ledger = accumulate(forged)

    assert ledger.verified
    assert (ledger.total, ledger.receipts) == (1.5, 3)
    assert [(d.seq, d.stated, d.recomputed) for d in ledger.disagreements] == [(2, 1.0, 0.5)]


def test_a_forged_receipt_appended_with_sql_is_not_counted(db_path: Path) -> None:
    hashes = fill(db_path, [receipt(i) for i in range(2)])
    forged = canonical.dumps(receipt(9, impact=1.0) | {"prev_hash": hashes[-1], "timestamp": "x"})
    execute_sql(
        db_path,
        (
            "INSERT INTO receipts (seq, hash, body) VALUES (3, ?, ?)",
            (hashlib.sha256(forged).hexdigest(), forged.decode()),
        ),
    )
    ledger = ledger_of(db_path)

    assert not ledger.verified
    assert (ledger.total, ledger.receipts) == (1.0, 2)


def test_a_chain_whose_checkpoint_fails_counts_nothing(db_path: Path) -> None:
    fill(db_path, [receipt(i) for i in range(3)])
    execute_sql(db_path, ("DELETE FROM checkpoints", ()))
    ledger = ledger_of(db_path)

    assert (ledger.verified, ledger.total, ledger.stage) == (False, 0.0, Stage.SEED)


def test_enough_answers_bloom(db_path: Path) -> None:
    fill(db_path, [receipt(i, impact=1.0) for i in range(10)])
    assert ledger_of(db_path).stage is Stage.BLOOM


# --- the browser's queries ------------------------------------------------------------------------


@pytest.fixture
def browsed(db_path: Path) -> list[str]:
    """Six receipts over two models, three tiers, three days, two conversations."""
    hashes: list[str] = []
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        chats = [store.create("Cooking ideas").id, store.create("Physics").id]
        for i, (tier, model, chat, text) in enumerate(
            [
                ("NANO", "small-model", 0, "How long to boil an egg?"),
                ("SMALL", "big-model", 1, "What is entropy?"),
                ("NANO", "small-model", 1, "Explain ENTROPY in gases"),
                ("MEDIUM", "big-model", 0, "A recipe with Crème fraîche"),
                ("NANO", "small-model", 0, "Pasta water salt?"),
                ("SMALL", "big-model", 1, "Newton's laws"),
            ]
        ):
            fields = receipt(i, tier=tier, impact=0.1 * (i + 1))
            fields["model"] = {"name": model}
            hashes.append(chain.append(fields).hash)
            store.add_message(chats[chat], "user", text)
            store.add_message(chats[chat], "assistant", f"answer {i}", receipt_hash=hashes[-1])
    for seq, day in [(1, "2025-01-01"), (2, "2025-01-01"), (3, "2025-01-02"), (4, "2025-01-02")]:
        set_timestamp(db_path, seq, f"{day}T10:00:00.000Z")
    for seq in (5, 6):
        set_timestamp(db_path, seq, "2025-01-03T23:59:59.999Z")
    return hashes


def query(db_path: Path, filters: ReceiptFilter, **kwargs: Any) -> list[int]:
    with ReceiptChain(db_path) as chain:
        rows = ReceiptQuery(chain).page(0, 100, filters, **kwargs)
        assert ReceiptQuery(chain).count(filters) == len(rows)
    return [row.seq for row in rows]


def test_a_page_holds_the_browser_columns(db_path: Path, browsed: list[str]) -> None:
    with ReceiptChain(db_path) as chain:
        rows = ReceiptQuery(chain).page(0, 2)

    assert rows[0] == ReceiptRow(
        seq=6,
        hash=browsed[5],
        time="2025-01-03T23:59:59.999Z",
        model="big-model",
        tier="SMALL",
        complexity="complex",
        tokens_per_s=12.5,
        impact=0.6,
    )
    assert [row.seq for row in rows] == [6, 5]


def test_pages_walk_the_chain_without_overlap(db_path: Path, browsed: list[str]) -> None:
    with ReceiptChain(db_path) as chain:
        browser = ReceiptQuery(chain)
        pages = [browser.page(offset, 4, newest_first=False) for offset in (0, 4, 8)]

    assert [[row.seq for row in page] for page in pages] == [[1, 2, 3, 4], [5, 6], []]
    assert [row.hash for page in pages for row in page] == browsed


@pytest.mark.parametrize(
    ("filters", "seqs"),
    [
        (ReceiptFilter(), [6, 5, 4, 3, 2, 1]),
        (ReceiptFilter(model="small-model"), [5, 3, 1]),
        (ReceiptFilter(tier="SMALL"), [6, 2]),
        (ReceiptFilter(model="big-model", tier="MEDIUM"), [4]),
        (ReceiptFilter(since=date(2025, 1, 2)), [6, 5, 4, 3]),
        (ReceiptFilter(until=date(2025, 1, 2)), [4, 3, 2, 1]),
        (ReceiptFilter(since=date(2025, 1, 3), until=date(2025, 1, 3)), [6, 5]),
        (ReceiptFilter(text="entropy"), [3, 2]),  # any case
        (ReceiptFilter(text="CRÈME"), [4]),  # Unicode case folding
        (ReceiptFilter(text="cooking"), [5, 4, 1]),  # the conversation's title
        (ReceiptFilter(text="answer 5"), [6]),  # the response
        (ReceiptFilter(text="100%"), []),  # literal, not a LIKE pattern
        (ReceiptFilter(text="entropy", tier="NANO"), [3]),
    ],
)
def test_filters(
    db_path: Path, browsed: list[str], filters: ReceiptFilter, seqs: list[int]
) -> None:
    assert query(db_path, filters) == seqs


def test_models_for_the_filter_choices(db_path: Path, browsed: list[str]) -> None:
    with ReceiptChain(db_path) as chain:
        assert ReceiptQuery(chain).models() == ["big-model", "small-model"]


def test_a_damaged_body_shows_as_an_empty_row(db_path: Path) -> None:
    fill(db_path, [receipt(0), receipt(1)])
    execute_sql(db_path, ("UPDATE receipts SET body = '{broken' WHERE seq = 1", ()))
    with ReceiptChain(db_path) as chain:
        rows = ReceiptQuery(chain).page(0, 10, newest_first=False)

    assert (rows[0].seq, rows[0].model, rows[0].impact) == (1, None, None)
    assert rows[1].tier == "NANO"


def test_text_search_without_conversations_finds_nothing(db_path: Path) -> None:
    fill(db_path, [receipt(0)])
    with ReceiptChain(db_path) as chain:
        assert ReceiptQuery(chain).count(ReceiptFilter(text="x")) == 0
        assert ReceiptQuery(chain).count() == 1


def test_keyset_pages_walk_down_from_any_row(db_path: Path, browsed: list[str]) -> None:
    with ReceiptChain(db_path) as chain:
        browser = ReceiptQuery(chain)
        first = browser.page_before(None, limit=4)
        rest = browser.page_before(first[-1].seq, limit=4)
        nano = browser.page_before(6, ReceiptFilter(tier="NANO"), down_to=3)

    assert [row.seq for row in first] == [6, 5, 4, 3]
    assert [row.seq for row in rest] == [2, 1]
    assert [row.seq for row in nano] == [5, 3]
    assert first == browser_page(db_path, 0, 4)


def browser_page(db_path: Path, offset: int, limit: int) -> list[ReceiptRow]:
    with ReceiptChain(db_path) as chain:
        return ReceiptQuery(chain).page(offset, limit)


def test_detail_holds_the_receipt_and_the_texts_that_prove_it(
    db_path: Path, browsed: list[str]
) -> None:
    with ReceiptChain(db_path) as chain:
        detail = ReceiptQuery(chain).detail(browsed[1])
        missing = ReceiptQuery(chain).detail("0" * 64)

    assert missing is None
    assert detail is not None and detail.receipt is not None
    assert (detail.seq, detail.receipt.hash, detail.problem) == (2, browsed[1], None)
    assert detail.exchange is not None
    assert (detail.exchange.title, detail.exchange.prompt, detail.exchange.response) == (
        "Physics",
        "What is entropy?",
        "answer 1",
    )
    assert detail.exchange.matches is None  # these receipts were made without a salt


def test_detail_of_a_damaged_body_says_so(db_path: Path) -> None:
    hashes = fill(db_path, [receipt(0)])
    execute_sql(db_path, ("UPDATE receipts SET body = '[1]'", ()))
    with ReceiptChain(db_path) as chain:
        detail = ReceiptQuery(chain).detail(hashes[0])

    assert detail is not None and detail.receipt is None
    assert detail.problem == "receipt #1 is unreadable (its body is not a JSON object)"


def test_detail_tells_whether_the_stored_texts_prove_the_receipt(db_path: Path) -> None:
    hashes = build(db_path, (2,))
    execute_sql(
        db_path, ("UPDATE messages SET content = 'edited' WHERE receipt_hash = ?", (hashes[1],))
    )
    with ReceiptChain(db_path) as chain:
        proven, edited = (ReceiptQuery(chain).detail(h) for h in hashes)

    assert proven is not None and proven.exchange is not None and proven.exchange.matches
    assert edited is not None and edited.exchange is not None
    assert edited.exchange.matches is False
