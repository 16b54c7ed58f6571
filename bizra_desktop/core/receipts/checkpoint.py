"""Signed checkpoints: the Merkle tree's size and root, signed in the C2SP signed-note format.

https://c2sp.org/tlog-checkpoint inside https://c2sp.org/signed-note:

    bizra-desktop/3f2a…\\n          origin: the log's name (also the key's name)
    1234\\n                          tree size
    base64 root\\n                   RFC 9162 root of the first `size` receipts
    \\n                              blank line
    — bizra-desktop/3f2a… base64(key id ‖ Ed25519 signature over the three lines above)\\n
"""

from __future__ import annotations

from dataclasses import dataclass

from bizra_desktop.core.receipts.keys import (
    SigningKey,
    VerifierKey,
    b64encode,
    describe_key,
    strict_b64decode,
    valid_name,
)
from bizra_desktop.core.receipts.merkle import HASH_SIZE

_SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
_ED25519_SIGNATURE_SIZE = 64


class CheckpointError(ValueError):
    """A checkpoint that is malformed or whose signature does not verify; str() says which."""


class ForeignKeyError(CheckpointError):
    """A well-formed checkpoint that carries no signature by the key it was checked against."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"

    def sign(self, key: SigningKey) -> str:
        """The signed note: this checkpoint signed by `key`, whose name must be the origin."""
        if key.name != self.origin:
            raise ValueError(f"key {key.name} cannot sign for the log {self.origin}")
        body = self.body()
        signature = key.verifier.key_id + key.sign(body.encode("utf-8"))
        return f"{body}\n{_SIGNATURE_PREFIX}{key.name} {b64encode(signature)}\n"


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and signature lines; CheckpointError if malformed."""
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise CheckpointError("it is not a signed note (text, a blank line, signature lines)")
    text, lines = note[: split + 1], note[split + 2 : -1].split("\n")
    if any(not (c.isprintable() or c == "\n") for c in text):
        raise CheckpointError("its text holds control characters")
    signatures = []
    for line in lines:
        name, _, encoded = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
        try:
            raw = strict_b64decode(encoded)
        except ValueError:
            raw = b""
        if not line.startswith(_SIGNATURE_PREFIX) or not valid_name(name) or len(raw) < 5:
            raise CheckpointError(f"its signature line {line[:40]!r} is malformed")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, signatures


def parse_body(text: str) -> Checkpoint:
    """The checkpoint in a note's text (extension lines after the root are allowed, unused)."""
    lines = text.split("\n")
    if len(lines) < 4 or any(not line for line in lines[:-1]):
        raise CheckpointError("its text is not origin, tree size and root on three lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or not size_text.isascii() or str(int(size_text)) != size_text:
        raise CheckpointError(f"its tree size {size_text[:20]!r} is not a decimal number")
    try:
        root = strict_b64decode(root_text)
    except ValueError:
        root = b""
    if len(root) != HASH_SIZE:
        raise CheckpointError("its root is not a base64 SHA-256 hash")
    return Checkpoint(origin, int(size_text), root)


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in `note` once `key`'s signature on it verifies.

    ForeignKeyError if no signature line is by `key` (signed by another installation, or by an
    earlier key of this one); CheckpointError if the note is malformed, altered (the signature
    fails) or names another log.
    """
    text, signatures = parse_note(note)
    mine = [s for s in signatures if (s.name, s.key_id) == (key.name, key.key_id)]
    if not mine:
        signers = ", ".join(describe_key(s.name, s.key_id) for s in signatures)
        raise ForeignKeyError(f"it is signed by another key: {signers}, not {key.describe()}")
    message = text.encode("utf-8")
    if not any(
        len(s.signature) == _ED25519_SIGNATURE_SIZE and key.verify(s.signature, message)
        for s in mine
    ):
        raise CheckpointError("its signature does not verify: the checkpoint was altered")
    checkpoint = parse_body(text)
    if checkpoint.origin != key.name:
        raise CheckpointError(f"it is for the log {checkpoint.origin}, not {key.name}")
    return checkpoint
