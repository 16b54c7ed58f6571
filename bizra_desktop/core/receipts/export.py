"""Export receipts as JSON Lines that anyone can verify offline (export_verify.py does).

Line 1, the header: format, origin, public key (C2SP verifier key), the signed checkpoint the
export is cut at, scope ("chain": every receipt #1…#size; "selection": some, each with its
inclusion proof), whether content was asked for, and the number of receipt lines.
Then one line per receipt: seq, hash, body (the canonical JSON text the hash is taken over),
"proof" (base64 nodes) in a selection, and "prompt", "response", "salt" (hex) where the texts
were asked for and are still stored. docs/RECEIPTS.md has the details.

Every line is RFC 8785 canonical JSON, so each byte has one meaning and any change is caught.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bizra_desktop.core.receipts.chain import (
    ReceiptChain,
    hashes_starting,
    raw_rows,
    read_log_state,
)
from bizra_desktop.core.receipts.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from bizra_desktop.core.receipts.exchanges import TextIndex, conversation_receipts
from bizra_desktop.core.receipts.keys import b64encode
from bizra_desktop.core.receipts.merkle import MerkleTree, leaf_hash
from bizra_desktop.core.receipts.verification import (
    BrokenReceipt,
    ChainWalk,
    plural,
    root_problem,
)

FORMAT = "bizra-receipts-export/1"
SCOPE_CHAIN, SCOPE_SELECTION = "chain", "selection"
HEADER_FIELDS = frozenset(
    {"checkpoint", "content", "format", "origin", "public_key", "receipts", "scope"}
)
RECEIPT_FIELDS = frozenset({"body", "hash", "seq"})
PROOF_FIELD = "proof"
CONTENT_FIELDS = frozenset({"prompt", "response", "salt"})

EXIT_INVALID, EXIT_BAD_INPUT = 1, 2
_HASH_PREFIX = re.compile(r"[0-9a-f]{6,64}")


class ExportError(Exception):
    """Nothing was exported; `code` is 2 for a request that cannot be met as asked (no such
    receipt or conversation), 1 when the local chain itself does not verify."""

    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, kw_only=True)
class ExportSummary:
    scope: str
    count: int
    with_content: int  # receipts whose texts went into the export
    checkpoint_size: int
    signer: str

    def describe(self, out: Path) -> str:
        what = "the whole chain" if self.scope == SCOPE_CHAIN else "a selection with proofs"
        content = f", texts of {self.with_content}" if self.with_content else ""
        return (
            f"exported {plural(self.count, 'receipt')} ({what}{content}) to {out}; cut at the "
            "checkpoint "
            f"of {self.checkpoint_size} signed by {self.signer}"
        )


def encode_line(value: Mapping[str, Any]) -> bytes:
    """A line as RFC 8785 writes it. For what lines hold (ASCII keys; strings, booleans, ints
    below 2**53, lists) the C encoder with sorted keys and no spaces is byte for byte RFC 8785,
    and fifty times faster than the pure-Python canonicaliser over 100,000 lines.
    Raises UnicodeEncodeError for a string with a lone surrogate, which RFC 8785 cannot hold."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


@contextmanager
def _readable_database() -> Iterator[None]:
    try:
        yield
    except sqlite3.DatabaseError as exc:  # a damaged file: pages SQLite cannot read
        raise ExportError(
            f"the database cannot be read ({exc}); nothing was exported; run "
            "`bizra receipts verify`"
        ) from None


