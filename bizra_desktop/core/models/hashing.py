"""SHA-256 of model files, read in blocks so a 9 GB model never sits in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

_BLOCK = 4 * 1024 * 1024


def sha256_files(paths: Iterable[Path], on_bytes: Callable[[int], None] | None = None) -> str:
    """Hex SHA-256 of the files' contents one after another; `on_bytes` hears each block."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
                if on_bytes is not None:
                    on_bytes(len(block))
    return digest.hexdigest()
