"""What we know about a model's files: where they come from, their names, sizes and hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bizra_desktop.core.models.names import check_name

Origin = Literal["hub", "import"]


@dataclass(frozen=True)
class ModelSource:
    """A model in a Hub repository: 'qwen2.5-7b-instruct-q4_k_m' names a single file
    'STEM.gguf' or all the parts 'STEM-0000N-of-0000M.gguf'."""

    repo_id: str
    stem: str

    def __str__(self) -> str:
        return f"{self.repo_id}/{self.stem}"


@dataclass(frozen=True)
class FileRecord:
    name: str  # the file name in the model folder
    size: int
    sha256: str  # lower-case hex


@dataclass(frozen=True, kw_only=True)
class ModelRecord:
    """One model (a single file or every part of a split one) and the hashes it must have."""

    origin: Origin
    stem: str
    files: tuple[FileRecord, ...]  # in part order: llama.cpp is given the first
    repo_id: str | None = None  # None for an import
    revision: str | None = None

    @property
    def first(self) -> str:
        return self.files[0].name

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    @property
    def source(self) -> ModelSource | None:
        return ModelSource(self.repo_id, self.stem) if self.repo_id is not None else None

    def as_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "stem": self.stem,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "files": [
                {"name": file.name, "size": file.size, "sha256": file.sha256} for file in self.files
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> ModelRecord:
        """The record in `data`; ValueError (or KeyError, TypeError) when it is malformed."""
        files = tuple(
            FileRecord(check_name(str(item["name"])), int(item["size"]), _sha256(item["sha256"]))
            for item in data["files"]
        )
        origin = data["origin"]
        if origin not in ("hub", "import") or not files:
            raise ValueError("not a model record")
        repo_id, revision = data.get("repo_id"), data.get("revision")
        return cls(
            origin=origin,
            stem=str(data["stem"]),
            files=files,
            repo_id=str(repo_id) if repo_id is not None else None,
            revision=str(revision) if revision is not None else None,
        )


def _sha256(value: Any) -> str:
    text = str(value).lower()
    if len(text) != 64 or any(char not in "0123456789abcdef" for char in text):
        raise ValueError(f"not a SHA-256: {value!r}")
    return text
