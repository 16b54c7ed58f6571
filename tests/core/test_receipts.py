"""The receipt chain on real SQLite files: linkage, durability, tamper detection, concurrency."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bizra_desktop.core.db import open_database
from bizra_desktop.core.receipts import canonical, chain, merkle
from bizra_desktop.core.receipts.chain import (
    CHAIN_FIELDS,
    GENESIS,
    Receipt,
    ReceiptChain,
    ReceiptStoreError,
    VerifyReport,
)
from bizra_desktop.core.receipts.checkpoint import Checkpoint, open_checkpoint
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.keys import SigningKey
from bizra_desktop.core.receipts.merkle import MerkleTree, leaf_hash

HASH_MISMATCH = "stored hash does not match its content"


def inference_fields(i: int) -> dict[str, Any]:
    """A receipt body as the pipeline hands it over; ttft_ms is unique per receipt."""
    return {
        "type": "inference",
        "model": {"name": "qwen2.5-0.5b-instruct", "sha256": "ab" * 32},
        "tier": "NANO",
        "complexity": "simple",
        "params": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512},
        "prompt_commitment": "cd" * 32,
        "response_commitment": "ef" * 32,
        "tokens": {"prompt": 12, "completion": 80},
        "ttft_ms": 7000 + i + 0.25,
        "tokens_per_s": 8.46,
        "impact": 0.3498,
        "stopped": False,
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bizra.sqlite3"


@pytest.fixture
def receipt_chain(db_path: Path) -> Iterator[ReceiptChain]:
    with ReceiptChain(db_path) as opened:
        yield opened


def fill(db_path: Path, count: int) -> list[Receipt]:
    with ReceiptChain(db_path) as receipt_chain:
        return [receipt_chain.append(inference_fields(i)) for i in range(count)]


def verify(db_path: Path) -> VerifyReport:
    with ReceiptChain(db_path) as receipt_chain:
        return receipt_chain.verify()


def execute_sql(db_path: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()


def stored_row(db_path: Path, seq: int) -> tuple[str, str]:
    with closing(sqlite3.connect(db_path)) as conn:
        row: tuple[str, str] = conn.execute(
            "SELECT hash, body FROM receipts WHERE seq = ?", (seq,)
        ).fetchone()
    return row


# --- appending and reading ---------------------------------------------------------------------


def test_append_survives_reopen_and_verifies(db_path: Path) -> None:
    appended = fill(db_path, 3)

    with ReceiptChain(db_path) as reopened:
        report = reopened.verify()
        assert list(reopened) == appended
        assert len(reopened) == 3

    assert (report.ok, report.count, report.first_bad_seq, report.first_bad_hash) == (
        True,
        3,
        None,
        None,
    )
    assert report.message.startswith("chain of 3 receipts is intact; its Merkle root matches")


def test_receipts_link_by_seq_and_prev_hash(receipt_chain: ReceiptChain) -> None:
    receipts = [receipt_chain.append(inference_fields(i)) for i in range(4)]

    assert [r.seq for r in receipts] == [1, 2, 3, 4]
    assert receipts[0].body["prev_hash"] == GENESIS
    for before, after in itertools.pairwise(receipts):
        assert after.body["prev_hash"] == before.hash
    assert receipt_chain.latest() == receipts[-1]
    assert receipt_chain.get(receipts[1].hash) == receipts[1]
    assert receipt_chain.get("0" * 64) is None


def test_empty_chain(receipt_chain: ReceiptChain) -> None:
    assert len(receipt_chain) == 0
    assert receipt_chain.latest() is None
    assert list(receipt_chain) == []
    assert receipt_chain.verify().message == "chain of 0 receipts is intact"
    assert receipt_chain.latest_checkpoint() is None


def test_hash_is_sha256_of_canonical_json(receipt_chain: ReceiptChain) -> None:
    receipt = receipt_chain.append(inference_fields(0))
    text = receipt.canonical_json()

    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == receipt.hash
    assert "hash" not in receipt.body
    # Stable after a JSON round trip, and key order does not matter.
    assert canonical.dumps(json.loads(text)).decode() == text
    assert canonical.dumps(dict(reversed(list(receipt.body.items())))).decode() == text


def test_chain_adds_utc_timestamp_and_rounds_metrics(receipt_chain: ReceiptChain) -> None:
    fields = inference_fields(0) | {"ttft_ms": 123.456789, "tokens_per_s": 8.4649, "impact": 0.1}
    body = receipt_chain.append(fields).body

    assert body["timestamp"].endswith("Z")
    assert datetime.fromisoformat(body["timestamp"]).utcoffset() is not None
    assert (body["ttft_ms"], body["tokens_per_s"], body["impact"]) == (123.46, 8.46, 0.1)
    assert body["params"] == fields["params"]  # sampling parameters are recorded as given


def test_iteration_pages_and_allows_appending_meanwhile(
    receipt_chain: ReceiptChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain, "_PAGE_SIZE", 2)
    for i in range(5):
        receipt_chain.append(inference_fields(i))

    seen = []
    for receipt in receipt_chain:
        seen.append(receipt.seq)
        if receipt.seq == 1:  # the lock is not held while a row is consumed
            receipt_chain.append(inference_fields(99))

    assert seen == [1, 2, 3, 4, 5, 6]
    assert receipt_chain.verify().ok


@pytest.mark.parametrize("key", sorted(CHAIN_FIELDS))
def test_append_rejects_chain_fields(receipt_chain: ReceiptChain, key: str) -> None:
    with pytest.raises(ValueError, match=f"must not contain {key}: the chain sets them"):
        receipt_chain.append(inference_fields(0) | {key: "forged"})
    assert len(receipt_chain) == 0


@pytest.mark.parametrize(
    "value",
    [{1, 2}, float("nan"), {1: "non-string key"}, "lone \ud800 surrogate", 2**60, b"bytes"],
    ids=["set", "nan", "int-key", "surrogate", "huge-int", "bytes"],
)
def test_append_rejects_what_json_cannot_hold(receipt_chain: ReceiptChain, value: object) -> None:
    with pytest.raises(ValueError, match="receipt fields are not JSON-serialisable"):
        receipt_chain.append({"type": "inference", "extra": value})

    # The failed append rolled back and released its lock: the chain goes on.
    assert len(receipt_chain) == 0
    assert receipt_chain.append(inference_fields(0)).seq == 1


def test_salt_is_stored_beside_the_receipt_not_in_it(db_path: Path) -> None:
    salt = new_salt()
    with ReceiptChain(db_path) as receipt_chain:
        fields = inference_fields(0) | {"prompt_commitment": commit("hello", salt)}
        salted = receipt_chain.append(fields, salt=salt)
        unsalted = receipt_chain.append(inference_fields(1))

    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT receipt_hash, salt FROM commitment_salts").fetchall()
    assert rows == [(salted.hash, salt)]
    assert salt.hex() not in salted.canonical_json()
    assert unsalted.hash not in {row[0] for row in rows}


def test_receipt_and_salt_commit_together_or_not_at_all(db_path: Path) -> None:
    with ReceiptChain(db_path) as receipt_chain:
        receipt_chain.append(inference_fields(0), salt=new_salt())
        # Make the salt insert fail inside append's transaction, as a full disk would.
        execute_sql(
            db_path,
            (
                "CREATE TRIGGER refuse_salt BEFORE INSERT ON commitment_salts "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
                (),
            ),
        )

        with pytest.raises(sqlite3.IntegrityError, match="disk full"):
            receipt_chain.append(inference_fields(1), salt=new_salt())

        assert len(receipt_chain) == 1
        assert receipt_chain.verify().ok


def test_close_checkpoints_the_wal_into_the_main_file(db_path: Path) -> None:
    fill(db_path, 2)
    wal = db_path.with_name(db_path.name + "-wal")

    assert not wal.exists() or wal.stat().st_size == 0
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# --- tampering ---------------------------------------------------------------------------------


def test_flipped_byte_in_the_file_is_found(db_path: Path) -> None:
    receipts = fill(db_path, 5)
    raw = bytearray(db_path.read_bytes())
    needle = b'"ttft_ms":7002.25'  # receipt #3's body, written into the main file by close()
    assert raw.count(needle) == 1

    raw[raw.index(needle) + len(b'"ttft_ms":70')] ^= 0x01  # '0' -> '1': still valid JSON
    db_path.write_bytes(bytes(raw))
    report = verify(db_path)

    assert not report.ok
    assert (report.first_bad_seq, report.first_bad_hash) == (3, receipts[2].hash)
    assert report.message == f"receipt #3 (hash {receipts[2].hash[:6]}…): {HASH_MISMATCH}"


def _change_body_field(db_path: Path) -> None:
    _, body = stored_row(db_path, 3)
    execute_sql(
        db_path,
        ("UPDATE receipts SET body = ? WHERE seq = 3", (body.replace('"NANO"', '"LARGE"'),)),
    )


def _delete_middle_row(db_path: Path) -> None:
    execute_sql(db_path, ("DELETE FROM receipts WHERE seq = 3", ()))


def _delete_and_renumber(db_path: Path) -> None:
    execute_sql(
        db_path,
        ("DELETE FROM receipts WHERE seq = 3", ()),
        ("UPDATE receipts SET seq = seq - 1 WHERE seq > 3", ()),
    )


def _swap_bodies(db_path: Path) -> None:
    (_, body3), (_, body4) = stored_row(db_path, 3), stored_row(db_path, 4)
    execute_sql(
        db_path,
        ("UPDATE receipts SET body = ? WHERE seq = 3", (body4,)),
        ("UPDATE receipts SET body = ? WHERE seq = 4", (body3,)),
    )


def _swap_whole_rows(db_path: Path) -> None:
    (hash3, body3), (hash4, body4) = stored_row(db_path, 3), stored_row(db_path, 4)
    execute_sql(
        db_path,
        ("UPDATE receipts SET hash = 'moving' WHERE seq = 3", ()),
        ("UPDATE receipts SET hash = ?, body = ? WHERE seq = 4", (hash3, body3)),
        ("UPDATE receipts SET hash = ?, body = ? WHERE seq = 3", (hash4, body4)),
    )


def _change_stored_hash(db_path: Path) -> None:
    execute_sql(db_path, ("UPDATE receipts SET hash = ? WHERE seq = 3", ("0" * 64,)))


def _insert_forged_receipt(db_path: Path) -> None:
    # A self-consistent receipt slipped in after #2: its own hash and prev_hash are right,
    # but the receipt after it still names #2.
    hash2, _ = stored_row(db_path, 2)
    forged = canonical.dumps({"type": "inference", "prev_hash": hash2, "timestamp": "forged"})
    execute_sql(
        db_path,
        ("UPDATE receipts SET seq = -seq WHERE seq > 2", ()),
        ("UPDATE receipts SET seq = 1 - seq WHERE seq < 0", ()),
        (
            "INSERT INTO receipts (seq, hash, body) VALUES (3, ?, ?)",
            (hashlib.sha256(forged).hexdigest(), forged.decode()),
        ),
    )


def _reformat_body(db_path: Path) -> None:
    # Same JSON, pretty-printed, and a hash that matches the new text: only the form is wrong.
    _, body = stored_row(db_path, 3)
    pretty = json.dumps(json.loads(body), indent=2)
    new_hash = hashlib.sha256(pretty.encode()).hexdigest()
    execute_sql(
        db_path, ("UPDATE receipts SET body = ?, hash = ? WHERE seq = 3", (pretty, new_hash))
    )


def _truncate_body(db_path: Path) -> None:
    execute_sql(db_path, ("UPDATE receipts SET body = substr(body, 1, 40) WHERE seq = 3", ()))


def _invalid_utf8_body(db_path: Path) -> None:
    execute_sql(
        db_path, ("UPDATE receipts SET body = CAST(X'7B22FF227D' AS TEXT) WHERE seq = 3", ())
    )


def _renumber_from_zero(db_path: Path) -> None:
    execute_sql(db_path, ("UPDATE receipts SET seq = seq - 1", ()))


@pytest.mark.reliability(
    area="Faults",
    case="a receipt database tampered with by SQL",
    done="bodies, hashes, rows deleted, inserted, swapped and renumbered; then verify",
)
@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (_change_body_field, 3, HASH_MISMATCH),
        (_delete_middle_row, 4, "comes right after #2; the receipts between were deleted"),
        (_delete_and_renumber, 3, "prev_hash is not the hash of receipt #2 (a receipt was"),
        (_swap_bodies, 3, HASH_MISMATCH),
        (_swap_whole_rows, 3, "prev_hash is not the hash of receipt #2"),
        (_change_stored_hash, 3, HASH_MISMATCH),
        (_insert_forged_receipt, 4, "prev_hash is not the hash of receipt #3"),
        (_reformat_body, 3, "body is not in canonical (RFC 8785) form"),
        (_truncate_body, 3, "body is not a valid JSON object"),
        (_invalid_utf8_body, 3, "body is not a valid JSON object"),
        (_renumber_from_zero, 0, "the chain starts here instead of at #1"),
    ],
)
def test_sql_tampering_is_named(
    db_path: Path, tamper: Callable[[Path], None], bad_seq: int, problem: str
) -> None:
    fill(db_path, 5)
    tamper(db_path)
    report = verify(db_path)

    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert report.message.startswith(f"receipt #{bad_seq} (hash ")
    assert problem in report.message
    assert "\n" not in report.message


def test_tampered_hash_is_reported_on_one_printable_line(db_path: Path) -> None:
    fill(db_path, 2)
    execute_sql(db_path, ("UPDATE receipts SET hash = ? WHERE seq = 2", ("a\nb\x00c",)))

    assert verify(db_path).message == f"receipt #2 (hash a\\nb\\x00c…): {HASH_MISMATCH}"


def test_reading_an_unparseable_receipt_raises_a_store_error(db_path: Path) -> None:
    receipts = fill(db_path, 2)
    execute_sql(db_path, ("UPDATE receipts SET body = '[1, 2]' WHERE seq = 2", ()))

    with ReceiptChain(db_path) as receipt_chain, pytest.raises(ReceiptStoreError, match="#2"):
        receipt_chain.get(receipts[1].hash)


# --- damaged files -----------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused_clearly(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"these are not the receipts you are looking for\n" * 100)

    with pytest.raises(ReceiptStoreError, match="is not a SQLite receipt database") as caught:
        ReceiptChain(db_path)
    assert "\n" not in str(caught.value)


def test_a_directory_in_the_way_is_refused_clearly(db_path: Path) -> None:
    db_path.mkdir(parents=True)

    with pytest.raises(ReceiptStoreError, match="cannot open the receipt store"):
        ReceiptChain(db_path)


def root_page(db_path: Path, table: str) -> int:
    with closing(sqlite3.connect(db_path)) as conn:
        (page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    return int(page)


def smash_pages(db_path: Path, first: int, last: int | None = None) -> None:
    """Overwrite pages first..last (1-based, inclusive; to the end of the file if last is None)."""
    raw = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(raw[16:18], "big")
    end = len(raw) if last is None else last * page_size
    raw[(first - 1) * page_size : end] = b"\xa5" * (end - (first - 1) * page_size)
    db_path.write_bytes(bytes(raw))


def test_corrupt_pages_make_verify_fail_without_raising(db_path: Path) -> None:
    fill(db_path, 50)
    # Keep page 1 (the schema), the schema_versions table made before the receipt tables and the
    # Merkle tables made after them; smash the receipts' root page, which the 50 rows outgrew.
    assert root_page(db_path, "schema_versions") < root_page(db_path, "receipts")
    receipts = root_page(db_path, "receipts")
    smash_pages(db_path, receipts, receipts)

    report = verify(db_path)

    assert not report.ok
    assert report.first_bad_seq is None
    assert report.message.startswith("the receipt database is corrupt or not a database")


def test_a_damaged_version_table_is_refused_clearly(db_path: Path) -> None:
    fill(db_path, 3)
    page = root_page(db_path, "schema_versions")
    smash_pages(db_path, page, page)

    with pytest.raises(ReceiptStoreError, match="is not a SQLite receipt database") as caught:
        ReceiptChain(db_path)
    assert "\n" not in str(caught.value)


def test_receipt_tables_from_a_newer_app_are_refused_clearly(db_path: Path) -> None:
    fill(db_path, 1)
    execute_sql(
        db_path, ("UPDATE schema_versions SET version = 3 WHERE component = 'receipts'", ())
    )

    with pytest.raises(ReceiptStoreError) as caught:
        ReceiptChain(db_path)
    assert str(caught.value) == (
        f"{db_path}: the receipts tables are at version 3, newer than this BIZRA Desktop knows "
        "(2); update the app"
    )


# --- concurrency -------------------------------------------------------------------------------


def _append_from_process(db_path: Path, barrier: Barrier, count: int) -> None:
    with ReceiptChain(db_path) as receipt_chain:
        barrier.wait()  # start together, so the two writers really contend
        for i in range(count):
            receipt_chain.append(inference_fields(i))


def test_two_processes_append_to_one_chain(db_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_append_from_process, args=(db_path, barrier, 50)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [worker.exitcode for worker in workers] == [0, 0]
    with ReceiptChain(db_path) as receipt_chain:
        assert len(receipt_chain) == 100
        assert receipt_chain.verify().ok


def test_threads_append_to_one_chain(receipt_chain: ReceiptChain) -> None:
    def append_many() -> None:
        for i in range(25):
            receipt_chain.append(inference_fields(i))

    threads = [threading.Thread(target=append_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(receipt_chain) == 100
    assert receipt_chain.verify().ok


# --- commitments -------------------------------------------------------------------------------


def test_commitment_is_sha256_of_salt_then_text() -> None:
    salt = new_salt()

    assert len(salt) == 32
    assert new_salt() != salt
    assert commit("héllo", salt) == hashlib.sha256(salt + "héllo".encode()).hexdigest()
    assert commit("héllo", salt) == commit("héllo", salt)
    assert commit("héllo", salt) != commit("héllo", new_salt())
    assert commit("héllo", salt) != commit("hello", salt)


def test_commitment_accepts_lone_surrogates_and_keeps_them_apart() -> None:
    salt = new_salt()

    assert commit("cut \ud800", salt) != commit("cut \udc00", salt)
    assert commit("cut \ud800", salt) != commit("cut \ufffd", salt)


# --- properties --------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=12,
)
_fields = st.dictionaries(
    _text.filter(lambda key: key not in CHAIN_FIELDS), _json_values, max_size=5
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_canonical_json_is_stable_after_a_round_trip(value: Any) -> None:
    text = canonical.dumps(value)
    assert canonical.dumps(canonical.loads(text)) == text


@settings(max_examples=25, deadline=None)
@given(
    bodies=st.lists(_fields, min_size=1, max_size=4),
    target=st.integers(min_value=0),
    position=st.integers(min_value=0),
    replacement=st.characters(codec="utf-8"),
)
def test_any_body_tamper_is_found_at_or_before_that_receipt(
    bodies: list[dict[str, Any]], target: int, position: int, replacement: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bizra.sqlite3"
        with ReceiptChain(db_path) as receipt_chain:
            for fields in bodies:
                receipt = receipt_chain.append(fields)
                assert receipt_chain.get(receipt.hash) == receipt
            assert receipt_chain.verify().ok

        seq = target % len(bodies) + 1
        _, body = stored_row(db_path, seq)
        index = position % len(body)
        if body[index] == replacement:
            replacement = "x" if replacement != "x" else "y"
        tampered = body[:index] + replacement + body[index + 1 :]
        execute_sql(db_path, ("UPDATE receipts SET body = ? WHERE seq = ?", (tampered, seq)))
        report = verify(db_path)

    assert not report.ok
    assert report.first_bad_seq is not None
    assert report.first_bad_seq <= seq


# --- the Merkle log and its signed checkpoints -------------------------------------------------


def latest_checkpoint(receipt_chain: ReceiptChain) -> Checkpoint:
    note, key = receipt_chain.latest_checkpoint(), receipt_chain.verifier_key()
    assert note is not None and key is not None
    return open_checkpoint(note, key)


def test_every_append_signs_a_checkpoint_of_the_new_tree(receipt_chain: ReceiptChain) -> None:
    receipts = []
    for i in range(6):
        receipts.append(receipt_chain.append(inference_fields(i)))
        checkpoint = latest_checkpoint(receipt_chain)
        tree = MerkleTree([leaf_hash(bytes.fromhex(r.hash)) for r in receipts])
        assert (checkpoint.size, checkpoint.root) == (i + 1, tree.root())

    key = receipt_chain.verifier_key()
    assert key is not None and checkpoint.origin == key.name
    assert key.name.startswith("bizra-desktop/")


def test_the_key_is_made_on_first_append_beside_the_database(db_path: Path) -> None:
    with ReceiptChain(db_path) as receipt_chain:
        assert receipt_chain.verifier_key() is None
        receipt_chain.append(inference_fields(0))
        key = receipt_chain.verifier_key()
    assert (db_path.parent / "keys" / "receipts.key").is_file()
    with ReceiptChain(db_path) as reopened:
        reopened.append(inference_fields(1))
        assert reopened.verifier_key() == key


def test_the_merkle_state_commits_with_the_receipt_or_not_at_all(db_path: Path) -> None:
    with ReceiptChain(db_path) as receipt_chain:
        receipt_chain.append(inference_fields(0))
        execute_sql(
            db_path,
            (
                "CREATE TRIGGER refuse_checkpoint BEFORE INSERT ON checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
                (),
            ),
        )
        with pytest.raises(sqlite3.IntegrityError, match="disk full"):
            receipt_chain.append(inference_fields(1))
        execute_sql(db_path, ("DROP TRIGGER refuse_checkpoint", ()))

        assert len(receipt_chain) == 1
        assert receipt_chain.verify().ok
        assert receipt_chain.append(inference_fields(2)).seq == 2


def test_receipts_older_than_the_merkle_log_get_their_tree_on_open(db_path: Path) -> None:
    # A version-1 file: the receipt tables as the first migration made them, nothing more.
    newer = db_path.with_name("newer.sqlite3")
    hashes = [r.hash for r in fill(newer, 4)]
    with closing(open_database(db_path, "receipts", chain._MIGRATIONS[:1])) as conn:
        conn.executemany(
            "INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)",
            [(i + 1, *stored_row(newer, i + 1)) for i in range(4)],
        )
    with ReceiptChain(db_path) as receipt_chain:
        assert receipt_chain.verify().ok
        checkpoint = latest_checkpoint(receipt_chain)
        assert checkpoint.size == 4
        assert checkpoint.root == MerkleTree([leaf_hash(bytes.fromhex(h)) for h in hashes]).root()
        assert receipt_chain.append(inference_fields(9)).seq == 5
        assert receipt_chain.verify().ok


def _append_forged_tail(db_path: Path) -> None:
    # A receipt that links correctly, added with SQL: the chain alone cannot tell.
    hash5, _ = stored_row(db_path, 5)
    forged = canonical.dumps({"type": "inference", "prev_hash": hash5, "impact": 1.0})
    execute_sql(
        db_path,
        (
            "INSERT INTO receipts (seq, hash, body) VALUES (6, ?, ?)",
            (hashlib.sha256(forged).hexdigest(), forged.decode()),
        ),
    )


def _delete_last(db_path: Path) -> None:
    execute_sql(db_path, ("DELETE FROM receipts WHERE seq = 5", ()))


def _rewrite_and_relink_tail(db_path: Path) -> None:
    # Receipts #4 and #5 rewritten, hashes recomputed and relinked: the chain alone holds.
    prev_hash, _ = stored_row(db_path, 3)
    for seq in (4, 5):
        _, body = stored_row(db_path, seq)
        fields = json.loads(body) | {"prev_hash": prev_hash, "impact": 1.0}
        text = canonical.dumps(fields)
        prev_hash = hashlib.sha256(text).hexdigest()
        execute_sql(
            db_path,
            (
                "UPDATE receipts SET hash = ?, body = ? WHERE seq = ?",
                (prev_hash, text.decode(), seq),
            ),
        )


def _reformat_last(db_path: Path) -> None:
    _, body = stored_row(db_path, 5)
    pretty = json.dumps(json.loads(body), indent=1)
    execute_sql(
        db_path,
        (
            "UPDATE receipts SET body = ?, hash = ? WHERE seq = 5",
            (pretty, hashlib.sha256(pretty.encode()).hexdigest()),
        ),
    )


def _flip_checkpoint_byte(db_path: Path) -> None:
    execute_sql(db_path, ("UPDATE checkpoints SET note = replace(note, '\n5\n', '\n4\n')", ()))


def _empty_checkpoints(db_path: Path) -> None:
    execute_sql(db_path, ("DELETE FROM checkpoints", ()))


def _alter_frontier(db_path: Path) -> None:
    execute_sql(db_path, ("UPDATE merkle_state SET frontier = zeroblob(64)", ()))


def _checkpoint_by_another_key(db_path: Path) -> None:
    other = SigningKey.generate()
    with ReceiptChain(db_path) as receipt_chain:
        signed = latest_checkpoint(receipt_chain)
    note = Checkpoint(other.name, signed.size, signed.root).sign(other)
    execute_sql(db_path, ("UPDATE checkpoints SET note = ?", (note,)))


def _delete_the_key(db_path: Path) -> None:
    (db_path.parent / "keys" / "receipts.key").unlink()


@pytest.mark.reliability(
    area="Faults",
    case="the Merkle log and its checkpoints tampered with by SQL",
    done="forged tails, rewritten and relinked receipts, checkpoints altered, emptied or "
    "foreign, the Merkle state altered, the key deleted",
)
@pytest.mark.parametrize(
    ("tamper", "bad_seq", "problem"),
    [
        (_append_forged_tail, 6, "not covered by the signed checkpoint of 5: they were added"),
        (_delete_last, None, "covers 5 receipts but the chain holds 4: receipt #5 was deleted"),
        (_rewrite_and_relink_tail, None, "receipts among #1 to #4 were rewritten and relinked"),
        (_reformat_last, 5, "body is not in canonical (RFC 8785) form"),
        (_flip_checkpoint_byte, None, "signature does not verify: the checkpoint was altered"),
        (_empty_checkpoints, None, "no signed checkpoint for the 5 receipts"),
        (_alter_frontier, None, "the stored Merkle state (merkle_state) does not match"),
        (_checkpoint_by_another_key, None, "it is signed by another key: bizra-desktop/"),
        (_delete_the_key, None, "signing key"),
    ],
)
def test_what_only_the_merkle_log_reveals_is_named(
    db_path: Path, tamper: Callable[[Path], None], bad_seq: int | None, problem: str
) -> None:
    fill(db_path, 5)
    tamper(db_path)
    report = verify(db_path)

    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in report.message
    assert "\n" not in report.message


def test_relinking_earlier_receipts_is_located_by_the_merkle_subtree(db_path: Path) -> None:
    fill(db_path, 6)  # frontier: a subtree of #1-#4, one of #5-#6
    prev_hash = GENESIS
    for seq in range(1, 7):  # rewrite #2 and relink everything after it
        _, body = stored_row(db_path, seq)
        fields = json.loads(body) | {"prev_hash": prev_hash}
        if seq == 2:
            fields["impact"] = 1.0
        text = canonical.dumps(fields)
        prev_hash = hashlib.sha256(text).hexdigest()
        execute_sql(
            db_path,
            (
                "UPDATE receipts SET hash = ?, body = ? WHERE seq = ?",
                (prev_hash, text.decode(), seq),
            ),
        )

    assert "receipts among #1 to #4 were rewritten and relinked" in verify(db_path).message


def test_appending_after_a_forged_tail_is_refused(db_path: Path) -> None:
    fill(db_path, 5)
    _append_forged_tail(db_path)

    with (
        ReceiptChain(db_path) as receipt_chain,
        pytest.raises(ReceiptStoreError, match="Merkle state does not match the 6 receipts"),
    ):
        receipt_chain.append(inference_fields(7))


def _forge_with_a_recomputed_merkle_state(db_path: Path) -> None:
    """Receipts rewritten and relinked, and the Merkle state recomputed to match: everything
    but the signature, which needs the key."""
    _rewrite_and_relink_tail(db_path)
    with closing(sqlite3.connect(db_path)) as conn:
        digests = [bytes.fromhex(row[0]) for row in conn.execute("SELECT hash FROM receipts")]
    frontier = MerkleTree([leaf_hash(digest) for digest in digests]).frontier().to_bytes()
    execute_sql(db_path, ("UPDATE merkle_state SET frontier = ?", (frontier,)))


@pytest.mark.reliability(
    area="Faults",
    case="an append after tampering signs nothing",
    done="a forged rewrite with a recomputed Merkle state; an altered, emptied or foreign "
    "checkpoint; a deleted key: then an append",
)
@pytest.mark.parametrize(
    ("tamper", "refusal"),
    [
        (_forge_with_a_recomputed_merkle_state, "the latest signed checkpoint does not hold"),
        (_flip_checkpoint_byte, "the latest signed checkpoint does not hold"),
        (_empty_checkpoints, "the latest signed checkpoint does not hold (there is none)"),
        (_alter_frontier, "the latest signed checkpoint does not hold"),
        (_checkpoint_by_another_key, "restore the key file (keys/receipts.key) from a backup"),
        (_delete_the_key, "restore the key file (keys/receipts.key) from a backup"),
    ],
)
def test_an_append_never_signs_a_state_it_did_not_sign_itself(
    db_path: Path, tamper: Callable[[Path], None], refusal: str
) -> None:
    fill(db_path, 5)
    tamper(db_path)
    with ReceiptChain(db_path) as receipt_chain:
        with pytest.raises(ReceiptStoreError, match=re.escape(refusal)) as refused:
            receipt_chain.append(inference_fields(6))
        assert len(receipt_chain) == 5 and "\n" not in str(refused.value)
    assert not verify(db_path).ok  # nothing was signed over the damage


def test_verify_reports_progress(
    receipt_chain: ReceiptChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain, "_PROGRESS_EVERY", 2)
    for i in range(5):
        receipt_chain.append(inference_fields(i))
    calls: list[tuple[int, int]] = []

    assert receipt_chain.verify(progress=lambda done, total: calls.append((done, total))).ok
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_an_append_hashes_log_n_nodes_not_the_whole_tree(
    receipt_chain: ReceiptChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_node_hash = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real_node_hash(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    for size in range(1, 41):
        calls = 0
        receipt_chain.append(inference_fields(size))
        # Merging the new leaf up the frontier, then folding the frontier into the root.
        assert calls <= 2 * size.bit_length()
    assert latest_checkpoint(receipt_chain).size == 40
