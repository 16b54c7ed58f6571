"""Bring a GGUF file the user already has into the model folder.

The file passes the same header check as every model (GGUF magic and version, a header that
parses, tensor data inside the file) before anything is copied; a bad file gets a one-line
reason and never reaches llama.cpp. It is hard-linked when the folder is on the same file
system (instant, no extra space) and copied through NAME.part otherwise. A hard link shares
its bytes with the original; nothing here ever writes into a model file (replacements are
renamed over it), and `verify` notices if the original is edited in place later.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bizra_desktop.core.models.hashing import WholeModelDigest
from bizra_desktop.core.models.names import inside, part_path
from bizra_desktop.core.models.progress import Meter, ModelState, ProgressCallback, size_text
from bizra_desktop.core.models.records import FileRecord, ModelRecord
from bizra_desktop.core.models.store import ModelFileError, ModelHashCache, open_model, parse_split


class ImportConflictError(ValueError):
    """A different file of the same name is already in the model folder."""


def import_model(
    source: Path, models_dir: Path, report: ProgressCallback | None = None
) -> ModelRecord:
    """Check `source` (every part of a split model), place it and hash it; its record.

    Raises ModelFileError for an unusable file, UnsafeNameError for a name the folder cannot
    hold, ImportConflictError, or OSError when copying fails (a partial copy is removed).
    """
    model = open_model(source)
    models_dir.mkdir(parents=True, exist_ok=True)
    targets = [inside(models_dir, part.name) for part in model.parts]
    pairs = list(zip(model.parts, targets, strict=True))
    for part, target in pairs:  # every conflict before any file is placed
        _check_no_conflict(part, target)
    for part, target in pairs:
        _place(part, target)
    whole = WholeModelDigest()
    files = tuple(_hashed(target, whole, report) for target in targets)
    try:
        open_model(targets[0])  # the placed copy, as llama.cpp will see it
    except ModelFileError as error:
        raise ModelFileError(f"the copy in the model folder is unusable: {error}") from None
    ModelHashCache.of_folder(models_dir).remember(targets, whole.hexdigest())
    split = parse_split(targets[0].name)
    stem = split.stem if split is not None else targets[0].name[: -len(".gguf")]
    return ModelRecord(origin="import", stem=stem, files=files)


def _hashed(path: Path, whole: WholeModelDigest, report: ProgressCallback | None) -> FileRecord:
    size = path.stat().st_size
    meter = Meter(size, report)
    digest = whole.check_part(
        path, None, lambda count: meter.advance(count, ModelState.VERIFYING, path.name)
    )
    return FileRecord(path.name, size, digest)


def _check_no_conflict(part: Path, target: Path) -> None:
    if target.exists() and not os.path.samefile(part, target):
        raise ImportConflictError(
            f"{target.name}: a different file of that name is already in {target.parent}; "
            "rename the file to import, or delete the model that uses the other one"
        )


def _place(part: Path, target: Path) -> None:
    if target.exists():
        return  # the same file: imported before, or imported from the model folder itself
    try:
        os.link(part, target)
        return
    except OSError:
        pass  # another file system, or one without hard links: copy instead
    size = part.stat().st_size
    free = shutil.disk_usage(target.parent).free
    if size > free:
        raise OSError(
            f"not enough disk space to copy {part.name}: it needs {size_text(size)} and "
            f"{target.parent} has {size_text(free)} free"
        )
    staging = part_path(target)
    try:
        shutil.copyfile(part, staging)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
