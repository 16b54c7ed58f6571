"""`bizra receipts …` as users run it: a real process, a temp BIZRA_HOME, a chain built directly."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.checkpoint import Checkpoint
from bizra_desktop.core.receipts.keys import SigningKey
from tests.core.test_export import answer
from tests.e2e.test_cli import bizra


def build(home: Path, count: int, start: int = 0) -> list[str]:
    with (
        ReceiptChain(home / "bizra.sqlite3") as chain,
        ConversationStore(home / "bizra.sqlite3") as store,
    ):
        conversation = store.create("chat").id
        return [answer(chain, store, conversation, start + i) for i in range(count)]


def one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_the_local_chain(bizra_home: Path) -> None:
    result = bizra(bizra_home, "receipts", "verify")
    assert (result.returncode, result.stdout.startswith("no receipts yet")) == (0, True)

    build(bizra_home, 3)
    result = bizra(bizra_home, "receipts", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("chain of 3 receipts is intact; its Merkle root matches")

    with closing(sqlite3.connect(bizra_home / "bizra.sqlite3")) as db:
        db.execute("UPDATE receipts SET body = replace(body, 'NANO', 'HUGE') WHERE seq = 2")
        db.commit()
    one_line_error(bizra(bizra_home, "receipts", "verify"), 1, "receipt #2 (hash ")


def test_export_and_verify_offline(bizra_home: Path, tmp_path: Path) -> None:
    build(bizra_home, 4)
    out = tmp_path / "receipts.jsonl"

    exported = bizra(bizra_home, "receipts", "export", str(out), "--with-content")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("exported 4 receipts (the whole chain, texts of 4)")
    shutil.rmtree(bizra_home)  # offline: nothing of the installation is left
    verified = bizra(bizra_home, "receipts", "verify", str(out))
    assert verified.returncode == 0, verified.stderr
    assert "the prompts and responses of 4 receipts match their commitments" in verified.stdout

    lines = out.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["response"] = "a different answer"
    lines[2] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one_line_error(
        bizra(bizra_home, "receipts", "verify", str(out)),
        1,
        "line 3: receipt #2: the response does not match its commitment",
    )


def test_one_receipt_with_its_proof(bizra_home: Path, tmp_path: Path) -> None:
    hashes = build(bizra_home, 5)
    out = tmp_path / "one.jsonl"

    exported = bizra(bizra_home, "receipts", "export", str(out), "--receipt", hashes[3][:12])
    assert exported.returncode == 0, exported.stderr
    verified = bizra(bizra_home, "receipts", "verify", str(out))
    assert verified.returncode == 0, verified.stderr
    assert "selection, each with its inclusion proof" in verified.stdout

    one_line_error(
        bizra(bizra_home, "receipts", "export", str(out), "--receipt", "ffffffffff"),
        2,
        "no receipt has a hash starting ffffffffff",
    )


def test_unreadable_input_exits_2(bizra_home: Path, tmp_path: Path) -> None:
    not_export = tmp_path / "notes.txt"
    not_export.write_text("my notes\n")

    one_line_error(bizra(bizra_home, "receipts", "verify", str(not_export)), 2, "not a BIZRA")
    one_line_error(
        bizra(bizra_home, "receipts", "verify", str(tmp_path / "missing.jsonl")), 2, "cannot read"
    )
    one_line_error(
        bizra(bizra_home, "receipts", "verify", "--checkpoint", str(tmp_path / "missing")),
        2,
        "cannot read the kept checkpoint",
    )


def test_a_kept_checkpoint_catches_a_rollback(bizra_home: Path, tmp_path: Path) -> None:
    build(bizra_home, 2)
    database = bizra_home / "bizra.sqlite3"
    shutil.copy(database, tmp_path / "backup.sqlite3")
    build(bizra_home, 2, start=2)
    kept = tmp_path / "kept.txt"
    saved = bizra(bizra_home, "receipts", "checkpoint", str(kept))
    assert saved.returncode == 0, saved.stderr
    assert kept.read_text(encoding="utf-8").split("\n")[1] == "4"
    assert bizra(bizra_home, "receipts", "checkpoint").stdout == kept.read_text(encoding="utf-8")

    extended = bizra(bizra_home, "receipts", "verify", "--checkpoint", str(kept))
    assert extended.returncode == 0, extended.stderr
    assert extended.stdout.rstrip().endswith("extends the kept checkpoint of 4")

    shutil.copy(tmp_path / "backup.sqlite3", database)
    one_line_error(
        bizra(bizra_home, "receipts", "verify", "--checkpoint", str(kept)),
        1,
        "the kept checkpoint vouches for 4 receipts but the chain holds only 2: receipts #3 to "
        "#4 were cut off, or the database was rolled back",
    )


def test_a_checkpoint_kept_from_another_key_is_named(bizra_home: Path, tmp_path: Path) -> None:
    build(bizra_home, 1)
    other = SigningKey.generate()
    kept = tmp_path / "kept.txt"
    kept.write_text(Checkpoint(other.name, 1, b"\x00" * 32).sign(other))

    one_line_error(
        bizra(bizra_home, "receipts", "verify", "--checkpoint", str(kept)),
        1,
        f"it is signed by another key: {other.name}",
    )


def test_impact_from_the_verified_chain(bizra_home: Path) -> None:
    build(bizra_home, 3)
    result = bizra(bizra_home, "receipts", "impact", "--json")

    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["stage"], record["receipts"], record["verified"]) == ("SEED", 3, True)
    assert record["total"] == pytest.approx(3 * 0.3498)


@pytest.mark.model
def test_an_answer_on_the_command_line_exports_with_its_texts(
    bizra_home: Path, tmp_path: Path
) -> None:
    asked = bizra(bizra_home, "ask", "Hi", "--max-tokens", "4")
    assert asked.returncode == 0, asked.stderr
    out = tmp_path / "export.jsonl"

    exported = bizra(bizra_home, "receipts", "export", str(out), "--with-content")
    assert exported.returncode == 0, exported.stderr
    verified = bizra(bizra_home, "receipts", "verify", str(out))
    assert verified.returncode == 0, verified.stderr
    assert "the prompts and responses of 1 receipt match their commitments" in verified.stdout
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[1])["prompt"] == "Hi"
