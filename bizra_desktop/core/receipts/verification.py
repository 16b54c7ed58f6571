"""Checks shared by the local chain, exports and the impact ledger: receipt by receipt in chain
order, then the Merkle tree against a signed or a kept checkpoint.

Speed matters (100,000 receipts in well under two seconds), so a receipt costs one C-speed JSON
parse and two SHA-256s. Canonical form is not rechecked per receipt: a body's bytes are bound by
its hash, the hash by the next receipt's prev_hash and by the signed Merkle root, so any change
already shows. When linkage or the root does break, the receipt behind it is checked for
canonical form, to name the likely cause: a body rewritten and its hash recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Never

from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.checkpoint import Checkpoint
from bizra_desktop.core.receipts.merkle import MerkleTree, ProofError, verify_consistency

GENESIS = "GENESIS"
NOT_CANONICAL = "body is not in canonical (RFC 8785) form"


class BrokenReceipt(Exception):
    """The first receipt that is not what it claims: where it is and what is wrong with it."""

    def __init__(self, position: int, seq: int, stored_hash: bytes, problem: str) -> None:
        super().__init__(f"receipt #{seq} (hash {short_hash(stored_hash)}): {problem}")
        self.position = position  # 1-based place in the walk: receipts checked up to this one
        self.seq = seq
        self.hash = stored_hash.decode("utf-8", "replace")
        self.problem = problem


class ChainWalk:
    """Receipts fed in chain order, each checked against the one before it.

    `digests` collects the raw hashes of the receipts that passed: the Merkle tree's leaves.
    """

    def __init__(self) -> None:
        self.count = 0
        self.digests: list[bytes] = []
        self._prev_seq = 0
        self._prev_hash = GENESIS
        self._prev_stored = b""
        self._prev_body = b""
        self._prev_position = 0

    def step(self, seq: int, stored_hash: bytes, body: bytes) -> dict[str, Any]:
        """The parsed body of the next receipt; BrokenReceipt if it or its link is wrong."""
        self.count += 1
        if seq != self._prev_seq + 1:
            if self._prev_seq == 0:
                self._fail(
                    seq,
                    stored_hash,
                    "the chain starts here instead of at #1 (receipts deleted or renumbered)",
                )
            self._fail(
                seq,
                stored_hash,
                f"comes right after #{self._prev_seq}; the receipts between were deleted or "
                "renumbered",
            )
        try:
            parsed, digest = check_body(stored_hash, body)
        except ValueError as problem:
            self._fail(seq, stored_hash, str(problem))
        if parsed.get("prev_hash") != self._prev_hash:
            self.explain_last()
            previous = f"the hash of receipt #{self._prev_seq}" if self._prev_seq else GENESIS
            self._fail(
                seq,
                stored_hash,
                f"prev_hash is not {previous} (a receipt was deleted, inserted or reordered "
                "before it)",
            )
        self.digests.append(digest)
        self._prev_seq, self._prev_hash = seq, digest.hex()
        self._prev_stored, self._prev_body = stored_hash, body
        self._prev_position = self.count
        return parsed

    def explain_last(self) -> None:
        """Raise BrokenReceipt for the last accepted receipt if its body is not canonical: the
        likeliest reason a link after it, or the root over it, does not hold."""
        if self._prev_seq and not is_canonical(self._prev_body):
            raise BrokenReceipt(
                self._prev_position, self._prev_seq, self._prev_stored, NOT_CANONICAL
            )

    def _fail(self, seq: int, stored_hash: bytes, problem: str) -> Never:
        raise BrokenReceipt(self.count, seq, stored_hash, problem)


def check_body(stored_hash: bytes, body: bytes) -> tuple[dict[str, Any], bytes]:
    """The parsed body and its raw SHA-256 if it is a JSON object that hashes to `stored_hash`
    (hex); ValueError naming the problem if not."""
    parsed = parse_object(body)
    if parsed is None:
        raise ValueError("body is not a valid JSON object")
    digest = hashlib.sha256(body).digest()
    if digest.hex().encode("ascii") != stored_hash:
        raise ValueError("stored hash does not match its content")
    return parsed, digest


def parse_object(body: bytes, loads: Callable[[str], Any] = json.loads) -> dict[str, Any] | None:
    """The JSON object in `body`, or None if it is not one (bad UTF-8, bad JSON, not an object,
    absurd nesting). `canonical.loads` reads numbers as RFC 8785 does; plain json.loads is
    quicker and enough to check a receipt."""
    try:
        # Decoding first is strict UTF-8, and quicker than json.loads's own detection of bytes.
        parsed = loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def is_canonical(body: bytes) -> bool:
    try:
        return canonical.dumps(canonical.loads(body)) == body
    except (ValueError, RecursionError):
        return False


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def span(first: int, last: int) -> str:
    """Receipts first..last as the subject of a sentence: 'receipt #5 was' / 'receipts #5 to #9
    were'."""
    if first == last:
        return f"receipt #{first} was"
    return f"receipts #{first} to #{last} were"


def short_hash(stored_hash: bytes) -> str:
    # A tampered hash may hold anything; escaping keeps the report on one printable line.
    return stored_hash[:6].decode("utf-8", "replace").encode("unicode_escape").decode() + "…"


def root_problem(tree: MerkleTree, checkpoint: Checkpoint, where: str) -> str | None:
    """What is wrong between the receipts in `where` and the checkpoint signed over them."""
    if checkpoint.size > tree.size:
        return (
            f"the signed checkpoint covers {checkpoint.size} receipts but {where} holds "
            f"{tree.size}: {span(tree.size + 1, checkpoint.size)} deleted from the end"
        )
    if tree.root(checkpoint.size) != checkpoint.root:
        return (
            f"the Merkle root of receipts #1 to #{checkpoint.size} is not the one the checkpoint "
            "signed: receipts were rewritten and relinked"
        )
    return None


def kept_problem(tree: MerkleTree, kept: Checkpoint, where: str) -> str | None:
    """What is wrong between `where` (its receipts already verified against its own signed
    checkpoint) and a checkpoint the user kept earlier, found with an RFC 9162 consistency proof."""
    if kept.size > tree.size:
        return (
            f"the kept checkpoint vouches for {kept.size} receipts but {where} holds only "
            f"{tree.size}: {span(tree.size + 1, kept.size)} cut off, or the database was rolled "
            "back"
        )
    if kept.size == 0:  # every log extends the empty one
        return None
    try:
        verify_consistency(
            kept.size, tree.size, kept.root, tree.root(), tree.consistency_proof(kept.size)
        )
    except ProofError:
        return (
            f"{where} is not an extension of the kept checkpoint of {kept.size} receipts: "
            f"receipts among #1 to #{kept.size} were changed, or the database was rolled back and "
            "appended to"
        )
    return None
