"""The model manager: each tier's state, and download, verify, import and delete.

The manager window and `bizra models` both drive this class; neither has a path of its own.
Every method that reads or writes model files blocks: the window calls them on a worker
thread. Installing writes the registry that ModelStore reads on every prompt, so the
selector uses a new tier for the very next prompt, without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models import fit
from bizra_desktop.core.models.catalogue import Catalogue, RemoteModel, tier_source
from bizra_desktop.core.models.download import fetch_model
from bizra_desktop.core.models.errors import (
    DownloadError,
    HubError,
    HubUnreachable,
    UnknownModelError,
)
from bizra_desktop.core.models.hashing import sha256_files
from bizra_desktop.core.models.hub import Hub
from bizra_desktop.core.models.importer import import_model
from bizra_desktop.core.models.names import part_path
from bizra_desktop.core.models.progress import ModelState, Progress, ProgressCallback
from bizra_desktop.core.models.records import ModelRecord, ModelSource
from bizra_desktop.core.models.registry import TierEntry
from bizra_desktop.core.models.store import (
    ModelFile,
    ModelFileError,
    ModelStore,
    open_model,
    split_parts,
)
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.tiers import Tier

if TYPE_CHECKING:
    from bizra_desktop.core.engine.host import InferenceHost


@dataclass(frozen=True, kw_only=True)
class TierStatus:
    tier: Tier
    state: ModelState
    name: str  # the model's file-name stem, e.g. 'qwen2.5-7b-instruct-q4_k_m'
    source: ModelSource | None  # where it comes from; None for an imported file
    size: int | None  # bytes, None when unknown
    size_is_estimate: bool  # the Hub could not be asked: the catalogue's rounded size
    fit: fit.FitEstimate | None
    model: ModelFile | None  # the installed model the selector can use now
    progress: Progress | None  # while downloading or verifying
    detail: str | None  # why it failed


@dataclass(frozen=True)
class Overview:
    tiers: list[TierStatus]
    hub_error: str | None  # the Hub could not be asked; the rest is from this machine


@dataclass(frozen=True)
class VerifyResult:
    tier: Tier
    ok: bool
    message: str


class ModelManager:
    def __init__(self, paths: DataPaths, hub: Hub | None = None) -> None:
        self.models_dir = paths.models
        self.store = ModelStore(paths.models)
        self.registry = self.store.registry
        self.catalogue = Catalogue(hub or Hub())
        self._lock = threading.Lock()
        self._busy: set[Tier] = set()
        self._live: dict[Tier, Progress] = {}

    # --- state -------------------------------------------------------------------------------

    def overview(self, memory: MemoryBudget, n_ctx: int, *, fetch: bool = True) -> Overview:
        """Every tier's state, size and fit. `fetch`: ask the Hub for the sizes of models that
        are not installed (once per repository and manager); off, it uses what it has."""
        hub_error: str | None = None
        statuses = []
        for tier in Tier:
            try:
                # After one unreachable repository, do not wait for the other four to time out.
                statuses.append(self.status(tier, memory, n_ctx, fetch=fetch and not hub_error))
            except HubUnreachable as error:
                hub_error = str(error)
                statuses.append(self.status(tier, memory, n_ctx, fetch=False))
        return Overview(statuses, hub_error)

    def status(self, tier: Tier, memory: MemoryBudget, n_ctx: int, *, fetch: bool) -> TierStatus:
        """One tier's status; raises HubUnreachable only when `fetch` needed the Hub."""
        entry = self.registry.entry(tier)
        model = self.store.tier_model(tier)
        record = entry.pending or entry.installed
        catalogue = tier_source(tier)
        source = record.source if record is not None else catalogue
        state, detail = self._state(tier, entry, model)
        size, estimated = self._size(tier, entry, model, source, fetch)
        estimate: fit.FitEstimate | None = None
        if model is not None and entry.pending is None:
            estimate = fit.estimate(model.memory_needed(n_ctx), memory)
        elif size is not None:
            estimate = fit.estimate(fit.needed_for(tier, size, n_ctx), memory)
        return TierStatus(
            tier=tier,
            state=state,
            name=record.stem if record is not None else catalogue.stem,
            source=source,
            size=size,
            size_is_estimate=estimated,
            fit=estimate,
            model=model,
            progress=self._live.get(tier),
            detail=detail,
        )

    def _state(
        self, tier: Tier, entry: TierEntry, model: ModelFile | None
    ) -> tuple[ModelState, str | None]:
        live = self._live.get(tier)
        if live is not None:
            return live.state, None
        if entry.pending is not None:
            # Not running, so interrupted: by Pause, a failure or the app closing.
            return (ModelState.FAILED, entry.error) if entry.error else (ModelState.PAUSED, None)
        if model is not None:
            return ModelState.INSTALLED, None
        path = self.store.tier_path(tier)
        if path.is_file():
            try:
                open_model(path, tier)
            except ModelFileError as error:
                return ModelState.FAILED, str(error)
        return ModelState.NOT_INSTALLED, None

    def _size(
        self,
        tier: Tier,
        entry: TierEntry,
        model: ModelFile | None,
        source: ModelSource | None,
        fetch: bool,
    ) -> tuple[int | None, bool]:
        if entry.pending is not None:
            return entry.pending.size, False
        if model is not None:
            return model.size_bytes, False
        if source is None:
            return None, False
        try:
            remote = self.catalogue.resolve(source) if fetch else self.catalogue.cached(source)
        except HubUnreachable:
            raise  # the caller stops asking the Hub
        except (HubError, UnknownModelError):
            remote = None
        if remote is not None:
            return remote.size, False
        return tier.spec.approx_file_bytes, True

    # --- download ----------------------------------------------------------------------------

    def source(self, tier: Tier, quant: str | None = None) -> ModelSource:
        """The tier's model in Qwen's repository: the catalogue quantization, or `quant`."""
        return tier_source(tier, quant)

    def quantizations(self, tier: Tier) -> list[RemoteModel]:
        """The tier's model in each quantization on the Hub (HubError when it can't be asked)."""
        return self.catalogue.quantizations(tier)

    def search(self, query: str, limit: int = 30) -> list[str]:
        """GGUF repositories on the Hub matching `query`; pick a model with `models_in`."""
        return self.catalogue.hub.search(query, limit)

    def models_in(self, repo_id: str) -> list[RemoteModel]:
        return self.catalogue.models(repo_id)

    def download(
        self,
        tier: Tier,
        source: ModelSource | None = None,
        *,
        report: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ModelFile:
        """Download `source` for `tier` (default: the tier's unfinished download, else its
        catalogue model) and install it. Blocking; `cancel` pauses it.

        Raises DownloadPaused, DownloadError, HubError (HubUnreachable offline) or
        UnknownModelError. A model that is already installed is returned at once.
        """
        with self._downloading(tier):
            entry = self.registry.entry(tier)
            if source is None:
                pending = entry.pending.source if entry.pending is not None else None
                source = pending or tier_source(tier)
            remote = self.catalogue.resolve(source)
            record = remote.record()
            installed = self.store.tier_model(tier)
            if entry.installed == record and installed is not None:
                return installed
            self._live[tier] = Progress(
                state=ModelState.DOWNLOADING,
                file=record.first,
                done=0,
                total=record.size,
                speed=0.0,
            )
            previous = self._used_by(tier)
            self._start(tier, entry.pending, record)
            try:
                fetch_model(
                    self.catalogue.hub,
                    remote,
                    self.models_dir,
                    report=self._relay(tier, report),
                    cancel=cancel,
                )
                model = self._checked(tier, record)
            except (DownloadError, HubError) as error:
                message = str(error)
                self.registry.update(tier, lambda old: replace(old, error=message))
                raise
            self.registry.update(tier, lambda _: TierEntry(installed=record))
            self._unlink(previous - _names(record))  # the model it replaces
            return model

    def _start(self, tier: Tier, pending: ModelRecord | None, record: ModelRecord) -> None:
        """Record `record` as the tier's download; drop what an abandoned one left behind."""
        self.registry.update(tier, lambda old: replace(old, pending=record, error=None))
        if pending is None or pending == record:
            return
        hashes = {file.name: file.sha256 for file in pending.files}
        for file in record.files:
            if hashes.get(file.name, file.sha256) != file.sha256:
                # The same name with other bytes: its partial file must not be resumed.
                part_path(self.models_dir / file.name).unlink(missing_ok=True)
        self._unlink(_names(pending) - _names(record))

    def _checked(self, tier: Tier, record: ModelRecord) -> ModelFile:
        """The verified download, through the same header check as every model."""
        try:
            return open_model(self.models_dir / record.first, tier)
        except ModelFileError as error:
            raise DownloadError(f"{error}; llama.cpp cannot use this file") from None

    @contextmanager
    def _downloading(self, tier: Tier) -> Iterator[None]:
        with self._lock:
            if tier in self._busy:
                raise DownloadError(f"{tier.name} is already being downloaded")
            self._busy.add(tier)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(tier)
                self._live.pop(tier, None)

    def _relay(self, tier: Tier, report: ProgressCallback | None) -> ProgressCallback:
        def relay(progress: Progress) -> None:
            self._live[tier] = progress
            if report is not None:
                report(progress)

        return relay

    # --- verify, import, delete --------------------------------------------------------------

    def verify(self, tiers: tuple[Tier, ...] = tuple(Tier)) -> list[VerifyResult]:
        """Re-hash each installed tier's files against the SHA-256 recorded when it was
        installed (for a file put in the folder by hand: the Hub's)."""
        results = []
        for tier in tiers:
            entry = self.registry.entry(tier)
            if entry.installed is None and not self.store.tier_path(tier).is_file():
                continue
            results.append(self._verify(tier, entry.installed))
        return results

    def _verify(self, tier: Tier, record: ModelRecord | None) -> VerifyResult:
        against = "the SHA-256 recorded at install"
        if record is None:
            try:
                record = self.catalogue.resolve(tier_source(tier)).record()
            except (HubError, UnknownModelError) as error:
                return VerifyResult(tier, False, f"no recorded SHA-256 to check, and {error}")
            against = "the Hub's SHA-256"
        for file in record.files:
            path = self.models_dir / file.name
            if not path.is_file():
                return VerifyResult(tier, False, f"{file.name} is missing")
            if path.stat().st_size != file.size:
                return VerifyResult(
                    tier, False, f"{file.name} has {path.stat().st_size:,} bytes, not {file.size:,}"
                )
            if sha256_files([path]) != file.sha256:
                return VerifyResult(tier, False, f"{file.name} does not match {against}")
        try:
            open_model(self.models_dir / record.first, tier)
        except ModelFileError as error:
            return VerifyResult(tier, False, str(error))
        return VerifyResult(tier, True, f"{record.first} matches {against}")

    def import_file(
        self, path: Path, tier: Tier, report: ProgressCallback | None = None
    ) -> ModelFile:
        """Check a local GGUF, put it in the model folder and make it the tier's model."""
        previous = self._used_by(tier)
        record = import_model(path, self.models_dir, report)
        self.registry.update(tier, lambda old: replace(old, installed=record))
        self._unlink(previous - _names(record))
        return open_model(self.models_dir / record.first, tier)

    def delete(self, tier: Tier, host: InferenceHost | None = None) -> list[Path]:
        """Remove the tier's model and any unfinished download of it; the removed files.

        `host`: the inference host, which may have the model loaded (and, on Windows, open):
        it is closed first, and the next prompt starts a new one.
        """
        if host is not None:
            host.close()
        names = self._used_by(tier) | _names(self.registry.entry(tier).pending)
        self.registry.update(tier, lambda _: TierEntry())
        return self._unlink(names, exclude=tier)

    def _used_by(self, tier: Tier) -> set[str]:
        """The files of the tier's model: as recorded, else by its catalogue name."""
        installed = self.registry.entry(tier).installed
        if installed is not None:
            return _names(installed)
        return {part.name for part in split_parts(self.store.tier_path(tier))}

    def _unlink(self, names: set[str], *, exclude: Tier | None = None) -> list[Path]:
        """Delete these files, and their partial downloads, unless a tier other than `exclude`
        still needs them (one imported file may serve two tiers)."""
        in_use: set[str] = set()
        for tier in Tier:
            if tier is not exclude:
                in_use |= self._used_by(tier) | _names(self.registry.entry(tier).pending)
        removed = []
        for name in sorted(names):
            final = self.models_dir / name
            for path in (part_path(final), *(() if name in in_use else (final,))):
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                removed.append(path)
        return removed


def _names(record: ModelRecord | None) -> set[str]:
    return {file.name for file in record.files} if record is not None else set()
