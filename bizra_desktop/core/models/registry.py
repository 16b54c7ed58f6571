"""Which model each tier uses, and which download each tier has under way (registry.json).

The file is small and rewritten whole: to a temporary file in the same folder, flushed to
disk, then renamed over the old one, so a crash leaves the old registry or the new one, never
half of either. A registry that cannot be read counts as empty: the tiers then fall back to
their catalogue file names, and the app keeps working.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bizra_desktop.core.models.records import ModelRecord
from bizra_desktop.core.tiers import Tier

SCHEMA_VERSION = 1
FILE_NAME = "registry.json"

# One lock for every Registry object: the store, the manager and a download thread each make
# their own, and their read-modify-write cycles must not interleave.
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TierEntry:
    installed: ModelRecord | None = None  # the model the tier uses, once it is complete
    pending: ModelRecord | None = None  # a download started and not yet installed
    error: str | None = None  # why the last attempt at `pending` failed

    def as_json(self) -> dict[str, Any]:
        return {
            "installed": self.installed.as_json() if self.installed else None,
            "pending": self.pending.as_json() if self.pending else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TierEntry:
        error = data.get("error")
        return cls(
            _record(data.get("installed")),
            _record(data.get("pending")),
            str(error) if error is not None else None,
        )


def _record(data: Any) -> ModelRecord | None:
    if data is None:
        return None
    try:
        return ModelRecord.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a hand-edited or damaged record is ignored, never trusted


class Registry:
    def __init__(self, models_dir: Path) -> None:
        self.path = models_dir / FILE_NAME

    def entries(self) -> dict[Tier, TierEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            tiers = data["tiers"] if data.get("schema_version") == SCHEMA_VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}
        found: dict[Tier, TierEntry] = {}
        for name, entry in tiers.items() if isinstance(tiers, dict) else ():
            if name in Tier.__members__ and isinstance(entry, dict):
                found[Tier[name]] = TierEntry.from_json(entry)
        return found

    def entry(self, tier: Tier) -> TierEntry:
        return self.entries().get(tier, TierEntry())

    def update(self, tier: Tier, change: Callable[[TierEntry], TierEntry]) -> TierEntry:
        """Apply `change` to the tier's entry and save; returns the new entry."""
        with _LOCK:
            entries = self.entries()
            new = change(entries.get(tier, TierEntry()))
            if new == TierEntry():
                entries.pop(tier, None)
            else:
                entries[tier] = new
            self._save(entries)
        return new

    def _save(self, entries: dict[Tier, TierEntry]) -> None:
        data = {
            "schema_version": SCHEMA_VERSION,
            "tiers": {tier.name: entry.as_json() for tier, entry in sorted(entries.items())},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".registry-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
