"""The app's one SQLite file: how to connect to it, versioned tables per component, timestamps.

The receipts, the conversations and the escalation memory each keep their tables in the same
file, each through its own connection made by the recipe here.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

# How long to wait for a writer in another process (the GUI and the CLI share one file).
BUSY_TIMEOUT_S = 30.0

# A migration is the SQL statements that take one component's tables one version up.
# Statements, not a script: executescript() would commit the transaction the upgrade runs in.
Migration = tuple[str, ...]

# PRAGMA user_version is one number per file, and several components share the file; each
# component's version is a row here instead.
_VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_versions (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
)"""


class SchemaTooNewError(sqlite3.DatabaseError):
    """A newer app has moved a component's tables past the versions this one knows."""


class DatabaseUnavailableError(sqlite3.OperationalError):
    """The database cannot be opened and written: a read-only data folder or file, a lock held
    too long, a full disk. str() is one line naming the file; `reason` is the same without it."""

    def __init__(self, db_path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(f"cannot open the database {db_path}: {reason}")


def _read_only(db_path: Path) -> str | None:
    """Why `db_path` cannot be written, if its folder or the file itself is read-only. Checked
    before SQLite opens it: SQLite would leave -wal and -shm files behind in a writable folder."""
    if not os.access(db_path.parent, os.W_OK):
        return f"the data folder {db_path.parent} is read-only"
    if db_path.exists() and not os.access(db_path, os.W_OK):
        return f"{db_path.name} in the data folder {db_path.parent} is read-only"
    return None


def utc_now() -> str:
    """The current time as the app stores it: UTC ISO 8601 to the millisecond, ending in 'Z'."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(db_path: Path) -> sqlite3.Connection:
    """A connection to `db_path` in WAL mode with synchronous=FULL and a busy timeout.

    The connection is in autocommit mode (transactions are opened explicitly, so BEGIN IMMEDIATE
    is the caller's) and may be used from any thread; the caller serialises its use.
    Raises sqlite3.DatabaseError if the file cannot be opened or is not a database.
    """
    conn = sqlite3.connect(
        db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        _use_wal(conn)
        # Per connection: COMMIT returns only once the WAL is on disk, so an acknowledged
        # write survives a power cut.
        conn.execute("PRAGMA synchronous=FULL")
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL once. Two processes creating the file together both try, and the
    switch needs the file to themselves: SQLite then answers "locked" at once rather than
    waiting, so wait here, within the same busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            # A file that is not a database passes connect() and fails on its first statement.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_database(
    db_path: Path, component: str, migrations: Sequence[Migration]
) -> sqlite3.Connection:
    """A connection (see connect()) to the app database with `component`'s tables at version
    len(migrations), creating the file and its folder if need be.

    Raises sqlite3.DatabaseError if the file is not a database, SchemaTooNewError (a
    DatabaseError) if a newer app has already moved `component` past the versions this one knows,
    DatabaseUnavailableError (a DatabaseError too) if it cannot be opened or written.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    read_only = _read_only(db_path)
    if read_only is not None:
        raise DatabaseUnavailableError(db_path, read_only)
    try:
        conn = connect(db_path)
    except sqlite3.OperationalError as error:
        raise DatabaseUnavailableError(db_path, str(error)) from None
    try:
        # Per connection, off by default in SQLite: needed for ON DELETE CASCADE.
        conn.execute("PRAGMA foreign_keys = ON")
        # IMMEDIATE: two processes starting together upgrade one after the other, not twice.
        with transaction(conn):
            conn.execute(_VERSIONS_TABLE)
            row = conn.execute(
                "SELECT version FROM schema_versions WHERE component = ?", (component,)
            ).fetchone()
            version = row[0] if row else 0
            if version > len(migrations):
                raise SchemaTooNewError(
                    f"{db_path}: the {component} tables are at version {version}, newer than "
                    f"this BIZRA Desktop knows ({len(migrations)}); update the app"
                )
            for migration in migrations[version:]:
                for statement in migration:
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO schema_versions (component, version) VALUES (?, ?)",
                (component, len(migrations)),
            )
    except sqlite3.OperationalError as error:
        conn.close()
        raise DatabaseUnavailableError(db_path, str(error)) from None
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back if the body raises (conn must be autocommit)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT may already have ended the transaction; a second error from ROLLBACK
        # would hide the first.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class SqliteStore:
    """One component's tables in the app database: its own connection, a lock around it, and
    close() (also on leaving a `with` block).

    Subclasses reach the connection only through connection() and transaction(), which hold the
    lock for the block. With `checkpoint_on_close`, close() first folds the WAL into the main
    file, so the file on its own holds every acknowledged write (copies, backups, exports).
    """

    def __init__(
        self,
        db_path: Path,
        component: str,
        migrations: Sequence[Migration],
        *,
        checkpoint_on_close: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._checkpoint_on_close = checkpoint_on_close
        self._conn = open_database(db_path, component, migrations)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the store's lock for the block; each statement autocommits.
        Fetch the rows inside the block: the lock is what keeps other threads off the cursor."""
        with self._lock:
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection under the store's lock, inside BEGIN IMMEDIATE … COMMIT (rolled back
        if the block raises)."""
        with self._lock, transaction(self._conn):
            yield self._conn

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._checkpoint_on_close:
                    # TRUNCATE folds the WAL in even if another connection stays open.
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
