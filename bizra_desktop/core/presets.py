"""Presets: named sets of system prompt, sampling and routing preference.

A preset overrides only what it names and leaves the rest to the user's settings, so "Code"
keeps the user's context size and threads. Four are built in; the user's own live in the app's
SQLite file. A conversation remembers the preset it was started with (ConversationStore), and
the CLI (`--preset`) and the local API (the `bizra` request field `preset`) take one by name.
Values are checked by the settings schema's own rules, so a preset can hold nothing the
Settings dialog would refuse.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bizra_desktop.core.db import Migration, SqliteStore, utc_now
from bizra_desktop.core.pipeline import RunOptions
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.settings import Settings
from bizra_desktop.core.tiers import Tier

_MIGRATIONS: tuple[Migration, ...] = (
    (
        """CREATE TABLE presets (
            name       TEXT PRIMARY KEY COLLATE NOCASE,
            body       TEXT NOT NULL,  -- JSON object: Preset.to_json() without the name
            created_at TEXT NOT NULL
        )""",
    ),
)

MAX_NAME_LENGTH = 40


@dataclass(frozen=True, kw_only=True)
class Preset:
    """What a preset sets; None everywhere it leaves the settings' value."""

    name: str
    description: str = ""
    system_prompt: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    preference: Preference | None = None
    tier: Tier | None = None  # a pinned tier; None routes automatically
    built_in: bool = False

    def __post_init__(self) -> None:
        name = " ".join(self.name.split())
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"a preset name must be 1 to {MAX_NAME_LENGTH} characters")
        object.__setattr__(self, "name", name)
        # The settings schema checks every value (ValueError naming the field).
        Settings().with_changes(**self._setting_changes())

    def _setting_changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "routing_preference": self.preference.value if self.preference else None,
        }
        return {key: value for key, value in changes.items() if value is not None}

    def applied_to(self, options: RunOptions) -> RunOptions:
        """The run options with this preset's values in place of theirs. Its tier pins only a
        run that routes automatically: a tier chosen for the run itself (the window's model
        picker, an API request's model, `--tier`) wins."""
        params = options.params
        return replace(
            options,
            params=replace(
                params,
                temperature=params.temperature if self.temperature is None else self.temperature,
                top_p=params.top_p if self.top_p is None else self.top_p,
                max_tokens=params.max_tokens if self.max_tokens is None else self.max_tokens,
            ),
            system_prompt=options.system_prompt
            if self.system_prompt is None
            else self.system_prompt,
            preference=self.preference or options.preference,
            pin=self.tier if options.pin is None else options.pin,
        )

    def summary(self) -> str:
        """One line for a menu's tooltip or `bizra presets list`."""
        parts = [
            f"temperature {self.temperature}" if self.temperature is not None else "",
            f"top-p {self.top_p}" if self.top_p is not None else "",
            f"max {self.max_tokens} tokens" if self.max_tokens is not None else "",
            f"prefers {self.preference.value}" if self.preference else "",
            f"always {self.tier.display}" if self.tier is not None else "",
            "own system prompt" if self.system_prompt else "",
        ]
        shown = ", ".join(part for part in parts if part) or "your settings as they are"
        return f"{self.description} ({shown})" if self.description else shown

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "preference": self.preference.value if self.preference else None,
            "tier": self.tier.name.lower() if self.tier is not None else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Preset:
        """A preset from JSON (a file, an API request); ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a preset must be a JSON object")
        unknown = set(data) - set(cls(name="x").to_json())
        if unknown:
            raise ValueError(f"unknown preset fields: {', '.join(sorted(map(str, unknown)))}")
        name, description = data.get("name"), data.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise ValueError("a preset's name and description must be text")
        preference, tier = data.get("preference"), data.get("tier")
        for field_name, value in (("preference", preference), ("tier", tier)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"a preset's {field_name} must be text, not {value!r}")
        return cls(
            name=name,
            description=description,
            system_prompt=data.get("system_prompt"),
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            max_tokens=data.get("max_tokens"),
            preference=Preference.parse(preference) if preference is not None else None,
            tier=Tier.parse(tier) if tier is not None else None,
        )


_CODE_PROMPT = (
    "You are a careful programmer. Answer with complete, correct code in fenced code blocks "
    "that name their language, then explain briefly."
)
_DEFAULT = Settings()
_BUILT_IN_ROWS: tuple[tuple[str, str, float, float, Preference, str | None], ...] = (
    # name, description, temperature, top-p, preference, system prompt
    ("Precise", "facts and careful reasoning", 0.2, 0.9, Preference.QUALITY, None),
    ("Balanced", "the defaults", _DEFAULT.temperature, _DEFAULT.top_p, Preference.BALANCED, None),
    ("Creative", "stories, ideas, variety", 1.0, 0.95, Preference.BALANCED, None),
    ("Code", "programming", 0.2, 0.95, Preference.QUALITY, _CODE_PROMPT),
)
BUILT_IN: tuple[Preset, ...] = tuple(
    Preset(
        name=name,
        description=description,
        temperature=temperature,
        top_p=top_p,
        preference=preference,
        system_prompt=system_prompt,
        built_in=True,
    )
    for name, description, temperature, top_p, preference, system_prompt in _BUILT_IN_ROWS
)


class UnknownPresetError(LookupError):
    def __init__(self, name: str, known: builtins.list[str]) -> None:
        super().__init__(f"no preset named {name!r}; the presets are {', '.join(known)}")


class PresetStore(SqliteStore):
    """The built-in presets and the user's own, in the app's SQLite file. Thread-safe."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path, "presets", _MIGRATIONS)

    def list(self) -> builtins.list[Preset]:
        """The built-in presets, then the user's in the order they were made."""
        with self.connection() as conn:
            rows = conn.execute("SELECT name, body FROM presets ORDER BY rowid").fetchall()
        stored = (_stored(name, body) for name, body in rows)
        return [*BUILT_IN, *(preset for preset in stored if preset is not None)]

    def get(self, name: str) -> Preset:
        """The preset called `name`, ignoring case; UnknownPresetError naming the others."""
        wanted = " ".join(name.split()).casefold()
        presets = self.list()
        for preset in presets:
            if preset.name.casefold() == wanted:
                return preset
        raise UnknownPresetError(name, [preset.name for preset in presets])

    def save(self, preset: Preset) -> Preset:
        """Add the preset, or replace the user's preset of that name."""
        if any(preset.name.casefold() == p.name.casefold() for p in BUILT_IN):
            raise ValueError(f"{preset.name!r} is a built-in preset; choose another name")
        body = {key: value for key, value in preset.to_json().items() if key != "name"}
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO presets (name, body, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET name = excluded.name, body = excluded.body",
                (preset.name, json.dumps(body), utc_now()),
            )
        return replace(preset, built_in=False)

    def delete(self, name: str) -> bool:
        """Delete the user's preset `name`; False when there is none (built-ins stay)."""
        with self.connection() as conn:
            cursor = conn.execute("DELETE FROM presets WHERE name = ?", (" ".join(name.split()),))
        return cursor.rowcount > 0


def _stored(name: str, body: str) -> Preset | None:
    """The stored preset; None for a row this version cannot use (edited by hand, or from a
    newer app), which is left in place rather than failing every list."""
    try:
        data = json.loads(body)
        return Preset.from_json({**data, "name": name}) if isinstance(data, dict) else None
    except (ValueError, LookupError):
        return None


def find_preset(db_path: Path, name: str) -> Preset:
    """The preset `name` in the app database at `db_path` (UnknownPresetError if none): for a
    command or a request that names one."""
    with PresetStore(db_path) as store:
        return store.get(name)
