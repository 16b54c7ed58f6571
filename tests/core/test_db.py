"""The shared SQLite plumbing: the connection recipe, transactions, versioned tables, stores."""

from __future__ import annotations

import hashlib
import multiprocessing
import re
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.conversations import SCHEMA_VERSION as CONVERSATIONS_SCHEMA
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.db import (
    BUSY_TIMEOUT_S,
    SchemaTooNewError,
    SqliteStore,
    connect,
    open_database,
    transaction,
    utc_now,
)
from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.chain import GENESIS, ReceiptChain
from bizra_desktop.core.receipts.chain import SCHEMA_VERSION as RECEIPTS_SCHEMA

# The schema exactly as ReceiptChain created it before the receipts had a schema_versions row.
OLD_RECEIPTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    seq  INTEGER PRIMARY KEY,   -- 1-based position in the chain
    hash TEXT NOT NULL UNIQUE,  -- hex SHA-256 of body
    body TEXT NOT NULL          -- RFC 8785 canonical JSON
);
CREATE TABLE IF NOT EXISTS commitment_salts (
    receipt_hash TEXT PRIMARY KEY,
    salt         BLOB NOT NULL
);
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bizra.sqlite3"


def versions(db_path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db_path)) as conn:
        return dict(conn.execute("SELECT component, version FROM schema_versions").fetchall())


