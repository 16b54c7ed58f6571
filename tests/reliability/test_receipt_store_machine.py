"""The receipt store as a state machine over real SQLite files: appends, restarts, exports and
damage done behind the app's back (a changed byte or field, deleted rows, a cut file), in any
order. Verification passes exactly when nothing was damaged, and an export verifies exactly
when the chain was intact as it was exported."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain, ReceiptStoreError
from bizra_desktop.core.receipts.export import ExportError, export_receipts
from bizra_desktop.core.receipts.export_verify import verify_export
from tests.core.test_export import answer
from tests.helpers import RecordProperty

EXAMPLES, STEPS = 100, 20

_FRONTIER = "the Merkle frontier"
# Where a byte or field is changed with SQL: (table, column, key column).
_FIELDS = {
    "a receipt body": ("receipts", "body", "seq"),
    "a receipt hash": ("receipts", "hash", "seq"),
    "the signed checkpoint": ("checkpoints", "note", "id"),
    _FRONTIER: ("merkle_state", "frontier", "id"),
}


def _changed(value: str | bytes, position: int, delta: int) -> str | bytes:
    """`value` with one character (or byte) replaced by a different one."""
    index = position % len(value)
    if isinstance(value, bytes):
        return value[:index] + bytes([value[index] ^ (1 + delta % 255)]) + value[index + 1 :]
    if value[index] in "0123456789abcdef":  # a hash stays hex, so only its value is wrong
        replacement = "0123456789abcdef"[(int(value[index], 16) + 1 + delta % 15) % 16]
    else:
        replacement = chr(32 + (ord(value[index]) - 31 + delta % 94) % 95)
    return value[:index] + replacement + value[index + 1 :]


def _signed_log(db_path: Path) -> object:
    """What verify reads, read with plain SQLite: the receipts, the Merkle state and the
    checkpoint, or the error reading them raises."""
    try:
        with closing(sqlite3.connect(db_path)) as conn:
            return [
                conn.execute(f"SELECT * FROM {table}").fetchall()
                for table in ("receipts", "merkle_state", "checkpoints")
            ]
    except sqlite3.DatabaseError as error:
        return str(error)


class ReceiptStoreMachine(RuleBasedStateMachine):
    examples = 0
    steps = 0

    @initialize()
    def open_store(self) -> None:
        ReceiptStoreMachine.examples += 1
        self.folder = Path(tempfile.mkdtemp(prefix="receipt-machine-"))
        self.db_path = self.folder / "home" / "bizra.sqlite3"
        self.chain: ReceiptChain | None = ReceiptChain(self.db_path)
        self.appended = 0  # receipts the app acknowledged
        self.kept: str | None = None  # the latest checkpoint, kept outside as users are told to
        self.clean: object = None  # the signed log as the app last left it undamaged
        self.cut = False  # the file was cut: no more SQL behind the app's back
        # What was done to the signed log behind the app's back: (field changed, description).
        self.damage: list[tuple[str, str]] = []
        # Each export, the checkpoint kept when it was taken, and whether it must verify.
        self.exports: list[tuple[Path, str | None, bool]] = []

    def teardown(self) -> None:
        if self.chain is not None:
            self.chain.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _open(self) -> ReceiptChain | None:
        """The chain, opened again if needed; None when the file cannot be opened (a cut file:
        that must have been done to it)."""
        if self.chain is None:
            try:
                self.chain = ReceiptChain(self.db_path)
            except ReceiptStoreError as error:
                assert self.cut, f"a store whose file is whole does not open: {error}"
                assert "\n" not in str(error)
        return self.chain

    @rule()
    def append(self) -> None:
        ReceiptStoreMachine.steps += 1
        chain = self._open()
        if chain is None:
            return
        try:
            with ConversationStore(self.db_path) as conversations:
                conversation = conversations.create("machine").id
                answer(chain, conversations, conversation, self.appended)
        except (ReceiptStoreError, sqlite3.DatabaseError):
            assert self.damage or self.cut, "an append to an undamaged store failed"
            return
        self.appended += 1
        # An append checks the stored Merkle state against the signed checkpoint first, so
        # it never signs a state changed behind its back; other damage stays for verify to find.
        if not self.damage:
            self.kept = chain.latest_checkpoint()
            self.clean = _signed_log(self.db_path)

    @rule()
    def close_and_reopen(self) -> None:
        ReceiptStoreMachine.steps += 1
        if self.chain is not None:
            self.chain.close()
            self.chain = None
        self._open()

    @precondition(lambda self: self.appended > 0 and not self.cut)
    @rule(what=st.sampled_from(sorted(_FIELDS)), row=st.integers(1), position=st.integers(0))
    def tamper(self, what: str, row: int, position: int) -> None:
        ReceiptStoreMachine.steps += 1
        table, column, key = _FIELDS[what]
        with closing(sqlite3.connect(self.db_path)) as conn:
            rows = conn.execute(f"SELECT {key}, {column} FROM {table} ORDER BY {key}").fetchall()
            if not rows:
                return
            target, value = rows[row % len(rows)]
            conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                (_changed(value, position, row), target),
            )
            conn.commit()
        if _signed_log(self.db_path) == self.clean:  # a second change undid the first
            self.damage.clear()
        else:
            self.damage.append((what, f"changed {what} ({key} {target})"))

    @precondition(lambda self: self.appended > 0 and not self.cut)
    @rule(count=st.integers(1, 3))
    def delete_the_last_rows(self, count: int) -> None:
        ReceiptStoreMachine.steps += 1
        with closing(sqlite3.connect(self.db_path)) as conn:
            deleted = conn.execute(
                "DELETE FROM receipts WHERE seq > (SELECT max(seq) FROM receipts) - ?", (count,)
            ).rowcount
            conn.commit()
        if deleted:
            self.damage.append(("rows", f"deleted the last {deleted} receipts"))

    @precondition(lambda self: self.appended > 0 and not self.cut)
    @rule(keep=st.floats(0.0, 0.99))
    def cut_the_file(self, keep: float) -> None:
        ReceiptStoreMachine.steps += 1
        if self.chain is not None:
            self.chain.close()  # folds the WAL in: the file alone holds everything
            self.chain = None
        before, size = _signed_log(self.db_path), self.db_path.stat().st_size
        with self.db_path.open("r+b") as file:
            file.truncate(int(size * keep))
        self.cut = True
        # The oracle is SQLite itself: the cut lost some of the signed log, or only pages
        # verify never reads (the conversations', an index's).
        if _signed_log(self.db_path) != before:
            self.damage.append(("file", f"cut the file from {size} to {int(size * keep)} bytes"))

    @rule(with_content=st.booleans())
    def export(self, with_content: bool) -> None:
        ReceiptStoreMachine.steps += 1
        chain = self._open()
        if chain is None:
            return
        out = self.folder / f"export-{len(self.exports)}.jsonl"
        try:
            export_receipts(chain, out, with_content=with_content)
        except (ExportError, ReceiptStoreError):
            assert self.damage or self.cut or self.appended == 0, "an intact chain was not exported"
            assert not out.exists() and not out.with_name(out.name + ".part").exists()
            return
        # An export carries the receipts and the checkpoint, not the stored Merkle state: damage
        # to that state alone leaves what is exported whole.
        whole = all(what == _FRONTIER for what, _ in self.damage)
        self.exports.append((out, self.kept, whole))

    @invariant()
    def verify_passes_exactly_when_nothing_was_damaged(self) -> None:
        chain = self.chain
        if chain is None:
            return
        report = chain.verify(kept_checkpoint=self.kept)
        assert report.ok == (not self.damage), (report.message, self.damage)
        assert "\n" not in report.message

    @invariant()
    def every_export_verifies_exactly_when_it_was_taken_intact(self) -> None:
        for out, kept, intact in self.exports:
            report = verify_export(out, kept)
            assert report.ok == intact, (out.name, report.message, self.damage)


@pytest.mark.reliability(
    area="Fuzzing and properties",
    case="the receipt store under any sequence of appends, restarts, damage and exports",
    done=f"hypothesis state machine: {EXAMPLES} sequences of up to {STEPS} steps, real SQLite",
)
def test_the_receipt_store_as_a_state_machine(record_property: RecordProperty) -> None:
    ReceiptStoreMachine.examples = ReceiptStoreMachine.steps = 0
    run_state_machine_as_test(
        ReceiptStoreMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    record_property("runs", ReceiptStoreMachine.steps)
    record_property(
        "result",
        f"{ReceiptStoreMachine.examples} sequences, {ReceiptStoreMachine.steps} steps: verify "
        "failed exactly after damage, exports verified exactly when taken intact",
    )
