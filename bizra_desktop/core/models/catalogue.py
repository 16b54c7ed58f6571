"""The tiers' models on Hugging Face, and how a repository's files make up models.

Only the repository and the file-name stem of each tier are fixed here (from tiers.py): which
files a quantization has (one, or split into parts), their sizes and SHA-256 come from the
Hub's listing at run time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bizra_desktop.core.models.errors import HubError, UnknownModelError, UnsafeNameError
from bizra_desktop.core.models.hub import Hub, HubFile, Listing
from bizra_desktop.core.models.names import local_name
from bizra_desktop.core.models.records import FileRecord, ModelRecord, ModelSource
from bizra_desktop.core.models.store import parse_split
from bizra_desktop.core.tiers import Tier

DEFAULT_QUANT = "q4_k_m"


@dataclass(frozen=True)
class RemoteModel:
    """A complete model in a repository listing: one file, or every part of a split one."""

    source: ModelSource
    revision: str
    files: tuple[HubFile, ...]  # in part order

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    @property
    def quant(self) -> str:
        """'q4_k_m' for 'qwen2.5-7b-instruct-q4_k_m': by convention the last word of the stem."""
        return self.source.stem.rsplit("-", 1)[-1].lower()

    def record(self) -> ModelRecord:
        """What the model folder will hold; HubError if a name is unsafe or a hash is missing."""
        files = []
        for file in self.files:
            try:
                name = local_name(file.path)
            except UnsafeNameError as error:
                raise HubError(f"{self.source.repo_id}: {error}") from None
            if file.sha256 is None:
                raise HubError(f"{self.source}: {file.path} has no SHA-256 on the Hub to check")
            files.append(FileRecord(name, file.size, file.sha256))
        return ModelRecord(
            origin="hub",
            stem=self.source.stem,
            files=tuple(files),
            repo_id=self.source.repo_id,
            revision=self.revision,
        )


def tier_source(tier: Tier, quant: str | None = None) -> ModelSource:
    """The tier's model in Qwen's repository: the catalogue quantization, or `quant`."""
    spec = tier.spec
    if quant is not None:
        return ModelSource(spec.repo_id, f"{spec.model_name}-{quant.strip().lower()}")
    split = parse_split(spec.filename)
    stem = split.stem if split is not None else spec.filename.removesuffix(".gguf")
    return ModelSource(spec.repo_id, stem)


def models_in(listing: Listing) -> list[RemoteModel]:
    """The GGUF models of a listing; a split model counts only when every part is listed."""
    complete: list[RemoteModel] = []
    parts: dict[tuple[str, int], dict[int, HubFile]] = defaultdict(dict)
    for file in listing.files:
        if not file.path.lower().endswith(".gguf"):
            continue
        split = parse_split(file.path)
        if split is None:
            stem = file.path[: -len(".gguf")]
            complete.append(
                RemoteModel(ModelSource(listing.repo_id, stem), listing.revision, (file,))
            )
        else:
            parts[split.stem, split.total][split.index] = file
    for (stem, total), by_index in parts.items():
        if sorted(by_index) == list(range(1, total + 1)):
            ordered = tuple(by_index[index] for index in range(1, total + 1))
            complete.append(
                RemoteModel(ModelSource(listing.repo_id, stem), listing.revision, ordered)
            )
    return sorted(complete, key=lambda model: model.source.stem)


class Catalogue:
    """Repository listings from the Hub, each fetched once per Catalogue."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._models: dict[str, list[RemoteModel]] = {}

    def models(self, repo_id: str, *, refresh: bool = False) -> list[RemoteModel]:
        if refresh or repo_id not in self._models:
            self._models[repo_id] = models_in(self.hub.listing(repo_id))
        return self._models[repo_id]

    def resolve(self, source: ModelSource) -> RemoteModel:
        """The model `source` names; UnknownModelError, naming what the repository does have,
        when it is not there."""
        models = self.models(source.repo_id)
        for model in models:
            if model.source.stem.lower() == source.stem.lower():
                return model
        have = ", ".join(model.source.stem for model in models) or "no GGUF models"
        raise UnknownModelError(f"{source.repo_id} has no model {source.stem!r}; it has: {have}")

    def cached(self, source: ModelSource) -> RemoteModel | None:
        """`resolve` without asking the Hub: None unless this Catalogue has listed the repo."""
        if source.repo_id not in self._models:
            return None
        try:
            return self.resolve(source)
        except UnknownModelError:
            return None

    def quantizations(self, tier: Tier) -> list[RemoteModel]:
        """The tier's model in every quantization its Qwen repository offers."""
        prefix = f"{tier.spec.model_name}-"
        return [
            model
            for model in self.models(tier.spec.repo_id)
            if model.source.stem.lower().startswith(prefix)
        ]
