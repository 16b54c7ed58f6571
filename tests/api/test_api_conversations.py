"""API exchanges become conversations the window lists, marked API: the official openai client,
the real starter model, the real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import openai
import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.exchanges import exchange_for
from tests.api.api_support import ServerThread

pytestmark = pytest.mark.model

PROMPT = "Name a colour of the sky."


@pytest.fixture
def client(api: ServerThread) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=api.server.base_url, api_key="unused", max_retries=0) as instance:
        yield instance


def _ask(
    client: openai.OpenAI, messages: list[dict[str, str]], bizra: dict[str, Any] | None = None
) -> tuple[str, str]:
    completion = client.chat.completions.create(
        model="auto",
        messages=messages,  # type: ignore[arg-type]
        max_tokens=8,
        temperature=0,
        extra_body=None if bizra is None else {"bizra": bizra},
    )
    assert completion.model_extra is not None
    text = completion.choices[0].message.content
    assert text is not None
    return text, completion.model_extra["bizra"]["receipt_hash"]


def test_an_api_chat_is_one_conversation_marked_api_whose_texts_prove_its_receipts(
    client: openai.OpenAI, paths: DataPaths
) -> None:
    first, first_receipt = _ask(client, [{"role": "user", "content": PROMPT}])
    # A client continuing the chat sends it whole again, with the next prompt.
    history = [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": first}]
    second, second_receipt = _ask(client, [*history, {"role": "user", "content": "Another?"}])

    with ConversationStore(paths.database) as store:
        [conversation] = [c for c in store.list() if c.source == "api"]
        messages = store.messages(conversation.id)
    assert conversation.title == PROMPT
    assert conversation.preset is None  # the requests named none
    assert [(m.role, m.content, m.receipt_hash) for m in messages] == [
        ("user", PROMPT, None),
        ("assistant", first, first_receipt),
        ("user", "Another?", None),
        ("assistant", second, second_receipt),
    ]
    with ReceiptChain(paths.database) as chain, closing(sqlite3.connect(paths.database)) as conn:
        for receipt_hash in (first_receipt, second_receipt):
            receipt = chain.get(receipt_hash)
            assert receipt is not None
            found = exchange_for(conn, receipt_hash, receipt.body)
            assert found is not None and found.matches is True


def test_an_api_chat_asked_with_a_preset_records_the_presets_name(
    client: openai.OpenAI, paths: DataPaths
) -> None:
    # The request spells the built-in "Code" its own way; the conversation keeps the preset's
    # name, so the window selects that preset when the chat is opened.
    # Titles of their own: the module's database holds the other test's conversations too.
    asked = "Write a haiku."
    first, _ = _ask(client, [{"role": "user", "content": asked}], {"preset": "  code "})
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": first}]
    _ask(client, [*history, {"role": "user", "content": "Another?"}], {"preset": "Code"})
    _ask(client, [{"role": "user", "content": "Plain?"}])

    with ConversationStore(paths.database) as store:
        api = {c.title: c for c in store.list() if c.source == "api"}
        assert [m.content for m in store.messages(api[asked].id)][::2] == [asked, "Another?"]
    assert (api[asked].preset, api["Plain?"].preset) == ("Code", None)
