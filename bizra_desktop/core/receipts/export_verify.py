"""Verify an export offline, with nothing but the file (and a checkpoint kept earlier).

Checked: every line is canonical and holds exactly its fields; the header's checkpoint carries a
valid signature by the header's key, for the header's origin; a whole-chain export links from
GENESIS and its Merkle root is the signed one; each receipt of a selection hashes to its stored
hash and its inclusion proof leads to the signed root; every prompt and response present
reproduces its commitment; a kept checkpoint, when given, is signed by the same key and the
export extends it (RFC 9162 consistency proof).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Never

from bizra_desktop.core.receipts.chat_document import chat_kind
from bizra_desktop.core.receipts.checkpoint import (
    Checkpoint,
    CheckpointError,
    ForeignKeyError,
    open_checkpoint,
)
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.receipts.export import (
    CONTENT_FIELDS,
    EXIT_BAD_INPUT,
    EXIT_INVALID,
    FORMAT,
    HEADER_FIELDS,
    PROOF_FIELD,
    RECEIPT_FIELDS,
    SCOPE_CHAIN,
    SCOPE_SELECTION,
    encode_line,
)
from bizra_desktop.core.receipts.keys import BadKeyError, VerifierKey, strict_b64decode
from bizra_desktop.core.receipts.merkle import (
    HASH_SIZE,
    MerkleTree,
    ProofError,
    leaf_hash,
    verify_inclusion,
)
from bizra_desktop.core.receipts.record import stated_commitments
from bizra_desktop.core.receipts.verification import (
    GENESIS,
    BrokenReceipt,
    ChainWalk,
    check_body,
    kept_problem,
    plural,
    root_problem,
    span,
)
from bizra_desktop.core.text import printable

_FORMAT_FAMILY = FORMAT.rpartition("/")[0] + "/"


@dataclass(frozen=True, kw_only=True)
class ExportReport:
    ok: bool
    code: int  # 0 valid, 1 invalid, 2 unreadable: the `bizra receipts verify FILE` exit code
    message: str  # one line: what holds, or what is wrong and where
    count: int = 0  # receipt lines checked
    commitments: int = 0  # receipts whose prompt and response were checked


class _Failure(Exception):
    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def verify_export(path: Path, kept_checkpoint: str | None = None) -> ExportReport:
    """Check the export at `path`, of receipts or of a conversation (chat_export_verify.py);
    `kept_checkpoint` is a signed note the user kept earlier."""
    try:
        with path.open("rb") as file:
            if chat_kind(file.read(512)) is not None:
                # That module builds on this one: imported when needed, not in a cycle.
                from bizra_desktop.core.receipts.chat_export_verify import (  # noqa: PLC0415
                    verify_chat_export,
                )

                file.seek(0)
                return verify_chat_export(file.read(), kept_checkpoint)
            file.seek(0)
            return verify_export_file(file, kept_checkpoint)
    except OSError as exc:
        return ExportReport(
            ok=False, code=EXIT_BAD_INPUT, message=f"cannot read {path}: {exc.strerror or exc}"
        )


def verify_export_file(file: BinaryIO, kept_checkpoint: str | None = None) -> ExportReport:
    """Check an export read from `file` (binary, read to its end); OSError if reading fails."""
    try:
        return _ExportCheck(file, kept_checkpoint).run()
    except _Failure as failure:  # it may quote the file: a field name with a newline, say
        return ExportReport(ok=False, code=failure.code, message=printable(str(failure)))


class _ExportCheck:
    def __init__(self, file: BinaryIO, kept_note: str | None) -> None:
        self._lines = _numbered_lines(file)
        self._kept_note = kept_note
        self._commitments = 0

    def run(self) -> ExportReport:
        header = self._header()
        key = _key(header)
        signed = _open(header["checkpoint"], key, "the export's checkpoint")
        kept = (
            None if self._kept_note is None else _open(self._kept_note, key, "the kept checkpoint")
        )
        content = header["content"]
        if header["scope"] == SCOPE_CHAIN:
            count, tree = self._chain(signed, content)
            where = "whole chain, linked from GENESIS"
        else:
            count, tree = self._selection(signed, content), None
            where = "selection, each with its inclusion proof"
        if count != header["receipts"]:
            raise _Failure(
                f"the header announces {header['receipts']} receipts but the export holds {count}"
            )
        message = (
            f"export of {plural(count, 'receipt')} is valid ({where}); its Merkle root is the one "
            f"signed by {key.describe()}"
        )
        if content:
            texts = plural(self._commitments, "receipt")
            message += f"; the prompts and responses of {texts} match their commitments"
        if kept is not None:
            _check_kept(tree, signed, kept)
            message += f"; it extends the kept checkpoint of {kept.size}"
        return ExportReport(
            ok=True, code=0, message=message, count=count, commitments=self._commitments
        )

    def _header(self) -> dict[str, Any]:
        first = next(self._lines, None)
        if first is None:
            raise _Failure("the file is empty, not a BIZRA receipts export", EXIT_BAD_INPUT)
        raw = first[1]
        header = _parse(raw)
        fmt = header.get("format") if header is not None else None
        if header is None or not isinstance(fmt, str) or not fmt.startswith(_FORMAT_FAMILY):
            raise _Failure("it is not a BIZRA receipts export", EXIT_BAD_INPUT)
        if fmt != FORMAT:
            raise _Failure(f"its format {fmt} is not one this app reads ({FORMAT})", EXIT_BAD_INPUT)
        _require_canonical(header, raw, "line 1 (the header)")
        _require_fields(header, HEADER_FIELDS, "line 1 (the header)")
        kinds = {"checkpoint": str, "content": bool, "origin": str, "public_key": str}
        for name, kind in kinds.items():
            if type(header[name]) is not kind:
                raise _Failure(f"line 1 (the header): {name} is not a {kind.__name__}")
        if type(header["receipts"]) is not int or header["scope"] not in (
            SCOPE_CHAIN,
            SCOPE_SELECTION,
        ):
            raise _Failure("line 1 (the header): receipts or scope is malformed")
        return header

    def _chain(self, signed: Checkpoint, content: bool) -> tuple[int, MerkleTree]:
        walk = ChainWalk()
        fields = RECEIPT_FIELDS | CONTENT_FIELDS if content else RECEIPT_FIELDS
        try:
            for number, line in self._receipt_lines(fields):
                parsed = walk.step(line["seq"], line["hash"].encode(), line["body"].encode())
                self._check_content(number, line, parsed)
            tree = MerkleTree([leaf_hash(digest) for digest in walk.digests])
            problem = root_problem(tree, signed, "the export")
            if problem is not None:
                walk.explain_last()
                raise _Failure(problem)
            if tree.size != signed.size:
                added = span(signed.size + 1, tree.size)
                raise _Failure(f"{added} added beyond the signed checkpoint of {signed.size}")
        except BrokenReceipt as broken:
            raise _Failure(f"line {broken.position + 1}: {broken}") from None
        return tree.size, tree

    def _selection(self, signed: Checkpoint, content: bool) -> int:
        fields = RECEIPT_FIELDS | {PROOF_FIELD} | (CONTENT_FIELDS if content else frozenset())
        count, prev_seq, prev_digest = 0, 0, b""
        for number, line in self._receipt_lines(fields):
            seq, stored_hash, where = line["seq"], line["hash"].encode(), f"line {number}"
            if not prev_seq < seq <= signed.size:
                raise _Failure(
                    f"{where}: receipt #{seq} is out of order or beyond the signed checkpoint of "
                    f"{signed.size}"
                )
            where += f": receipt #{seq}"
            try:
                parsed, digest = check_body(stored_hash, line["body"].encode())
            except ValueError as problem:
                raise _Failure(f"{where}: {problem}") from None
            if seq == 1 or seq == prev_seq + 1:
                expected = GENESIS if seq == 1 else prev_digest.hex()
                if parsed.get("prev_hash") != expected:
                    raise _Failure(f"{where}: prev_hash does not name the receipt before it")
            try:
                proof = [_hash_b64(node) for node in line[PROOF_FIELD]]
                verify_inclusion(seq - 1, signed.size, leaf_hash(digest), proof, signed.root)
            except (ProofError, ValueError, TypeError) as problem:
                raise _Failure(f"{where}: its inclusion proof fails ({problem})") from None
            self._check_content(number, line, parsed)
            count, prev_seq, prev_digest = count + 1, seq, digest
        return count

    def _receipt_lines(self, fields: frozenset[str]) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each receipt line, parsed, canonical, with the fields it must have (content ones
        optional: a receipt's texts may be gone) of the right types."""
        required = fields - CONTENT_FIELDS
        for number, raw in self._lines:
            where = f"line {number}"
            line = _parse(raw)
            if line is None:
                raise _Failure(f"{where} is not a JSON object (the file was cut or altered)")
            _require_canonical(line, raw, where)
            present = line.keys() & CONTENT_FIELDS
            if present and present != CONTENT_FIELDS:
                raise _Failure(f"{where}: prompt, response and salt come together")
            _require_fields(line, required | present, where)
            if (
                type(line["seq"]) is not int
                or not isinstance(line["hash"], str)
                or not isinstance(line["body"], str)
                or any(not isinstance(line[name], str) for name in present)
            ):
                raise _Failure(f"{where}: seq, hash, body or texts are of the wrong type")
            yield number, line

    def _check_content(self, number: int, line: dict[str, Any], body: dict[str, Any]) -> None:
        if "salt" not in line:
            return
        where = f"line {number}: receipt #{line['seq']}"
        salt_hex = line["salt"]
        try:
            salt = bytes.fromhex(salt_hex)
        except ValueError:
            salt = b""
        if not salt or salt.hex() != salt_hex:
            raise _Failure(f"{where}: its salt is not lowercase hex")
        for text, stated in zip(("prompt", "response"), stated_commitments(body), strict=True):
            if commit(line[text], salt) != stated:
                raise _Failure(f"{where}: the {text} does not match its commitment")
        self._commitments += 1


