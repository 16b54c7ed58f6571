"""The receipt chain: an append-only SQLite table; each receipt names its predecessor's hash."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Self

from bizra_desktop.core.receipts import canonical

GENESIS = "GENESIS"

# Keys the chain owns (prev_hash and timestamp go into the body, hash beside it); a caller that
# sets one would be forging the linkage.
CHAIN_FIELDS = frozenset({"hash", "prev_hash", "timestamp"})

# Measured floats carry noise digits that say nothing; rounding keeps receipts short and readable.
# Other floats (sampling parameters) are recorded exactly as given.
_ROUNDED_METRICS = {"ttft_ms": 2, "tokens_per_s": 2, "impact": 4}

# Rows are read in pages of this many, so neither iteration nor verify() holds the whole chain in
# memory, and the connection lock is never held while a caller consumes a row.
_PAGE_SIZE = 500

# How long to wait for a writer in another process (the GUI and the CLI share one file).
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
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

# CAST AS BLOB hands back the stored bytes undecoded: a tampered byte that is not UTF-8 must be
# reported against its receipt by verify(), not raise from the sqlite3 module's text decoding.
_SELECT = "SELECT seq, CAST(hash AS BLOB), CAST(body AS BLOB) FROM receipts"

_Row = tuple[int, bytes, bytes]


class ReceiptStoreError(Exception):
    """The receipt database cannot be opened or read; the message is one line for the user."""


@dataclass(frozen=True)
class Receipt:
    seq: int
    hash: str
    # Left out of == and hash(): the hash already identifies the body, and a mapping is unhashable.
    body: Mapping[str, Any] = field(compare=False)

    def canonical_json(self) -> str:
        return canonical.dumps(self.body).decode("utf-8")


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    count: int  # receipts checked, the broken one included
    first_bad_seq: int | None
    first_bad_hash: str | None
    message: str


class ReceiptChain:
    """The chain in one SQLite file. Thread-safe; several processes may append to one file."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._conn = _connect(db_path)
        except sqlite3.DatabaseError as exc:
            raise ReceiptStoreError(_open_error(db_path, exc)) from None

    def append(self, fields: Mapping[str, Any], salt: bytes | None = None) -> Receipt:
        """Append a receipt for `fields` and return it once it is committed.

        The chain adds prev_hash and timestamp, and rounds ttft_ms and tokens_per_s to 0.01 and
        impact to 0.0001. `salt`, when given, is stored beside the receipt in the same transaction.
        Raises ValueError if `fields` sets a chain field or cannot be canonical JSON.
        """
        clash = CHAIN_FIELDS & fields.keys()
        if clash:
            raise ValueError(
                f"receipt fields must not contain {', '.join(sorted(clash))}: the chain sets them"
            )
        with self._lock:
            # IMMEDIATE takes the write lock before the tip is read, so another process cannot
            # append between our read of the tip and our insert.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                tip = self._conn.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
                seq = tip[0] + 1 if tip else 1
                prev_hash = tip[1].decode("utf-8", "replace") if tip else GENESIS
                body = {**_rounded(fields), "prev_hash": prev_hash, "timestamp": _utc_now()}
                try:
                    text = canonical.dumps(body)
                except ValueError as exc:
                    raise ValueError(f"receipt fields are not JSON-serialisable: {exc}") from exc
                digest = hashlib.sha256(text).hexdigest()
                self._conn.execute(
                    "INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)",
                    (seq, digest, text.decode("utf-8")),
                )
                if salt is not None:
                    self._conn.execute(
                        "INSERT INTO commitment_salts (receipt_hash, salt) VALUES (?, ?)",
                        (digest, salt),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT may already have ended the transaction; a second error from
                # ROLLBACK would hide the first.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return Receipt(seq, digest, MappingProxyType(canonical.loads(text)))

    def verify(self) -> VerifyReport:
        """Walk the chain in order and report the first receipt that is not what it claims."""
        count = 0
        prev_seq, prev_hash = 0, GENESIS
        try:
            for seq, stored_hash, body in self._rows():
                count += 1
                problem = _find_problem(seq, stored_hash, body, prev_seq, prev_hash)
                if problem is not None:
                    return VerifyReport(
                        ok=False,
                        count=count,
                        first_bad_seq=seq,
                        first_bad_hash=stored_hash.decode("utf-8", "replace"),
                        message=f"receipt #{seq} (hash {_short(stored_hash)}): {problem}",
                    )
                prev_seq, prev_hash = seq, stored_hash.decode("ascii")
        except sqlite3.DatabaseError as exc:
            return VerifyReport(
                ok=False,
                count=count,
                first_bad_seq=None,
                first_bad_hash=None,
                message=f"the receipt database is corrupt or not a database "
                f"(after {count} receipts): {exc}",
            )
        noun = "receipt" if count == 1 else "receipts"
        return VerifyReport(True, count, None, None, f"chain of {count} {noun} is intact")

    def get(self, receipt_hash: str) -> Receipt | None:
        with self._lock:
            row = self._conn.execute(f"{_SELECT} WHERE hash = ?", (receipt_hash,)).fetchone()
        return _receipt(row) if row else None

    def latest(self) -> Receipt | None:
        with self._lock:
            row = self._conn.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
        return _receipt(row) if row else None

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT count(*) FROM receipts").fetchone()
        return int(count)

    def __iter__(self) -> Iterator[Receipt]:
        for row in self._rows():
            yield _receipt(row)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                # Fold the WAL into the main file even if another connection stays open, so
                # the file on its own holds every acknowledged receipt (copies, backups, exports).
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _rows(self) -> Iterator[_Row]:
        # Keyset paging by seq: each page is one short query under the lock, and the lock is
        # released before rows are yielded, so a consumer may append while iterating.
        query = f"{_SELECT} ORDER BY seq LIMIT ?"
        params: tuple[int, ...] = (_PAGE_SIZE,)
        while True:
            with self._lock:
                page: list[_Row] = self._conn.execute(query, params).fetchall()
            yield from page
            if len(page) < _PAGE_SIZE:
                return
            query = f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?"
            params = (page[-1][0], _PAGE_SIZE)


def _connect(db_path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are opened explicitly, so BEGIN IMMEDIATE is ours.
    conn = sqlite3.connect(
        db_path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        # A file that is not a database passes connect() and fails on its first statement.
        conn.execute("PRAGMA journal_mode=WAL")
        # Per connection: COMMIT returns only once the WAL is on disk, so an acknowledged
        # receipt survives a power cut.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


def _find_problem(
    seq: int, stored_hash: bytes, body: bytes, prev_seq: int, prev_hash: str
) -> str | None:
    """What is wrong with one stored receipt, given the receipt before it; None if nothing."""
    if seq != prev_seq + 1:
        if prev_seq == 0:
            return "the chain starts here instead of at #1 (receipts deleted or renumbered)"
        return f"comes right after #{prev_seq}; the receipts between were deleted or renumbered"
    parsed = _parse_object(body)
    if parsed is None:
        return "body is not a valid JSON object"
    try:
        is_canonical = canonical.dumps(parsed) == body
    except (ValueError, RecursionError):
        is_canonical = False
    if not is_canonical:
        return "body is not in canonical (RFC 8785) form"
    if hashlib.sha256(body).hexdigest().encode("ascii") != stored_hash:
        return "stored hash does not match its content"
    if parsed.get("prev_hash") != prev_hash:
        previous = "GENESIS" if prev_seq == 0 else f"the hash of receipt #{prev_seq}"
        return (
            f"prev_hash is not {previous} (a receipt was deleted, inserted or reordered before it)"
        )
    return None


def _receipt(row: _Row) -> Receipt:
    seq, stored_hash, body = row
    parsed = _parse_object(body)
    if parsed is None:
        raise ReceiptStoreError(f"receipt #{seq} is unreadable (its body is not a JSON object)")
    return Receipt(seq, stored_hash.decode("utf-8", "replace"), MappingProxyType(parsed))


def _parse_object(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = canonical.loads(body)
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; absurd nesting is a RecursionError.
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _rounded(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: round(value, _ROUNDED_METRICS[key])
        if key in _ROUNDED_METRICS and isinstance(value, float)
        else value
        for key, value in fields.items()
    }


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _short(stored_hash: bytes) -> str:
    # A tampered hash may hold anything; escaping keeps the report on one printable line.
    return stored_hash[:6].decode("utf-8", "replace").encode("unicode_escape").decode() + "…"


def _open_error(db_path: Path, exc: sqlite3.DatabaseError) -> str:
    if isinstance(exc, sqlite3.OperationalError):
        return f"cannot open the receipt store {db_path}: {exc}"
    return f"{db_path} is not a SQLite receipt database, or it is damaged ({exc})"