def make_old_receipts_file(db_path: Path, count: int) -> list[str]:
    """A file as the old ReceiptChain left it: WAL, its two tables, `count` linked receipts and
    one salt, and no schema_versions table. Returns the receipt hashes."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    hashes: list[str] = []
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(OLD_RECEIPTS_SCHEMA)
        prev_hash = GENESIS
        for seq in range(1, count + 1):
            body = {
                "type": "inference",
                "seq_hint": seq,
                "prev_hash": prev_hash,
                "timestamp": "2025-01-01T00:00:00.000Z",
            }
            text = canonical.dumps(body)
            prev_hash = hashlib.sha256(text).hexdigest()
            conn.execute(
                "INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)",
                (seq, prev_hash, text.decode("utf-8")),
            )
            hashes.append(prev_hash)
        conn.execute(
            "INSERT INTO commitment_salts (receipt_hash, salt) VALUES (?, ?)",
            (hashes[0], b"\x01" * 32),
        )
    return hashes


# --- connect, utc_now, transaction -------------------------------------------------------------


def test_connect_uses_wal_full_sync_a_busy_timeout_and_autocommit(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (int(BUSY_TIMEOUT_S * 1000),)
        assert conn.isolation_level is None
        conn.execute("CREATE TABLE t (x)")
        assert not conn.in_transaction

        # Usable from another thread (callers serialise their own use).
        errors: list[BaseException] = []

        def use() -> None:
            try:
                conn.execute("INSERT INTO t VALUES (1)")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        worker = threading.Thread(target=use)
        worker.start()
        worker.join()
        assert errors == []
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_connect_refuses_a_file_that_is_not_a_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"not a database at all\n" * 100)

    with pytest.raises(sqlite3.DatabaseError):
        connect(db_path)


def test_utc_now_is_iso_8601_utc_to_the_millisecond() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now())


def test_transaction_commits_or_rolls_back(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with closing(connect(db_path)) as conn:
        conn.execute("CREATE TABLE t (x)")
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            assert conn.in_transaction
        with pytest.raises(RuntimeError), transaction(conn):
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("boom")

        assert not conn.in_transaction
        assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]


# --- open_database -----------------------------------------------------------------------------


def test_open_database_creates_the_folder_and_records_the_version(db_path: Path) -> None:
    with closing(open_database(db_path, "demo", [("CREATE TABLE demo (a)",)])) as conn:
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert versions(db_path) == {"demo": 1}


def test_open_database_refuses_a_newer_schema(db_path: Path) -> None:
    open_database(
        db_path, "demo", [("CREATE TABLE demo (a)",), ("CREATE TABLE demo2 (a)",)]
    ).close()

    with pytest.raises(SchemaTooNewError, match="demo tables are at version 2, newer than"):
        open_database(db_path, "demo", [("CREATE TABLE demo (a)",)])
    assert issubclass(SchemaTooNewError, sqlite3.DatabaseError)


def test_a_failed_migration_leaves_nothing_behind(db_path: Path) -> None:
    broken = ("CREATE TABLE demo (a)", "THIS IS NOT SQL")

    with pytest.raises(sqlite3.OperationalError):
        open_database(db_path, "demo", [broken])

    with closing(sqlite3.connect(db_path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "demo" not in tables


# --- SqliteStore -------------------------------------------------------------------------------


def test_store_connection_transaction_and_close(db_path: Path) -> None:
    with SqliteStore(db_path, "demo", [("CREATE TABLE demo (a)",)]) as store:
        with store.transaction() as conn:
            conn.execute("INSERT INTO demo VALUES (1)")
        with pytest.raises(RuntimeError), store.transaction() as conn:
            conn.execute("INSERT INTO demo VALUES (2)")
            raise RuntimeError("boom")
        with store.connection() as conn:
            assert conn.execute("SELECT a FROM demo").fetchall() == [(1,)]
    store.close()  # a second close does nothing

    with pytest.raises(sqlite3.ProgrammingError), store.connection() as conn:
        conn.execute("SELECT 1")


def test_store_checkpoints_the_wal_on_close_only_when_asked(db_path: Path) -> None:
    wal = db_path.with_name(db_path.name + "-wal")
    # Another open connection keeps the WAL file in place when a store closes.
    with SqliteStore(db_path, "other", []):
        plain = SqliteStore(db_path, "plain", [("CREATE TABLE plain (a)",)])
        with plain.connection() as conn:
            conn.execute("INSERT INTO plain VALUES (1)")
        plain.close()
        assert wal.stat().st_size > 0

        folded = SqliteStore(db_path, "folded", [], checkpoint_on_close=True)
        with folded.connection() as conn:
            conn.execute("INSERT INTO plain VALUES (2)")
        folded.close()
        assert wal.stat().st_size == 0


# --- receipts as a versioned component ---------------------------------------------------------


def test_a_database_made_by_the_old_receipts_code_still_opens(db_path: Path) -> None:
    hashes = make_old_receipts_file(db_path, 3)

    with ReceiptChain(db_path) as chain:
        assert chain.verify().ok
        assert len(chain) == 3
        assert [receipt.hash for receipt in chain] == hashes
        appended = chain.append({"type": "inference"})
    assert appended.seq == 4
    assert appended.body["prev_hash"] == hashes[-1]
    assert versions(db_path) == {"receipts": RECEIPTS_SCHEMA}

    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT receipt_hash FROM commitment_salts").fetchall() == [
            (hashes[0],)
        ]
    with ReceiptChain(db_path) as reopened:
        assert reopened.verify().ok
        assert len(reopened) == 4


def test_an_old_app_file_with_conversations_gains_a_receipts_version(db_path: Path) -> None:
    # The old app: receipts without a version row, conversations with one.
    make_old_receipts_file(db_path, 2)
    with ConversationStore(db_path) as store:
        store.create("kept")
    assert versions(db_path) == {"conversations": CONVERSATIONS_SCHEMA}

    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        assert chain.verify().ok
        assert len(chain) == 2
        assert [c.title for c in store.list()] == ["kept"]
    assert versions(db_path) == {"conversations": CONVERSATIONS_SCHEMA, "receipts": RECEIPTS_SCHEMA}


def test_a_new_file_gets_the_receipt_tables_from_the_migration(db_path: Path) -> None:
    ReceiptChain(db_path).close()

    with closing(sqlite3.connect(db_path)) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"receipts", "commitment_salts", "schema_versions"} <= tables
    assert versions(db_path) == {"receipts": RECEIPTS_SCHEMA}


def _open_and_append(db_path: Path, barrier: Any) -> None:
    barrier.wait()  # everyone opens the brand-new file at the same moment
    with ReceiptChain(db_path) as chain:
        chain.append({"type": "test", "n": 1})


def test_processes_creating_the_database_together_all_open_it(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    db_path = tmp_path / "fresh" / "bizra.sqlite3"
    barrier = context.Barrier(6)
    workers = [context.Process(target=_open_and_append, args=(db_path, barrier)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 6
    with ReceiptChain(db_path) as chain:
        assert len(chain) == 6 and chain.verify().ok