def export_receipts(
    chain: ReceiptChain,
    out: Path,
    *,
    with_content: bool = False,
    conversation_id: int | None = None,
    receipt_hash: str | None = None,
    receipt_hashes: Collection[str] | None = None,
) -> ExportSummary:
    """Write the chain to `out`, cut at the latest signed checkpoint; or, each with its
    inclusion proof, the receipts of one conversation, one receipt (a hash or a unique prefix
    of one), or the receipts with `receipt_hashes` (a browser's selection). The chain is
    verified on the way and nothing is written unless it holds; `out` appears whole or not at
    all (via OUT.part). ExportError says why nothing was written."""
    partial = out.with_name(out.name + ".part")
    try:
        with partial.open("wb") as file:
            summary = write_export(
                chain,
                file,
                with_content=with_content,
                conversation_id=conversation_id,
                receipt_hash=receipt_hash,
                receipt_hashes=receipt_hashes,
            )
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def write_export(
    chain: ReceiptChain,
    file: BinaryIO,
    *,
    with_content: bool = False,
    conversation_id: int | None = None,
    receipt_hash: str | None = None,
    receipt_hashes: Collection[str] | None = None,
) -> ExportSummary:
    """What export_receipts writes, into `file` (a chat export bundles it in memory)."""
    choices = (conversation_id, receipt_hash, receipt_hashes)
    if sum(choice is not None for choice in choices) > 1:
        raise ValueError("choose a conversation, a receipt or a set of receipts, not several")
    key = chain.verifier_key()
    with _readable_database(), chain.snapshot() as conn:
        note = read_log_state(conn).note
        if note is None or key is None:
            raise ExportError("there are no signed receipts to export yet")
        try:
            signed = open_checkpoint(note, key)
        except CheckpointError as exc:
            raise ExportError(
                f"the latest checkpoint is not valid ({exc}); run `bizra receipts verify`"
            ) from None
        wanted = (
            set(receipt_hashes)
            if receipt_hashes is not None
            else _selection(conn, conversation_id, receipt_hash)
        )
        if receipt_hashes is not None and not wanted:
            raise ExportError("no receipts are chosen", EXIT_BAD_INPUT)
        texts = TextIndex(conn) if with_content else None
        header = {
            "checkpoint": note,
            "content": with_content,
            "format": FORMAT,
            "origin": key.name,
            "public_key": key.encode(),
            "receipts": signed.size if wanted is None else len(wanted),
            "scope": SCOPE_CHAIN if wanted is None else SCOPE_SELECTION,
        }
        file.write(encode_line(header))
        writer = _LineWriter(file, texts)
        _write_receipts(conn, signed, wanted, writer)
    return ExportSummary(
        scope=str(header["scope"]),
        count=writer.count,
        with_content=writer.with_content,
        checkpoint_size=signed.size,
        signer=key.describe(),
    )


class _LineWriter:
    def __init__(self, file: BinaryIO, texts: TextIndex | None) -> None:
        self._file, self._texts = file, texts
        self.count = self.with_content = 0

    def write(
        self, seq: int, stored_hash: bytes, body: bytes, parsed: dict[str, Any], **extra: Any
    ) -> None:
        receipt_hash = stored_hash.decode("ascii")
        line = {"body": body.decode("utf-8"), "hash": receipt_hash, "seq": seq, **extra}
        found = self._texts.texts(receipt_hash, parsed) if self._texts else None
        if found is not None:
            line |= {"prompt": found.prompt, "response": found.response, "salt": found.salt.hex()}
            self.with_content += 1
        self._file.write(encode_line(line))
        self.count += 1


def _write_receipts(
    conn: sqlite3.Connection, signed: Checkpoint, wanted: set[str] | None, writer: _LineWriter
) -> None:
    """Walk receipts #1…#size, checking them as verify() does; write all of them, or the
    wanted ones with proofs once the whole tree is known."""
    walk = ChainWalk()
    picked: list[tuple[int, bytes, bytes, dict[str, Any]]] = []
    try:
        for seq, stored_hash, body in raw_rows(conn, signed.size):
            parsed = walk.step(seq, stored_hash, body)
            if wanted is None:
                writer.write(seq, stored_hash, body, parsed)
            elif stored_hash.decode("ascii") in wanted:
                picked.append((seq, stored_hash, body, parsed))
        tree = MerkleTree([leaf_hash(digest) for digest in walk.digests])
        problem = root_problem(tree, signed, "the chain")
        if problem is not None:
            walk.explain_last()
            raise ExportError(f"the local chain does not verify: {problem}; nothing was exported")
    except BrokenReceipt as broken:
        raise ExportError(
            f"the local chain does not verify: {broken}; nothing was exported"
        ) from None
    if wanted is not None and len(picked) != len(wanted):
        raise ExportError(
            "a chosen receipt is not in the chain, or not covered by its signed checkpoint; "
            "run `bizra receipts verify`"
        )
    for seq, stored_hash, body, parsed in picked:
        proof = [b64encode(node) for node in tree.inclusion_proof(seq - 1)]
        writer.write(seq, stored_hash, body, parsed, proof=proof)


def _selection(
    conn: sqlite3.Connection, conversation_id: int | None, receipt_hash: str | None
) -> set[str] | None:
    """The hashes to export, None for the whole chain; ExportError (code 2) if nothing matches."""
    if receipt_hash is not None:
        prefix = receipt_hash.strip().lower()
        if not _HASH_PREFIX.fullmatch(prefix):
            raise ExportError(
                f"{receipt_hash!r} is not a receipt hash (6 to 64 hex digits)", EXIT_BAD_INPUT
            )
        found = hashes_starting(conn, prefix)
        if len(found) != 1:
            problem = "no receipt has" if not found else "more than one receipt has"
            raise ExportError(f"{problem} a hash starting {prefix}", EXIT_BAD_INPUT)
        return set(found)
    if conversation_id is not None:
        hashes = conversation_receipts(conn, conversation_id)
        if hashes is None:
            raise ExportError(f"there is no conversation with id {conversation_id}", EXIT_BAD_INPUT)
        return hashes
    return None
