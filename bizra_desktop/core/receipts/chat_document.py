"""The chat export document (`bizra-chat-export/2`): one conversation and the receipts of its
answers, and what it takes for a bundled receipt to prove an answer.

The document holds the conversation, its current branch as `messages` and the messages of its
other branches (edited prompts, other answers) as `branches`, each message as stored (text,
time, routing and figures in `meta`, an answer's receipt hash, the id of the message it
follows) and a receipts bundle: the selection export of export.py
(`bizra-receipts-export/1` with texts and salts, its header and lines as JSON objects) of the
receipts its answers name, each with its Merkle inclusion proof, under the signed checkpoint
and the public key. chat_render.py writes it as JSON, Markdown or HTML; chat_export_verify.py
checks it offline. docs/RECEIPTS.md has the details.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bizra_desktop import __version__
from bizra_desktop.core.conversations import ConversationStore, Message
from bizra_desktop.core.db import utc_now
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.export import EXIT_BAD_INPUT, ExportError, write_export

FORMAT = "bizra-chat-export/2"
# Version 1 (before branches) still verifies: no `branches`, no `source`, no `parent_id`.
FORMAT_V1 = "bizra-chat-export/1"
MARK = b"bizra-chat-export/"  # in a chat export's first line (JSON: its second), never elsewhere
FORMAT_NAMES = {"md": "Markdown", "html": "HTML", "json": "JSON"}
CONVERSATION_FIELDS = ("id", "title", "created_at", "updated_at", "preset", "source")
MESSAGE_FIELDS = ("id", "role", "content", "created_at", "receipt_hash", "meta", "parent_id")
DOCUMENT_FIELDS = frozenset(
    {"app", "conversation", "exported_at", "format", "messages", "branches", "receipts"}
)
# Each format's (document, conversation, message) fields.
FIELDS = {
    FORMAT: (DOCUMENT_FIELDS, CONVERSATION_FIELDS, MESSAGE_FIELDS),
    FORMAT_V1: (DOCUMENT_FIELDS - {"branches"}, CONVERSATION_FIELDS[:-1], MESSAGE_FIELDS[:-1]),
}
BUNDLE_FIELDS = ("header", "lines")
# Routing and figures that a message's meta shares with its receipt: (meta key, receipt path).
SIGNED_META = (
    ("complexity", ("complexity",)),
    ("tier", ("tier",)),
    ("tokens", ("tokens", "completion")),
    ("ttft_ms", ("ttft_ms",)),
    ("tokens_per_s", ("tokens_per_s",)),
)


def chat_document(
    chain: ReceiptChain, store: ConversationStore, conversation_id: int
) -> dict[str, Any]:
    """The export document of a conversation. ExportError (code 2) if there is none, (code 1)
    if the receipts its answers name are not in the verified, signed chain."""
    conversation = store.get(conversation_id)
    if conversation is None:
        raise ExportError(f"there is no conversation with id {conversation_id}", EXIT_BAD_INPUT)
    every = store.all_messages(conversation_id)
    current = {message.id for message in store.messages(conversation_id)}
    # Read in one go: a message saved meanwhile (in neither) would not change which is current.
    messages = [message for message in every if message.id in current]
    branches = [message for message in every if message.id not in current]
    # The messages read above name the receipts: an answer saved meanwhile is in neither.
    hashes = {m.receipt_hash for m in every if m.role == "assistant" and m.receipt_hash}
    bundle = None
    if hashes:
        buffer = io.BytesIO()
        write_export(chain, buffer, with_content=True, receipt_hashes=hashes)
        header, *lines = (json.loads(line) for line in buffer.getvalue().splitlines())
        bundle = {"header": header, "lines": lines}
    return {
        "format": FORMAT,
        "app": f"BIZRA Desktop {__version__}",
        "exported_at": utc_now(),
        "conversation": {name: getattr(conversation, name) for name in CONVERSATION_FIELDS},
        "messages": [_message_record(message) for message in messages],
        "branches": [_message_record(message) for message in branches],
        "receipts": bundle,
    }


def _message_record(message: Message) -> dict[str, Any]:
    # The window's "figures" is its own HTML; the numbers it shows are in the other keys.
    meta = {key: value for key, value in message.meta.items() if key != "figures"}
    record = {name: getattr(message, name) for name in MESSAGE_FIELDS}
    return record | {"meta": meta}


def records(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every message of the document: the current branch's, then the other branches'."""
    return [*document["messages"], *document.get("branches", ())]


def answer_checks(document: Mapping[str, Any]) -> dict[int, str | None]:
    """For each message that names a receipt, by index in records() (the current branch's
    first, so their indexes are those in `messages`): None when the bundled receipt proves it,
    else why not (answer_problem)."""
    bundle = document["receipts"]
    lines = {line["hash"]: line for line in bundle["lines"]} if bundle else {}
    messages = records(document)
    return {
        index: answer_problem(messages, index, lines.get(message["receipt_hash"]))
        for index, message in enumerate(messages)
        if message["receipt_hash"] is not None
    }


def prompt_index(messages: Sequence[Mapping[str, Any]], index: int) -> int | None:
    """Where the prompt of answer `messages[index]` is: the user message it follows (version
    1, without `parent_id`: the nearest user message before it), as exchanges.py pairs a
    receipt's texts."""
    message = messages[index]
    if "parent_id" not in message:
        return next((i for i in range(index - 1, -1, -1) if messages[i]["role"] == "user"), None)
    return next(
        (
            i
            for i, other in enumerate(messages)
            if other["id"] == message["parent_id"] and other["role"] == "user"
        ),
        None,
    )


def answer_problem(
    messages: Sequence[Mapping[str, Any]], index: int, line: Mapping[str, Any] | None
) -> str | None:
    """Why the receipt bundled as `line` does not prove answer `messages[index]` (its text, its
    prompt: the user message it follows, and the routing and figures its meta shares
    with the receipt); None when it does. The line's texts were checked against its
    commitments already."""
    message = messages[index]
    if line is None:
        return "the export holds no receipt with that hash"
    if "response" not in line:
        return "its receipt is bundled without texts: the stored texts do not match it"
    if line["response"] != message["content"]:
        return "its text is not the one its receipt commits to"
    prompt = prompt_index(messages, index)
    if prompt is None or messages[prompt]["content"] != line["prompt"]:
        return "the prompt before it is not the one its receipt commits to"
    body = json.loads(line["body"])
    for key, path in SIGNED_META:
        if key in message["meta"]:
            signed: Any = body
            for step in path:
                signed = signed.get(step) if isinstance(signed, dict) else None
            if message["meta"][key] != signed:
                return f"its {key} ({message['meta'][key]!r}) is not its receipt's ({signed!r})"
    return None


def json_bytes(value: Any, indent: int | None = None) -> bytes:
    """UTF-8 JSON; escaped to ASCII only if a string holds a lone surrogate (meta may)."""
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, indent=indent).encode("ascii")


def chat_kind(head: bytes) -> str | None:
    """md, html or json when the file starting with `head` is a chat export, else None: its
    first line names the format (in JSON, the second: `"format": …` comes first)."""
    first, _, rest = head.partition(b"\n")
    if first == b"{":
        return "json" if MARK in rest.partition(b"\n")[0] else None
    if MARK not in first:
        return None
    if first.startswith(b"<!DOCTYPE html>"):
        return "html"
    return "md" if first.startswith(b"<!--") else None
