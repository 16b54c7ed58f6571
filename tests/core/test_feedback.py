"""Escalation memory on real SQLite files: the threshold rule, its reason, reset, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.feedback import EscalationMemory
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.tiers import Tier


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bizra.sqlite3"


@pytest.fixture
def memory(db_path: Path) -> Iterator[EscalationMemory]:
    with EscalationMemory(db_path) as opened:
        yield opened


def escalate(memory: EscalationMemory, kind: str, times: int = 1) -> None:
    for _ in range(times):
        memory.record(kind, Tier.NANO, Tier.MICRO)


def test_no_boost_below_the_threshold(memory: EscalationMemory) -> None:
    assert memory.boost("code") == (0, None)
    escalate(memory, "code")
    assert memory.boost("code") == (0, None)


def test_boost_at_the_threshold_says_why(memory: EscalationMemory) -> None:
    escalate(memory, "code", 2)

    assert memory.boost("code") == (
        1,
        "you asked for a bigger model on 2 earlier prompts like this one (kind 'code'); "
        "starting one tier higher",
    )


def test_boost_is_never_more_than_one_tier(memory: EscalationMemory) -> None:
    escalate(memory, "math", 9)

    steps, reason = memory.boost("math")

    assert steps == 1
    assert reason is not None
    assert "on 9 earlier prompts" in reason


def test_threshold_is_configurable(db_path: Path) -> None:
    with EscalationMemory(db_path, threshold=3) as memory:
        escalate(memory, "design", 2)
        assert memory.boost("design")[0] == 0
        escalate(memory, "design")
        assert memory.boost("design")[0] == 1


def test_kinds_are_independent(memory: EscalationMemory) -> None:
    escalate(memory, "code", 2)
    escalate(memory, "math")

    assert memory.boost("code")[0] == 1
    assert memory.boost("math") == (0, None)
    assert memory.boost("design") == (0, None)


def test_reset_one_kind(memory: EscalationMemory) -> None:
    escalate(memory, "code", 3)
    escalate(memory, "math", 2)

    assert memory.reset("code") == 3
    assert memory.reset("code") == 0

    assert memory.boost("code") == (0, None)
    assert memory.boost("math")[0] == 1
    assert memory.summary() == {"math": 2}


def test_reset_everything(memory: EscalationMemory) -> None:
    escalate(memory, "code", 3)
    escalate(memory, "math", 2)

    assert memory.reset() == 5

    assert memory.summary() == {}
    assert memory.boost("code") == (0, None)
    # Learning starts again from nothing.
    escalate(memory, "code")
    assert memory.boost("code") == (0, None)


def test_summary_counts_most_first(memory: EscalationMemory) -> None:
    escalate(memory, "math")
    escalate(memory, "code", 3)
    escalate(memory, "design")

    summary = memory.summary()

    assert summary == {"code": 3, "design": 1, "math": 1}
    assert list(summary) == ["code", "design", "math"]


def test_memory_survives_a_restart(db_path: Path) -> None:
    with EscalationMemory(db_path) as memory:
        escalate(memory, "code", 2)
        memory.record("math", Tier.SMALL, Tier.LARGE)

    with EscalationMemory(db_path) as reopened:
        assert reopened.boost("code")[0] == 1
        assert reopened.summary() == {"code": 2, "math": 1}


def test_shares_the_file_with_receipts_and_conversations(db_path: Path) -> None:
    with (
        ReceiptChain(db_path) as chain,
        ConversationStore(db_path) as store,
        EscalationMemory(db_path) as memory,
    ):
        chain.append({"type": "inference"})
        store.add_message(store.create().id, "user", "hi")
        escalate(memory, "code", 2)

    with (
        ReceiptChain(db_path) as chain,
        ConversationStore(db_path) as store,
        EscalationMemory(db_path) as memory,
    ):
        assert chain.verify().ok
        assert len(store.list()) == 1
        assert memory.boost("code")[0] == 1


@pytest.mark.parametrize(
    ("kind", "from_tier", "to_tier", "error"),
    [
        ("code", Tier.MICRO, Tier.MICRO, "MICRO is not bigger than MICRO"),
        ("code", Tier.SMALL, Tier.NANO, "NANO is not bigger than SMALL"),
        ("", Tier.NANO, Tier.MICRO, "needs the kind of prompt"),
    ],
)
def test_record_refuses_what_is_not_an_escalation(
    memory: EscalationMemory, kind: str, from_tier: Tier, to_tier: Tier, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        memory.record(kind, from_tier, to_tier)
    assert memory.summary() == {}


def test_threshold_must_be_positive(db_path: Path) -> None:
    with pytest.raises(ValueError, match="threshold must be at least 1"):
        EscalationMemory(db_path, threshold=0)
