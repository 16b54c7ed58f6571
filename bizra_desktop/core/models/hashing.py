"""SHA-256 of model files, read in blocks so a 9 GB model never sits in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _hashlib import HASH

_BLOCK = 4 * 1024 * 1024


def sha256_files(
    paths: Iterable[Path],
    on_bytes: Callable[[int], None] | None = None,
    also: HASH | None = None,
) -> str:
    """Hex SHA-256 of the files' contents one after another; `on_bytes` hears each block.

    `also` is fed the same bytes: how one read gives a part's hash and the whole model's.
    """
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
                if also is not None:
                    also.update(block)
                if on_bytes is not None:
                    on_bytes(len(block))
    return digest.hexdigest()


class WholeModelDigest:
    """The SHA-256 of a model's parts one after another (what a receipt names the model by),
    built while a download or an import checks each part, so the first prompt after it need
    not read a 9 GB file again.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def check_part(
        self, path: Path, expected: str | None, on_bytes: Callable[[int], None] | None = None
    ) -> str:
        """The part's hex SHA-256; its bytes count toward the whole only if it is `expected`
        (or nothing is expected). Parts must be checked in order.
        """
        candidate = self._digest.copy()
        digest = sha256_files([path], on_bytes, also=candidate)
        if expected is None or digest == expected:
            self._digest = candidate
        return digest

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
