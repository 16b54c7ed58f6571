"""What `receipts replay` would send the model, read from a real SQLite store: on a branched
conversation, an answer's prompt is the message it answers and its history is its own branch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.models.hashing import sha256_files
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.exchanges import exchange_for
from bizra_desktop.core.receipts.record import ModelIdentity, history_commitment
from bizra_desktop.core.receipts.replay import ReplayUnavailableError, plan_replay
from tests.core.test_receipt_record import v2_record
from tests.helpers import starter_path

Turn = dict[str, str]


@pytest.fixture(scope="module")
def starter() -> ModelIdentity:
    return ModelIdentity(name="SmolLM2", sha256=sha256_files([starter_path()]))


def receipted(
    chain: ReceiptChain,
    starter: ModelIdentity,
    prompt: str,
    answer: str,
    history: list[Turn],
) -> str:
    """The receipt the pipeline would write for `answer` to `prompt` after `history`."""
    salt = new_salt()
    record = replace(
        v2_record(model=starter, system_prompt_commitment=None, cached_tokens=0),
        prompt_commitment=commit(prompt, salt),
        response_commitment=commit(answer, salt),
        history_turns=len(history),
        history_commitment=history_commitment(history, salt),
    )
    return chain.append(record.to_body(), salt).hash


def turns(*texts: str) -> list[Turn]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text}
        for i, text in enumerate(texts)
    ]


def test_a_branch_replays_with_its_own_prompt_and_history(
    tmp_path: Path, starter: ModelIdentity
) -> None:
    paths = DataPaths(tmp_path).ensure()
    with ReceiptChain(paths.database) as chain, ConversationStore(paths.database) as store:
        chat = store.create("Capitals").id
        first = store.add_message(chat, "user", "Capital of France?")
        r1 = receipted(chain, starter, "Capital of France?", "Paris.", [])
        answer = store.add_message(chat, "assistant", "Paris.", receipt_hash=r1)
        store.add_message(chat, "user", "And of Italy?")
        r2 = receipted(
            chain, starter, "And of Italy?", "Rome.", turns("Capital of France?", "Paris.")
        )
        store.add_message(chat, "assistant", "Rome.", receipt_hash=r2)
        # The second prompt edited: a branch after the first answer, with its own answer.
        store.add_message(chat, "user", "And of Spain?", after=answer.id)
        r3 = receipted(
            chain, starter, "And of Spain?", "Madrid.", turns("Capital of France?", "Paris.")
        )
        store.add_message(chat, "assistant", "Madrid.", receipt_hash=r3)
        # Another answer to the first prompt: a variant beside "Paris.".
        r4 = receipted(chain, starter, "Capital of France?", "It is Paris.", [])
        store.add_message(chat, "assistant", "It is Paris.", receipt_hash=r4, after=first.id)

        stored = chain.get(r4)
        assert stored is not None
        with chain.connection() as conn:
            exchange = exchange_for(conn, r4, stored.body)
        assert exchange is not None and exchange.matches
        assert exchange.prompt == "Capital of France?"  # not the later "And of Spain?"

        plans = {r: plan_replay(paths, chain, r) for r in (r2, r3, r4)}

    assert plans[r2].messages == (
        *turns("Capital of France?", "Paris."),
        {"role": "user", "content": "And of Italy?"},
    )
    assert plans[r3].messages == (
        *turns("Capital of France?", "Paris."),
        {"role": "user", "content": "And of Spain?"},
    )
    assert plans[r4].messages == ({"role": "user", "content": "Capital of France?"},)
    assert plans[r3].stored_answer == "Madrid." and plans[r3].model.is_starter
    assert plans[r3].params.seed == 123456


def test_an_edited_earlier_turn_is_named(tmp_path: Path, starter: ModelIdentity) -> None:
    paths = DataPaths(tmp_path).ensure()
    with ReceiptChain(paths.database) as chain, ConversationStore(paths.database) as store:
        chat = store.create("Capitals").id
        store.add_message(chat, "user", "Capital of France?")
        store.add_message(chat, "assistant", "Lyon.")  # not what the model said
        store.add_message(chat, "user", "And of Italy?")
        r2 = receipted(
            chain, starter, "And of Italy?", "Rome.", turns("Capital of France?", "Paris.")
        )
        store.add_message(chat, "assistant", "Rome.", receipt_hash=r2)

        with pytest.raises(ReplayUnavailableError, match="the 2 earlier turns receipt #1"):
            plan_replay(paths, chain, r2)
