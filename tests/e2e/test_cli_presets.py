"""Presets from the command line: `bizra presets`, and `--preset` on a real answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.presets import Preset, PresetStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.settings import Settings, save_settings
from tests.e2e.test_cli import _one_line_error, bizra


def test_presets_lists_the_built_in_ones_and_the_users(bizra_home: Path) -> None:
    listed = bizra(bizra_home, "presets")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "Precise",
        "Balanced",
        "Creative",
        "Code",
    ]
    assert not (bizra_home / "bizra.sqlite3").exists()  # listing makes no data folder
    with PresetStore(DataPaths(bizra_home).ensure().database) as store:
        store.save(Preset(name="Tutor", description="patient", temperature=0.4))
    records = json.loads(bizra(bizra_home, "presets", "--json").stdout)
    assert [(r["name"], r["built_in"]) for r in records][-2:] == [("Code", True), ("Tutor", False)]
    assert records[-1]["temperature"] == 0.4


@pytest.mark.model
def test_ask_with_a_preset_answers_with_its_values_and_the_conversation_keeps_it(
    bizra_home: Path,
) -> None:
    paths = DataPaths(bizra_home).ensure()
    save_settings(paths.settings, Settings(system_prompt="Answer in French.", max_tokens=6))
    asked = bizra(bizra_home, "ask", "Hello!", "--preset", "precise", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["preference"] == "quality"
    with ReceiptChain(paths.database) as chain:
        receipt = chain.get(answer["receipt_hash"])
    assert receipt is not None
    params = receipt.body["params"]
    # The preset's sampling, the settings' length: a preset overrides only what it names.
    assert (params["temperature"], params["top_p"], params["max_tokens"]) == (0.2, 0.9, 6)
    # What the command line sets wins over the preset.
    again = bizra(bizra_home, "ask", "Hi", "--preset", "Precise", "--temperature", "0", "--json")
    with ReceiptChain(paths.database) as chain:
        receipt = chain.get(json.loads(again.stdout)["receipt_hash"])
    assert receipt is not None and receipt.body["params"]["temperature"] == 0.0
    chats = json.loads(bizra(bizra_home, "chats", "list", "--json").stdout)
    assert [chat["preset"] for chat in chats] == ["Precise", "Precise"]


def test_an_unknown_preset_is_one_line_naming_the_others(bizra_home: Path) -> None:
    result = bizra(bizra_home, "ask", "Hello!", "--preset", "Poetic")
    _one_line_error(
        result, 2, "no preset named 'Poetic'; the presets are Precise, Balanced, Creative, Code"
    )
