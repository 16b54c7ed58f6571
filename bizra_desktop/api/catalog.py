"""The model names the API accepts: "auto", the tier names, and the installed models' names.

"auto" lets the analyzer and selector choose; a tier name pins that tier; an installed model's
name pins the tier it is installed as. Names are matched without regard to case. The store is
read on every call, so a model installed while the server runs is listed at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from bizra_desktop.core.models.store import ModelStore
from bizra_desktop.core.tiers import Tier

AUTO = "auto"
OWNER = "bizra"


@dataclass(frozen=True)
class ModelEntry:
    id: str
    tier: Tier | None  # None: automatic routing
    created: int  # Unix time; the file's modification time for an installed model

    def wire(self) -> dict[str, object]:
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": OWNER}


class ModelCatalog:
    def __init__(self, store: ModelStore) -> None:
        self.store = store

    def entries(self) -> list[ModelEntry]:
        installed = [
            ModelEntry(model.name, tier, int(model.path.stat().st_mtime))
            for tier, model in self.store.installed().items()
        ]
        names = [ModelEntry(AUTO, None, 0), *(ModelEntry(t.name.lower(), t, 0) for t in Tier)]
        return [*names, *installed]

    def find(self, name: str) -> ModelEntry | None:
        wanted = name.strip().lower()
        return next((entry for entry in self.entries() if entry.id.lower() == wanted), None)
