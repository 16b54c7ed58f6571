"""The ModelManager that every open manager window of one model folder shares."""

from __future__ import annotations

import weakref
from pathlib import Path

from bizra_desktop.core.models.manager import ModelManager
from bizra_desktop.core.paths import DataPaths

# The core refuses a second download of a tier only within one manager, and two downloads
# into one .part file would corrupt it. Weak: the manager goes when its last window does.
_managers: weakref.WeakValueDictionary[Path, ModelManager] = weakref.WeakValueDictionary()


def shared_manager(paths: DataPaths) -> ModelManager:
    manager = _managers.get(paths.models)
    if manager is None:
        manager = ModelManager(paths)  # the Hub as huggingface_hub sees it (HF_ENDPOINT)
        _managers[paths.models] = manager
    return manager
