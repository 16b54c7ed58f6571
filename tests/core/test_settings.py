"""The settings schema: defaults, validation, repair of bad files, migrations, atomic saves."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bizra_desktop.core import settings as settings_module
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.settings import (
    SCHEMA_VERSION,
    Settings,
    load_settings,
    migrate,
    save_settings,
)
from bizra_desktop.core.tiers import Tier

# Function-scoped tmp_path is fine here: every example overwrites the one file it uses.
FILE_PER_TEST = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)

VALID_SETTINGS = st.builds(
    Settings,
    system_prompt=st.text(st.characters(exclude_categories=())),  # lone surrogates too
    temperature=st.floats(0.0, 2.0),
    top_p=st.floats(0.0, 1.0, exclude_min=True),
    max_tokens=st.integers(1, 32768),
    n_ctx=st.integers(256, 131072),
    n_threads=st.integers(0, 256),
    n_gpu_layers=st.none() | st.integers(-1, 999),
    tier_pin=st.sampled_from(["auto", *(tier.name.lower() for tier in Tier)]),
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


# --- defaults and the schema -------------------------------------------------------------------


def test_a_missing_file_gives_the_defaults(path: Path) -> None:
    loaded = load_settings(path)

    assert loaded == Settings()
    assert loaded.schema_version == SCHEMA_VERSION == 1
    assert loaded.sampling() == SamplingParams(temperature=0.7, top_p=0.9, max_tokens=512)
    assert loaded.pinned_tier() is None
    assert not path.exists()


def test_the_default_path_is_inside_the_test_home(bizra_home: Path) -> None:
    assert data_paths().settings == bizra_home.resolve() / "settings.json"


def test_every_field_has_a_rule() -> None:
    names = {field.name for field in dataclasses.fields(Settings)}
    assert settings_module._RULES.keys() == names - {"schema_version"}


def test_sampling_and_pin_follow_the_settings() -> None:
    chosen = Settings(temperature=0.2, top_p=0.5, max_tokens=64, tier_pin="medium")

    assert chosen.sampling() == SamplingParams(temperature=0.2, top_p=0.5, max_tokens=64)
    assert chosen.pinned_tier() is Tier.MEDIUM


# --- saving and loading ------------------------------------------------------------------------


@FILE_PER_TEST
@given(chosen=VALID_SETTINGS)
def test_any_valid_settings_round_trip(path: Path, chosen: Settings) -> None:
    save_settings(path, chosen)

    assert load_settings(path) == chosen


def test_save_creates_the_folder_and_leaves_no_temporary_file(path: Path) -> None:
    save_settings(path, Settings(temperature=1.0))
    save_settings(path, Settings(temperature=1.5))  # over an existing file

    assert os.listdir(path.parent) == ["settings.json"]
    assert load_settings(path).temperature == 1.5
    assert json.loads(path.read_text(encoding="utf-8"))["schema_version"] == SCHEMA_VERSION


def test_a_failed_save_keeps_the_old_file_and_cleans_up(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(path, Settings(max_tokens=100))

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(f"{dst} is locked")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        save_settings(path, Settings(max_tokens=200))
    monkeypatch.undo()

    assert os.listdir(path.parent) == ["settings.json"]
    assert load_settings(path).max_tokens == 100


# --- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"temperature": 0.3,',  # cut short
        b"\xff\xfe not UTF-8",
        b'["a", "list"]',
        b"[" * 100_000 + b"]" * 100_000,  # nesting too deep for the parser
        b"",
    ],
)
def test_a_corrupt_file_is_kept_aside_and_defaults_used(
    path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    with caplog.at_level(logging.WARNING, logger="bizra_desktop.core.settings"):
        loaded = load_settings(path)

    assert loaded == Settings()
    assert not path.exists()
    (aside,) = path.parent.iterdir()
    assert aside.name.startswith("settings.json.corrupt-")
    assert aside.read_bytes() == content
    assert str(aside) in caplog.text
    # The next save writes a fresh file beside the kept one.
    save_settings(path, loaded)
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json", aside.name]


def test_unknown_keys_are_ignored(path: Path) -> None:
    write_json(path, {"schema_version": 1, "temperature": 0.1, "font_size": 14, "": None})

    assert load_settings(path) == Settings(temperature=0.1)


@pytest.mark.parametrize(
    ("stored", "loaded"),
    [
        ({"temperature": 5}, {"temperature": 2.0}),  # clamped
        ({"temperature": -1}, {"temperature": 0.0}),
        ({"temperature": 1}, {"temperature": 1.0}),  # an int where a float goes is fine
        ({"temperature": 10**400}, {"temperature": 2.0}),  # beyond a float's range
        ({"temperature": "hot"}, {}),  # not a number: the default
        ({"temperature": True}, {}),  # JSON true is not a number
        ({"temperature": None}, {}),
        ({"top_p": 7.5}, {"top_p": 1.0}),
        ({"top_p": 0}, {}),  # must be above 0: nothing to clamp to
        ({"top_p": -3}, {}),
        ({"max_tokens": 10**9}, {"max_tokens": 32768}),
        ({"max_tokens": 0}, {"max_tokens": 1}),
        ({"max_tokens": 100.5}, {}),  # not a whole number
        ({"n_ctx": 16}, {"n_ctx": 256}),
        ({"n_threads": -4}, {"n_threads": 0}),
        ({"n_gpu_layers": None}, {"n_gpu_layers": None}),
        ({"n_gpu_layers": -9}, {"n_gpu_layers": -1}),
        ({"n_gpu_layers": 33}, {"n_gpu_layers": 33}),
        ({"n_gpu_layers": "all"}, {}),
        ({"tier_pin": " LARGE "}, {"tier_pin": "large"}),
        ({"tier_pin": "huge"}, {}),
        ({"tier_pin": 3}, {}),
        ({"system_prompt": ["not", "text"]}, {}),
        ({"system_prompt": "Be brief."}, {"system_prompt": "Be brief."}),
    ],
)
def test_bad_values_are_clamped_or_reset(
    path: Path, stored: dict[str, Any], loaded: dict[str, Any]
) -> None:
    write_json(path, {"schema_version": 1, **stored})

    assert load_settings(path) == Settings(**loaded)


def test_nan_is_reset(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text('{"temperature": NaN, "top_p": Infinity}', encoding="utf-8")

    assert load_settings(path) == Settings(top_p=1.0)


@FILE_PER_TEST
@given(data=st.dictionaries(st.sampled_from(sorted(settings_module._RULES)), JSON_VALUES))
def test_no_file_content_crashes_loading(path: Path, data: dict[str, Any]) -> None:
    write_json(path, {"schema_version": 1, **data})

    loaded = load_settings(path)

    # What comes back is valid: building it again passes every check.
    assert Settings(**dataclasses.asdict(loaded)) == loaded


# --- checked changes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("temperature", 2.5, "temperature must be a number from 0.0 to 2.0, not 2.5"),
        ("temperature", float("nan"), "temperature must be a number"),
        ("top_p", 0.0, "top_p must be a number above 0.0 and at most 1.0, not 0.0"),
        ("max_tokens", 0, "max_tokens must be a whole number from 1 to 32768, not 0"),
        ("max_tokens", 12.0, "max_tokens must be a whole number"),
        ("n_ctx", 200_000, "n_ctx must be a whole number from 256 to 131072"),
        ("n_threads", -1, "n_threads must be a whole number from 0 to 256"),
        ("n_gpu_layers", -2, "n_gpu_layers must be empty \\(auto\\) or a whole number"),
        ("tier_pin", "huge", "tier_pin must be one of auto, nano, micro, small, medium, large"),
        ("system_prompt", None, "system_prompt must be text"),
        ("schema_version", 2, "schema_version must be 1"),
    ],
)
def test_with_changes_names_the_bad_field(field: str, value: Any, error: str) -> None:
    with pytest.raises(ValueError, match=f"^{error}"):
        Settings().with_changes(**{field: value})


def test_with_changes_normalises_and_keeps_the_rest() -> None:
    changed = Settings(system_prompt="keep").with_changes(temperature=1, tier_pin="Small")

    assert changed.temperature == 1.0
    assert isinstance(changed.temperature, float)
    assert changed.tier_pin == "small"
    assert changed.system_prompt == "keep"


def test_an_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        Settings().with_changes(colour="blue")


# --- migrations --------------------------------------------------------------------------------


def test_migrate_runs_the_steps_in_order_and_skips_versions_without_one() -> None:
    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "steps": [*data["steps"], "1→2"]}

    def v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "steps": [*data["steps"], "3→4"]}

    steps = {1: v1_to_v2, 3: v3_to_v4}

    assert migrate({"steps": []}, 1, steps, target=4) == {"steps": ["1→2", "3→4"]}
    assert migrate({"steps": []}, 2, steps, target=4) == {"steps": ["3→4"]}
    assert migrate({"steps": []}, 4, steps, target=4) == {"steps": []}  # current: untouched
    assert migrate({"steps": []}, 9, steps, target=4) == {"steps": []}  # newer: untouched


def test_load_migrates_an_old_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A made-up version 0 that called temperature "temp".
    def rename_temp(data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        data["temperature"] = data.pop("temp")
        return data

    monkeypatch.setitem(settings_module.MIGRATIONS, 0, rename_temp)
    write_json(path, {"schema_version": 0, "temp": 1.25})

    assert load_settings(path) == Settings(temperature=1.25)


@pytest.mark.parametrize("version", [None, "1", 0, 99])
def test_files_of_other_or_no_versions_are_read(path: Path, version: Any) -> None:
    # No version (or a bad one) counts as 0; v1 reads v0 unchanged; a newer file is read for
    # the keys this version knows.
    data = {"max_tokens": 64, "new_in_v99": True}
    write_json(path, data if version is None else {"schema_version": version, **data})

    assert load_settings(path) == Settings(max_tokens=64)
