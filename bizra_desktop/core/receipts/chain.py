"""The receipt chain: an append-only SQLite table; each receipt names its predecessor's hash."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.db import Migration, SchemaTooNewError, SqliteStore, utc_now
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

_MIGRATIONS: tuple[Migration, ...] = (
    (
        # IF NOT EXISTS: files made before the receipts had a schema_versions row already hold
        # these tables, and opening such a file must adopt them as version 1, not fail.
        """CREATE TABLE IF NOT EXISTS receipts (
            seq  INTEGER PRIMARY KEY,   -- 1-based position in the chain
            hash TEXT NOT NULL UNIQUE,  -- hex SHA-256 of body
            body TEXT NOT NULL          -- RFC 8785 canonical JSON
        )""",
        """CREATE TABLE IF NOT EXISTS commitment_salts (
            receipt_hash TEXT PRIMARY KEY,
            salt         BLOB NOT NULL
        )""",
    ),
)

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


class ReceiptChain(SqliteStore):
    """The chain in one SQLite file. Thread-safe; several processes may append to one file.

    close() folds the WAL into the main file, so the file on its own holds every acknowledged
    receipt (copies, backups, exports), even if another connection stays open.
    """

    def __init__(self, db_path: Path) -> None:
        try:
            super().__init__(db_path, "receipts", _MIGRATIONS, checkpoint_on_close=True)
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
        # BEGIN IMMEDIATE takes the write lock before the tip is read, so another process cannot
        # append between our read of the tip and our insert.
        with self.transaction() as conn:
            tip = conn.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
            seq = tip[0] + 1 if tip else 1
            prev_hash = tip[1].decode("utf-8", "replace") if tip else GENESIS
            body = {**_rounded(fields), "prev_hash": prev_hash, "timestamp": utc_now()}
            try:
                text = canonical.dumps(body)
            except ValueError as exc:
                raise ValueError(f"receipt fields are not JSON-serialisable: {exc}") from exc
            digest = hashlib.sha256(text).hexdigest()
            conn.execute(
                "INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)",
                (seq, digest, text.decode("utf-8")),
            )
            if salt is not None:
                conn.execute(
                    "INSERT INTO commitment_salts (receipt_hash, salt) VALUES (?, ?)",
                    (digest, salt),
                )
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
        with self.connection() as conn:
            row = conn.execute(f"{_SELECT} WHERE hash = ?", (receipt_hash,)).fetchone()
        return _receipt(row) if row else None

    def latest(self) -> Receipt | None:
        with self.connection() as conn:
            row = conn.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
        return _receipt(row) if row else None

    def __len__(self) -> int:
        with self.connection() as conn:
            (count,) = conn.execute("SELECT count(*) FROM receipts").fetchone()
        return int(count)

    def __iter__(self) -> Iterator[Receipt]:
        for row in self._rows():
            yield _receipt(row)

    def _rows(self) -> Iterator[_Row]:
        # Keyset paging by seq: each page is one short query under the lock, and the lock is
        # released before rows are yielded, so a consumer may append while iterating.
        query = f"{_SELECT} ORDER BY seq LIMIT ?"
        params: tuple[int, ...] = (_PAGE_SIZE,)
        while True:
            with self.connection() as conn:
                page: list[_Row] = conn.execute(query, params).fetchall()
            yield from page
            if len(page) < _PAGE_SIZE:
                return
            query = f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?"
            params = (page[-1][0], _PAGE_SIZE)


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


def _short(stored_hash: bytes) -> str:
    # A tampered hash may hold anything; escaping keeps the report on one printable line.
    return stored_hash[:6].decode("utf-8", "replace").encode("unicode_escape").decode() + "…"


def _open_error(db_path: Path, exc: sqlite3.DatabaseError) -> str:
    if isinstance(exc, SchemaTooNewError):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return f"cannot open the receipt store {db_path}: {exc}"
    return f"{db_path} is not a SQLite receipt database, or it is damaged ({exc})"
