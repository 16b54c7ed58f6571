"""Salted commitments to a prompt or a response: the receipt proves the text without holding it."""

from __future__ import annotations

import hashlib
import secrets

SALT_BYTES = 32


def new_salt() -> bytes:
    """A fresh random salt: it stops anyone guessing a short prompt from its commitment."""
    return secrets.token_bytes(SALT_BYTES)


def commit(text: str, salt: bytes) -> str:
    """Hex SHA-256(salt ‖ UTF-8(text)).

    A Python str can hold lone surrogates (text decoded with 'surrogateescape', a Windows file
    name, a model's output cut inside a UTF-16 pair). Strict UTF-8 would raise after the answer
    was already generated, and 'replace' would map different texts to the same bytes; with
    'surrogatepass' every str still has exactly one encoding, and valid text encodes as plain
    UTF-8, so anyone holding the text and the salt can recompute the commitment.
    """
    return hashlib.sha256(salt + text.encode("utf-8", "surrogatepass")).hexdigest()
