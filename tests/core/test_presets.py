"""Presets: built-ins, the user's own in SQLite, validation by the settings schema."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bizra_desktop.core.presets import (
    BUILT_IN,
    Preset,
    PresetStore,
    UnknownPresetError,
    find_preset,
)
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings
from bizra_desktop.core.tiers import Tier


@pytest.fixture
def store(tmp_path: Path) -> PresetStore:
    return PresetStore(tmp_path / "bizra.db")


def test_the_built_in_presets_are_there_and_valid(store: PresetStore) -> None:
    assert [p.name for p in store.list()] == ["Precise", "Balanced", "Creative", "Code"]
    assert all(p.built_in for p in BUILT_IN)
    code = store.get("  code ")  # any case, any spacing
    assert code.system_prompt and "fenced code blocks" in code.system_prompt
    defaults = run_defaults(Settings())
    assert store.get("Balanced").applied_to(defaults) == defaults


def test_a_preset_overrides_only_what_it_names(store: PresetStore) -> None:
    mine = run_defaults(Settings(system_prompt="Be brief.", n_ctx=8192, max_tokens=300))
    creative = store.get("Creative").applied_to(mine)
    assert (creative.params.temperature, creative.params.top_p) == (1.0, 0.95)
    assert (creative.system_prompt, creative.n_ctx) == ("Be brief.", 8192)
    assert creative.params.max_tokens == 300
    assert store.get("Code").applied_to(mine).system_prompt != "Be brief."
    big = Preset(name="Big", tier=Tier.LARGE, preference=Preference.SPEED)
    assert big.applied_to(mine).pin is Tier.LARGE
    assert big.applied_to(mine).preference is Preference.SPEED
    # A tier chosen for the run itself wins over the preset's.
    assert big.applied_to(replace(mine, pin=Tier.NANO)).pin is Tier.NANO


def test_a_command_or_request_finds_a_preset_by_name(tmp_path: Path) -> None:
    db = tmp_path / "bizra.db"
    with PresetStore(db) as store:
        store.save(Preset(name="Tutor", temperature=0.5))
    assert find_preset(db, "tutor").temperature == 0.5
    assert find_preset(db, "CODE").name == "Code"
    with pytest.raises(UnknownPresetError, match="Precise, Balanced, Creative, Code, Tutor"):
        find_preset(db, "nope")


def test_the_users_presets_are_kept_replaced_and_deleted(tmp_path: Path) -> None:
    db = tmp_path / "bizra.db"
    with PresetStore(db) as store:
        store.save(
            Preset(name="Tutor", system_prompt="Explain like a patient teacher.", temperature=0.5)
        )
        store.save(Preset(name="Terse", max_tokens=64, preference=Preference.SPEED))
    with PresetStore(db) as store:  # after a restart
        assert [p.name for p in store.list()][-2:] == ["Tutor", "Terse"]
        store.save(Preset(name="tutor", temperature=0.9))  # same name, any case: replaced
        assert store.get("TUTOR").temperature == 0.9
        assert [p.name for p in store.list()].count("tutor") == 1
        assert store.delete("Terse") and not store.delete("Terse")
        assert not store.delete("Code")  # a built-in stays
        with pytest.raises(
            UnknownPresetError, match="no preset named 'Terse'; the presets are Precise"
        ):
            store.get("Terse")


def test_built_in_names_cannot_be_taken(store: PresetStore) -> None:
    with pytest.raises(ValueError, match="'precise' is a built-in preset"):
        store.save(Preset(name="precise", temperature=1.5))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "temperature": 3}, "temperature must be a number from 0.0 to 2.0"),
        ({"name": "x", "top_p": 0}, "top_p must be a number above 0.0"),
        ({"name": "x", "max_tokens": 1.5}, "max_tokens must be a whole number"),
        ({"name": "x", "preference": "fastest"}, "unknown preference 'fastest'"),
        ({"name": "x", "preference": 2}, "preference must be text"),
        ({"name": "x", "tier": "HUGE"}, "unknown tier 'HUGE'"),
        ({"name": "x", "system_prompt": ["a"]}, "system_prompt must be text"),
        ({"name": "x", "colour": "red"}, "unknown preset fields: colour"),
        ({"name": "   "}, "a preset name must be 1 to 40 characters"),
        ({"name": 7}, "name and description must be text"),
        (["name"], "must be a JSON object"),
    ],
)
def test_a_bad_preset_is_refused_naming_the_field(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Preset.from_json(data)


def test_json_round_trip() -> None:
    preset = Preset(
        name="Mine",
        description="for me",
        system_prompt="Hi",
        temperature=0.3,
        top_p=0.5,
        max_tokens=99,
        preference=Preference.SPEED,
        tier=Tier.SMALL,
    )
    assert Preset.from_json(preset.to_json()) == preset
    assert preset.summary() == (
        "for me (temperature 0.3, top-p 0.5, max 99 tokens, prefers speed, always SMALL (3B), "
        "own system prompt)"
    )


def test_a_row_edited_by_hand_is_skipped_not_fatal(tmp_path: Path) -> None:
    db = tmp_path / "bizra.db"
    with PresetStore(db) as store:
        store.save(Preset(name="Good", temperature=0.4))
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO presets (name, body, created_at) "
            "VALUES ('Bad', '{\"temperature\": 9}', 'x')"
        )
        conn.execute(
            "INSERT INTO presets (name, body, created_at) VALUES ('Junk', 'not json', 'x')"
        )
    with PresetStore(db) as store:
        assert [p.name for p in store.list()][-1:] == ["Good"]
