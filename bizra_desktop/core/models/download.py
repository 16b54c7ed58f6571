"""Fetch a model's files into the model folder, safely.

For each file: bytes go to NAME.part (never to NAME), a partial file left by an earlier
session is continued with an HTTP Range request, the finished file's SHA-256 must equal the
Hub's LFS hash, and only then is it renamed to NAME, atomically, on the same file system. A
model is therefore never half-present under its real name, and a split model is usable only
once every part has arrived (llama.cpp and ModelStore both want them all).

This is a plain blocking function: the window runs it on a worker thread, the command line
on a thread of its own, and both pause it through `cancel`.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bizra_desktop.core.models.catalogue import RemoteModel
from bizra_desktop.core.models.errors import DownloadError, DownloadPaused, HubError
from bizra_desktop.core.models.hashing import WholeModelDigest
from bizra_desktop.core.models.hub import Hub, HubFile
from bizra_desktop.core.models.names import inside, part_path
from bizra_desktop.core.models.progress import Meter, ModelState, ProgressCallback, size_text
from bizra_desktop.core.models.records import FileRecord, ModelRecord
from bizra_desktop.core.models.store import ModelHashCache


def fetch_model(
    hub: Hub,
    remote: RemoteModel,
    models_dir: Path,
    *,
    report: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> ModelRecord:
    """Download every file of `remote` that is not already there, verified, under its name.

    Raises DownloadPaused when `cancel` is set, DownloadError (partial files kept) or HubError.
    """
    record = remote.record()
    models_dir.mkdir(parents=True, exist_ok=True)
    targets = [inside(models_dir, file.name) for file in record.files]
    _check_space(record, targets, models_dir)
    fetch = _Fetch(
        hub=hub, remote=remote, meter=Meter(record.size, report), report=report, cancel=cancel
    )
    for hub_file, file, target in zip(remote.files, record.files, targets, strict=True):
        if target.is_file() and fetch.hash_matches(target, file):
            fetch.meter.skip(file.size)  # a part finished in an earlier session
            continue
        fetch.download(hub_file, file, part_path(target))
        if not fetch.hash_matches(part_path(target), file):
            part_path(target).unlink()
            raise DownloadError(
                f"{file.name}: the downloaded bytes do not match the Hub's SHA-256 "
                f"{file.sha256[:12]}…; the corrupt download was discarded, try again"
            )
        try:
            os.replace(part_path(target), target)
        except OSError as error:  # on Windows: the old file is open in another program
            raise DownloadError(
                f"{file.name}: verified, but cannot replace the file in the model folder: "
                f"{error.strerror or error}; download again to finish"
            ) from None
    # Every part was just read to check it: the receipts' whole-model hash comes with it.
    ModelHashCache.of_folder(models_dir).remember(targets, fetch.whole.hexdigest())
    return record


def _check_space(record: ModelRecord, targets: list[Path], models_dir: Path) -> None:
    """Refuse up front rather than fill the disk and fail after hours of downloading."""
    needed = 0
    for file, target in zip(record.files, targets, strict=True):
        if target.is_file() and target.stat().st_size == file.size:
            continue
        part = part_path(target)
        already = part.stat().st_size if part.is_file() else 0
        needed += file.size - min(already, file.size)
    free = shutil.disk_usage(models_dir).free
    if needed > free:
        raise DownloadError(
            f"not enough disk space for {record.stem}: it needs {size_text(needed)} more and "
            f"{models_dir} has {size_text(free)} free"
        )


@dataclass(kw_only=True)
class _Fetch:
    """One model's download: the Hub, the running byte count, and the Pause flag."""

    hub: Hub
    remote: RemoteModel
    meter: Meter
    report: ProgressCallback | None
    cancel: threading.Event | None
    whole: WholeModelDigest = field(default_factory=WholeModelDigest)

    def _check_cancel(self, what: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise DownloadPaused(what)

    def download(self, hub_file: HubFile, file: FileRecord, part: Path) -> None:
        """Append the rest of `file` to `part`, from where an earlier session stopped."""
        resume = part.stat().st_size if part.is_file() else 0
        if resume > file.size:  # not a prefix of this file: start over
            part.unlink()
            resume = 0
        self.meter.skip(resume)
        if resume == file.size:
            return  # complete, and not yet verified: the last session stopped in between

        def on_chunk(count: int) -> None:
            self._check_cancel(f"{file.name}: paused")
            self.meter.advance(count, ModelState.DOWNLOADING, file.name)

        kept = "the partial file is kept: download again to resume"
        repo_id, revision = self.remote.source.repo_id, self.remote.revision
        try:
            with part.open("ab") as out:
                self.hub.fetch(repo_id, revision, hub_file, out, resume=resume, on_chunk=on_chunk)
        except DownloadPaused:
            raise DownloadPaused(f"{file.name}: paused at {_share(part, file)}; {kept}") from None
        except OSError as error:
            if isinstance(error, HubError) or error.errno is None:
                # The Hub failed, or huggingface_hub's size check found the body cut short.
                reason = str(error).splitlines()[0]
                raise DownloadError(
                    f"{file.name}: stopped at {_share(part, file)}: {reason}; {kept}"
                ) from None
            # A full disk, a file-size limit, a removed drive.
            raise DownloadError(
                f"{file.name}: cannot write {part}: {error.strerror}; {kept}"
            ) from None

    def hash_matches(self, path: Path, file: FileRecord) -> bool:
        if path.stat().st_size != file.size:
            return False
        meter = Meter(file.size, self.report)

        def on_bytes(count: int) -> None:
            self._check_cancel(f"{file.name}: paused while verifying; the file is kept")
            meter.advance(count, ModelState.VERIFYING, file.name)

        return self.whole.check_part(path, file.sha256, on_bytes) == file.sha256


def _share(part: Path, file: FileRecord) -> str:
    done = part.stat().st_size if part.is_file() else 0
    return f"{size_text(done)} of {size_text(file.size)}"
