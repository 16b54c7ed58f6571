"""The receipt chain: an append-only SQLite table; each receipt names its predecessor's hash.

Every append also extends an RFC 9162 Merkle tree over the receipt hashes (its frontier is kept,
so an append costs O(log n)) and stores a checkpoint of the new tree signed with the installation
key, all in the append's one transaction: a receipt is never committed without its checkpoint.

Tables: `receipts` (with generated, indexed columns for the browser); `commitment_salts`, the
salt store (receipt hash → the random salt of its prompt and response commitments, kept out of
the receipt so an exported chain leaks no text); `merkle_state`, the tree's frontier;
`checkpoints`, the latest signed checkpoint.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.db import (
    DatabaseUnavailableError,
    Migration,
    SchemaTooNewError,
    SqliteStore,
    connect,
    utc_now,
)
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.checkpoint import (
    Checkpoint,
    CheckpointError,
    ForeignKeyError,
    open_checkpoint,
)
from bizra_desktop.core.receipts.keys import (
    BadKeyError,
    SigningKey,
    VerifierKey,
    key_path,
    load_or_create_signing_key,
    load_signing_key,
)
from bizra_desktop.core.receipts.merkle import CompactRange, MerkleTree, leaf_hash
from bizra_desktop.core.receipts.verification import (
    GENESIS,
    BrokenReceipt,
    ChainWalk,
    kept_problem,
    parse_object,
    plural,
    root_problem,
)

__all__ = ["CHAIN_FIELDS", "GENESIS", "Receipt", "ReceiptChain", "ReceiptStoreError"]

# Keys the chain owns (prev_hash and timestamp go into the body, hash beside it); a caller that
# sets one would be forging the linkage.
CHAIN_FIELDS = frozenset({"hash", "prev_hash", "timestamp"})

# Measured floats carry noise digits that say nothing; rounding keeps receipts short and readable.
# Other floats (sampling parameters) are recorded exactly as given.
_ROUNDED_METRICS = {"ttft_ms": 2, "tokens_per_s": 2, "impact": 4}

# Rows are read in pages of this many, so neither iteration nor verify() holds the whole chain in
# memory, and the connection lock is never held while a caller consumes a row.
_PAGE_SIZE = 500
_PROGRESS_EVERY = 5000

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
    (
        """CREATE TABLE merkle_state (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            size     INTEGER NOT NULL,  -- receipts in the tree
            frontier BLOB               -- CompactRange nodes; NULL: not yet built (see below)
        )""",
        # A file that already holds receipts gets its tree built from them when it is opened
        # (NULL marks that); SQL cannot hash, so the migration cannot do it.
        """INSERT INTO merkle_state (id, size, frontier)
            SELECT 1, 0, CASE WHEN EXISTS (SELECT 1 FROM receipts) THEN NULL ELSE X'' END""",
        # One row: a rolled-back file rolls back any history with it, so older checkpoints
        # prove nothing here; the ones worth keeping are kept outside (`bizra receipts checkpoint`).
        """CREATE TABLE checkpoints (
            id        INTEGER PRIMARY KEY CHECK (id = 1),
            tree_size INTEGER NOT NULL,
            note      TEXT NOT NULL     -- C2SP signed note
        )""",
        # What the receipt browser filters on, as indexed columns computed from the body, so a
        # filtered page of 100,000 receipts is an index walk (core/receipts/query.py). VIRTUAL:
        # nothing is stored twice. json_valid first: a damaged body gives NULLs, not an error.
        *(
            f"""ALTER TABLE receipts ADD COLUMN {column} TEXT GENERATED ALWAYS AS
                (CASE WHEN json_valid(body) THEN json_extract(body, '{path}') END) VIRTUAL"""
            for column, path in (
                ("time", "$.timestamp"),
                ("model", "$.model.name"),
                ("tier", "$.tier"),
            )
        ),
        "CREATE INDEX receipts_by_time ON receipts (time)",
        "CREATE INDEX receipts_by_model ON receipts (model, seq)",
        "CREATE INDEX receipts_by_tier ON receipts (tier, seq)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)  # the receipts component's current schema

# CAST AS BLOB hands back the stored bytes undecoded: a tampered byte that is not UTF-8 must be
# reported against its receipt by verify(), not raise from the sqlite3 module's text decoding.
# A damaged page can give a row NULLs despite NOT NULL; they read as empty, which never verifies.
_SELECT = "SELECT seq, CAST(ifnull(hash, '') AS BLOB), CAST(ifnull(body, '') AS BLOB) FROM receipts"

_Row = tuple[int, bytes, bytes]

Progress = Callable[[int, int], None]  # (receipts checked, receipts in all)


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


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    ok: bool
    count: int  # receipts checked, the broken one included
    first_bad_seq: int | None
    first_bad_hash: str | None
    message: str


@dataclass(frozen=True)
class LogState:
    """The signed tail of the log as one snapshot of the database holds it."""

    tree_size: int | None  # None: the merkle_state row is gone
    frontier: bytes | None
    note: str | None  # the latest signed checkpoint


class ReceiptChain(SqliteStore):
    """The chain in one SQLite file. Thread-safe; several processes may append to one file.

    `keys_dir` holds the installation's signing key (default: the `keys` folder beside the
    database, as DataPaths lays them out); the key is made on the first append.
    close() folds the WAL into the main file, so the file on its own holds every acknowledged
    receipt (copies, backups, exports), even if another connection stays open.
    """

    def __init__(self, db_path: Path, keys_dir: Path | None = None) -> None:
        self.db_path = db_path
        self.keys_dir = keys_dir if keys_dir is not None else DataPaths(db_path.parent).keys
        self._key: SigningKey | None = None
        try:
            super().__init__(db_path, "receipts", _MIGRATIONS, checkpoint_on_close=True)
        except sqlite3.DatabaseError as exc:
            raise ReceiptStoreError(_open_error(db_path, exc)) from None
        try:
            self._build_tree_for_older_receipts()
        except (sqlite3.DatabaseError, ReceiptStoreError) as exc:
            self.close()
            if isinstance(exc, ReceiptStoreError):
                raise
            raise ReceiptStoreError(_open_error(db_path, exc)) from None

    def append(
        self,
        fields: Mapping[str, Any],
        salt: bytes | None = None,
        also: Callable[[sqlite3.Connection, str], None] | None = None,
    ) -> Receipt:
        """Append a receipt for `fields` and return it once it is committed with its checkpoint.

        The chain adds prev_hash and timestamp, and rounds ttft_ms and tokens_per_s to 0.01 and
        impact to 0.0001. `salt`, when given, is stored beside the receipt in the same transaction,
        and `also(connection, receipt_hash)` writes there what must commit with the receipt (the
        texts it commits to); if it raises, nothing is appended.
        Raises ValueError if `fields` sets a chain field or cannot be canonical JSON,
        ReceiptStoreError if the signing key is unusable or the Merkle state does not match the
        chain (tampering: `bizra receipts verify` says where).
        """
        clash = CHAIN_FIELDS & fields.keys()
        if clash:
            raise ValueError(
                f"receipt fields must not contain {', '.join(sorted(clash))}: the chain sets them"
            )
        key = self._signing_key()  # before the lock: made once, with file I/O
        # BEGIN IMMEDIATE takes the write lock before the tip is read, so another process cannot
        # append between our read of the tip and our insert.
        with self.transaction() as conn:
            tip = conn.execute(f"{_SELECT} ORDER BY seq DESC LIMIT 1").fetchone()
            seq = tip[0] + 1 if tip else 1
            prev_hash = tip[1].decode("utf-8", "replace") if tip else GENESIS
            frontier = _frontier_before_append(conn, seq - 1)
            _check_signed_state(conn, frontier, key)
            body = {**_rounded(fields), "prev_hash": prev_hash, "timestamp": utc_now()}
            try:
                text = canonical.dumps(body)
            except ValueError as exc:
                raise ValueError(f"receipt fields are not JSON-serialisable: {exc}") from exc
            digest = hashlib.sha256(text).digest()
            conn.execute(
                "INSERT INTO receipts (seq, hash, body) VALUES (?, ?, ?)",
                (seq, digest.hex(), text.decode("utf-8")),
            )
            if salt is not None:
                conn.execute(
                    "INSERT INTO commitment_salts (receipt_hash, salt) VALUES (?, ?)",
                    (digest.hex(), salt),
                )
            if also is not None:
                also(conn, digest.hex())
            frontier.append(leaf_hash(digest))
            _store_log(conn, frontier, key)
        return Receipt(seq, digest.hex(), MappingProxyType(canonical.loads(text)))

    def verify(
        self,
        progress: Progress | None = None,
        visit: Callable[[int, dict[str, Any]], None] | None = None,
        kept_checkpoint: str | None = None,
    ) -> VerifyReport:
        """Walk the chain in order and report the first receipt that is not what it claims, then
        check the Merkle tree against the latest signed checkpoint and, when given, against a
        checkpoint the user kept earlier (signed note text).

        `progress(done, total)` is called every few thousand receipts; `visit(seq, body)` for each
        receipt that passed the walk (trust them only if the report is ok, or up to
        first_bad_seq - 1).
        """
        walk = ChainWalk()
        try:
            with self.snapshot() as conn:
                (total,) = conn.execute("SELECT count(*) FROM receipts").fetchone()
                state = read_log_state(conn)
                for seq, stored_hash, body in raw_rows(conn):
                    parsed = walk.step(seq, stored_hash, body)
                    if visit is not None:
                        visit(seq, parsed)
                    if progress is not None and walk.count % _PROGRESS_EVERY == 0:
                        progress(walk.count, total)
        except BrokenReceipt as broken:
            return _broken(broken)
        except sqlite3.DatabaseError as exc:
            return VerifyReport(
                ok=False,
                count=walk.count,
                first_bad_seq=None,
                first_bad_hash=None,
                message=f"the receipt database is corrupt or not a database "
                f"(after {walk.count} receipts): {exc}",
            )
        if progress is not None:
            progress(walk.count, walk.count)
        try:
            summary = self._check_log(walk, state, kept_checkpoint)
        except BrokenReceipt as broken:
            return _broken(broken)
        except _LogProblem as problem:
            return VerifyReport(
                ok=False,
                count=walk.count,
                first_bad_seq=None,
                first_bad_hash=None,
                message=str(problem),
            )
        return VerifyReport(
            ok=True, count=walk.count, first_bad_seq=None, first_bad_hash=None, message=summary
        )

    def latest_checkpoint(self) -> str | None:
        """The latest signed checkpoint (a signed note), None before the first receipt."""
        with self.connection() as conn:
            row = conn.execute("SELECT note FROM checkpoints WHERE id = 1").fetchone()
        return str(row[0]) if row else None

    def verifier_key(self) -> VerifierKey | None:
        """The installation's public key, None if it has none yet; never makes one."""
        try:
            key = load_signing_key(self.keys_dir)
        except BadKeyError as exc:
            raise ReceiptStoreError(str(exc)) from None
        return key.verifier if key else None

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own inside a read transaction: one consistent view of the file
        for as long as the block runs, while appends go on (WAL readers do not block writers)."""
        with closing(connect(self.db_path)) as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:  # a failed read may have ended it already
                    conn.execute("ROLLBACK")

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

    def _signing_key(self) -> SigningKey:
        if self._key is None:
            try:
                self._key = load_or_create_signing_key(self.keys_dir)
            except BadKeyError as exc:
                raise ReceiptStoreError(str(exc)) from None
        return self._key

    def _build_tree_for_older_receipts(self) -> None:
        """Give receipts written before the Merkle log (frontier NULL) their tree and a first
        checkpoint. They are taken as they are: `verify` still checks their chain."""
        with self.connection() as conn:
            row = conn.execute("SELECT frontier FROM merkle_state").fetchone()
        if row is None or row[0] is not None:
            return
        key = self._signing_key()
        with self.transaction() as conn:
            row = conn.execute("SELECT frontier FROM merkle_state").fetchone()
            if row[0] is not None:  # another process did it while we waited for the lock
                return
            frontier = CompactRange()
            for _, _, body in raw_rows(conn):
                frontier.append(leaf_hash(hashlib.sha256(body).digest()))
            _store_log(conn, frontier, key)

    def _check_log(self, walk: ChainWalk, state: LogState, kept_note: str | None) -> str:
        """The Merkle tree of the walked receipts against the stored state, the latest signed
        checkpoint and a kept one; raises _LogProblem or BrokenReceipt, else says what holds."""
        count = walk.count
        if state.note is None and count == 0 and kept_note is None:
            return "chain of 0 receipts is intact"
        try:
            key = self.verifier_key()
        except ReceiptStoreError as exc:  # a damaged key file is a finding, not a crash
            raise _LogProblem(str(exc)) from None
        if key is None:
            raise _LogProblem(
                f"this installation's signing key ({key_path(self.keys_dir)}) is missing, so the "
                "signed checkpoints cannot be checked"
            )
        tree = MerkleTree([leaf_hash(digest) for digest in walk.digests])
        if state.note is None:
            if count:
                raise _LogProblem(
                    f"there is no signed checkpoint for the {count} receipts (the checkpoints "
                    "table was emptied)"
                )
            summary = "chain of 0 receipts is intact"
        else:
            summary = self._check_signed(walk, tree, state, key)
        if kept_note is not None:
            kept = _open(kept_note, key, "the kept checkpoint")
            problem = kept_problem(tree, kept, "the chain")
            if problem is not None:
                raise _LogProblem(problem)
            summary += f", and it extends the kept checkpoint of {kept.size}"
        return summary

    @staticmethod
    def _check_signed(walk: ChainWalk, tree: MerkleTree, state: LogState, key: VerifierKey) -> str:
        assert state.note is not None
        signed = _open(state.note, key, "the latest checkpoint")
        if signed.size < tree.size:
            first = signed.size + 1
            raise BrokenReceipt(
                first,
                first,
                walk.digests[signed.size].hex().encode("ascii"),
                f"it and the {tree.size - first} receipts after it are not covered by the "
                f"signed checkpoint of {signed.size}: they were added outside the app",
            )
        problem = root_problem(tree, signed, "the chain")
        if problem is not None:
            walk.explain_last()
            raise _LogProblem(_locate_rewrite(tree, state, signed) or problem)
        if (state.tree_size, state.frontier) != (tree.size, tree.frontier().to_bytes()):
            raise _LogProblem(
                "the stored Merkle state (merkle_state) does not match the receipts: it was altered"
            )
        return (
            f"chain of {plural(tree.size, 'receipt')} is intact; its Merkle root matches the "
            "checkpoint "
            f"signed by {key.describe()}"
        )


class _LogProblem(Exception):
    """The receipts verify one by one, but not against the Merkle state or a checkpoint."""


def raw_rows(conn: sqlite3.Connection, last_seq: int | None = None) -> Iterator[_Row]:
    """(seq, hash, body) as stored, in chain order, up to `last_seq`, fetched in pages."""
    if last_seq is None:
        cursor = conn.execute(f"{_SELECT} ORDER BY seq")
    else:
        cursor = conn.execute(f"{_SELECT} WHERE seq <= ? ORDER BY seq", (last_seq,))
    while page := cursor.fetchmany(_PAGE_SIZE):
        yield from page


def hashes_starting(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """At most two receipt hashes that start with `prefix` (lower-case hex): one names a
    receipt, two say the prefix is ambiguous. A range of the hash index, not a scan: every hex
    string that starts with `prefix` sorts from it up to `prefix` + "g"."""
    rows = conn.execute(
        "SELECT hash FROM receipts WHERE hash >= ? AND hash < ? LIMIT 2", (prefix, prefix + "g")
    ).fetchall()
    return [str(row[0]) for row in rows]


def read_log_state(conn: sqlite3.Connection) -> LogState:
    state = conn.execute("SELECT size, frontier FROM merkle_state").fetchone()
    note = conn.execute("SELECT note FROM checkpoints WHERE id = 1").fetchone()
    return LogState(
        state[0] if state else None,
        bytes(state[1]) if state and state[1] is not None else None,
        str(note[0]) if note else None,
    )


def _frontier_before_append(conn: sqlite3.Connection, chain_size: int) -> CompactRange:
    row = conn.execute("SELECT size, frontier FROM merkle_state").fetchone()
    try:
        if row is None or row[1] is None or row[0] != chain_size:
            raise ValueError
        return CompactRange.from_bytes(row[0], row[1])
    except ValueError:
        raise ReceiptStoreError(
            f"the Merkle state does not match the {chain_size} receipts in the chain, so no "
            "receipt can be added; run `bizra receipts verify` to see what was changed"
        ) from None


def _check_signed_state(conn: sqlite3.Connection, frontier: CompactRange, key: SigningKey) -> None:
    """The stored Merkle state must be what the latest checkpoint signed with this key: else the
    next checkpoint would sign whatever someone wrote into the file without the key."""
    if not frontier.size:
        return
    row = conn.execute("SELECT note FROM checkpoints WHERE id = 1").fetchone()
    try:
        if row is None:
            raise CheckpointError("there is none")
        signed = open_checkpoint(str(row[0]), key.verifier)
        if (signed.size, signed.root) != (frontier.size, frontier.root()):
            raise CheckpointError("it vouches for other receipts than the stored Merkle state")
    except ForeignKeyError as exc:
        raise ReceiptStoreError(
            f"the latest checkpoint is not this installation's: {exc}; restore the key file "
            "(keys/receipts.key) from a backup; no receipt can be added until then"
        ) from None
    except CheckpointError as exc:
        raise ReceiptStoreError(
            f"the latest signed checkpoint does not hold ({exc}), so no receipt can be added; run "
            "`bizra receipts verify` to see what was changed"
        ) from None


def _store_log(conn: sqlite3.Connection, frontier: CompactRange, key: SigningKey) -> None:
    conn.execute(
        "UPDATE merkle_state SET size = ?, frontier = ?", (frontier.size, frontier.to_bytes())
    )
    if frontier.size:
        note = Checkpoint(key.name, frontier.size, frontier.root()).sign(key)
        conn.execute(
            "INSERT OR REPLACE INTO checkpoints (id, tree_size, note) VALUES (1, ?, ?)",
            (frontier.size, note),
        )


def _open(note: str, key: VerifierKey, what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, key)
    except CheckpointError as exc:
        raise _LogProblem(f"{what} is not valid: {exc}") from None


def _locate_rewrite(tree: MerkleTree, state: LogState, signed: Checkpoint) -> str | None:
    """Which receipts were rewritten, when the stored frontier is the one the checkpoint signed
    (it folds to the signed root): the first of its subtrees that differs holds them."""
    try:
        stored = CompactRange.from_bytes(signed.size, state.frontier or b"")
    except ValueError:
        return None
    if stored.root() != signed.root or tree.size < signed.size:
        return None
    start = 0
    for node, ours in zip(stored.nodes, tree.frontier(signed.size).nodes, strict=True):
        width = 1 << ((signed.size - start).bit_length() - 1)  # this subtree's leaf count
        if node != ours:
            return (
                f"receipts among #{start + 1} to #{start + width} were rewritten and relinked "
                "after the checkpoint was signed (their Merkle subtree differs)"
            )
        start += width
    return None


def _broken(broken: BrokenReceipt) -> VerifyReport:
    return VerifyReport(
        ok=False,
        count=broken.position,
        first_bad_seq=broken.seq,
        first_bad_hash=broken.hash,
        message=str(broken),
    )


def _receipt(row: _Row) -> Receipt:
    seq, stored_hash, body = row
    parsed = parse_object(body, canonical.loads)  # numbers as they were written
    if parsed is None:
        raise ReceiptStoreError(f"receipt #{seq} is unreadable (its body is not a JSON object)")
    return Receipt(seq, stored_hash.decode("utf-8", "replace"), MappingProxyType(parsed))


def _rounded(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: round(value, _ROUNDED_METRICS[key])
        if key in _ROUNDED_METRICS and isinstance(value, float)
        else value
        for key, value in fields.items()
    }


def _open_error(db_path: Path, exc: sqlite3.DatabaseError) -> str:
    if isinstance(exc, SchemaTooNewError):
        return str(exc)
    if isinstance(exc, DatabaseUnavailableError):
        return f"cannot open the receipt store {db_path}: {exc.reason}"
    if isinstance(exc, sqlite3.OperationalError):
        return f"cannot open the receipt store {db_path}: {exc}"
    return f"{db_path} is not a SQLite receipt database, or it is damaged ({exc})"
