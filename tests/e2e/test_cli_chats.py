"""`bizra chats …` as users run it: a real process, a temp BIZRA_HOME; conversations answered
by the real starter model, exported, then checked by `bizra receipts verify` with the
installation gone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from tests.core.test_chat_export import (
    Document,
    _checkpoint_of_another_key,
    _edit_answer,
    _edit_receipt_field,
    _forge_checkpoint_root,
    _swap_proofs,
    answered,
    rewrite,
)
from tests.e2e.test_cli import bizra
from tests.e2e.test_cli_cp1252 import cli
from tests.e2e.test_cli_receipts import one_line_error

FORMATS = ("md", "html", "json")


TAMPERING: list[tuple[Callable[[Document], None], str]] = [
    (_edit_answer, "its text is not the one its receipt commits to"),
    (_edit_receipt_field, "stored hash does not match its content"),
    (_swap_proofs, "its inclusion proof fails"),
    (_forge_checkpoint_root, "the export's checkpoint is not valid"),
    (_checkpoint_of_another_key, "the export's checkpoint is not from this log"),
]


@pytest.mark.model
def test_list_without_and_with_conversations(bizra_home: Path) -> None:
    assert bizra(bizra_home, "chats", "list").stdout == "no conversations yet\n"
    assert json.loads(bizra(bizra_home, "chats", "list", "--json").stdout) == []

    for prompt in ("First chat", "Second chat"):
        asked = bizra(bizra_home, "ask", prompt, "--max-tokens", "4", "--temperature", "0")
        assert asked.returncode == 0, asked.stderr
    listed = bizra(bizra_home, "chats", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert [(r["title"], r["messages"]) for r in records] == [
        ("Second chat", 2),
        ("First chat", 2),
    ]
    assert set(records[0]) == {
        "id",
        "title",
        "created_at",
        "updated_at",
        "messages",
        "preset",
        "source",
    }
    assert records[0]["source"] == "cli"
    text = bizra(bizra_home, "chats", "list").stdout.splitlines()
    assert text[0].split()[0] == str(records[0]["id"]) and text[0].endswith(
        "2 messages  Second chat"
    )


@pytest.mark.model
def test_export_each_format_and_verify_it_offline(bizra_home: Path, tmp_path: Path) -> None:
    # A conversation in the terminal: two real answers by the starter model, one receipt each.
    chatted = bizra(bizra_home, "chat", stdin="What is 2 + 2?\nAnd 3 + 3? <b>x</b>\n\n")
    assert chatted.returncode == 0, chatted.stderr
    (record,) = json.loads(bizra(bizra_home, "chats", "list", "--json").stdout)
    assert record["messages"] == 4

    outs = {}
    for fmt in FORMATS:
        out = tmp_path / f"chat-{fmt}.export"
        exported = bizra(
            bizra_home, "chats", "export", str(record["id"]), str(out), "--format", fmt
        )
        assert exported.returncode == 0, exported.stderr
        assert exported.stdout.startswith(
            f"exported “{record['title']}” (4 messages, 2 answers proven by bundled receipts)"
        )
        outs[fmt] = out
    by_suffix = bizra(bizra_home, "chats", "export", str(record["id"]), str(tmp_path / "c.html"))
    assert by_suffix.returncode == 0 and "as HTML" in by_suffix.stdout

    shutil.rmtree(bizra_home)  # offline: nothing of the installation is left
    for fmt, out in outs.items():
        verified = bizra(bizra_home, "receipts", "verify", str(out))
        assert verified.returncode == 0, (fmt, verified.stderr)
        assert "is valid: 2 answers and the prompts before them match their receipts" in (
            verified.stdout
        )

    for fmt, out in outs.items():
        original = out.read_bytes()
        for tamper, message in TAMPERING:
            rewrite(out, fmt, tamper)
            one_line_error(bizra(bizra_home, "receipts", "verify", str(out)), 1, message)
            out.write_bytes(original)
        if fmt != "json":  # the readable part edited, the data left alone
            text = original.decode("utf-8")
            assert text.count("2 · BIZRA") == 1
            out.write_text(text.replace("2 · BIZRA", "2 · You"), encoding="utf-8")
            one_line_error(
                bizra(bizra_home, "receipts", "verify", str(out)),
                1,
                "differs from what the verified data says: the readable part was altered",
            )


def test_bad_requests_exit_2_with_one_line(bizra_home: Path, tmp_path: Path) -> None:
    one_line_error(
        bizra(bizra_home, "chats", "export", "7", str(tmp_path / "x.md")),
        2,
        "there is no conversation with id 7",
    )
    one_line_error(
        bizra(bizra_home, "chats", "export", "7", str(tmp_path / "x.txt")),
        2,
        "say --format md, html or json: x.txt does not end in one",
    )


def test_a_cp1252_console_gets_every_line_and_the_file_every_character(
    bizra_home: Path, tmp_path: Path
) -> None:
    """On a Windows console (cp1252) a title in another script prints as '?', the export
    file keeps it exactly and verifies."""
    db = bizra_home / "bizra.sqlite3"
    title = "猫 → café ✓"
    with ReceiptChain(db) as chain, ConversationStore(db) as store:
        chat = store.create(title).id
        answered(chain, store, chat, "猫?", "ねこ")
    listed = cli(bizra_home, "chats", "list")
    assert listed.code == 0 and listed.stdout.rstrip().endswith("? -> café v"), listed.stdout
    out = tmp_path / "chat.md"
    exported = cli(bizra_home, "chats", "export", str(chat), str(out))
    assert exported.code == 0 and exported.stdout.startswith("exported “? -> café v”")
    assert f"# {title}\n" in out.read_text(encoding="utf-8")
    verified = cli(bizra_home, "receipts", "verify", str(out))
    assert verified.code == 0, verified.stderr