def _numbered_lines(file: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """The lines after the header; each must end with a newline (the header's is checked by its
    canonical form, so that a file that is not an export at all is reported as such)."""
    for number, raw in enumerate(file, 1):
        if number > 1 and not raw.endswith(b"\n"):
            raise _Failure(f"line {number} does not end with a newline (the file was cut short)")
        yield number, raw


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _no_constant(name: str) -> Never:
    raise ValueError(f"{name} is not JSON")


def _require_canonical(value: dict[str, Any], raw: bytes, where: str) -> None:
    try:
        canonical = encode_line(value) == raw
    except UnicodeEncodeError:
        canonical = False
    if not canonical:
        raise _Failure(f"{where} is not in canonical (RFC 8785) form: it was altered")


def _require_fields(value: dict[str, Any], fields: frozenset[str] | set[str], where: str) -> None:
    if value.keys() != fields:
        odd = sorted(value.keys() ^ fields)
        raise _Failure(f"{where}: missing or unexpected fields {', '.join(odd)}")


def _key(header: dict[str, Any]) -> VerifierKey:
    try:
        key = VerifierKey.parse(header["public_key"])
    except BadKeyError as exc:
        raise _Failure(f"line 1 (the header): its public key is malformed ({exc})") from None
    if key.name != header["origin"]:
        raise _Failure(f"line 1 (the header): the origin is not the name of its key {key.name}")
    return key


def _open(note: str, key: VerifierKey, what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, key)
    except ForeignKeyError as exc:
        raise _Failure(f"{what} is not from this log: {exc}") from None
    except CheckpointError as exc:
        raise _Failure(f"{what} is not valid: {exc}") from None


def _hash_b64(node: object) -> bytes:
    if not isinstance(node, str):
        raise TypeError("a proof node is not a string")
    value = strict_b64decode(node)
    if len(value) != HASH_SIZE:
        raise ValueError("a proof node is not a 32-byte hash")
    return value


def _check_kept(tree: MerkleTree | None, signed: Checkpoint, kept: Checkpoint) -> None:
    """A whole-chain export holds every leaf: a consistency proof from the kept checkpoint is
    computed from them. A selection holds only the signed root, enough when sizes are equal."""
    if tree is not None:
        problem = kept_problem(tree, kept, "the export")
    elif kept.size > signed.size:
        problem = (
            f"the kept checkpoint vouches for {kept.size} receipts but the export's checkpoint "
            f"only for {signed.size}: receipts were cut off, or the database was rolled back"
        )
    elif kept.size == signed.size:
        problem = (
            None if kept.root == signed.root else "the export's root differs from the kept one"
        )
    else:
        problem = (
            f"a selection export cannot prove it extends a kept checkpoint of {kept.size} "
            f"receipts (its own is of {signed.size}); verify a whole-chain export instead"
        )
    if problem is not None:
        raise _Failure(problem)
