"""The user's settings: one typed, versioned schema, persisted as JSON in the data folder.

Every Settings instance is valid: construction (and so dataclasses.replace and with_changes)
raises ValueError naming the field for a value out of range. Reading a file never raises for
its content: a bad value is clamped into range or falls back to its default.
The data folder itself comes from paths.py (BIZRA_HOME or platformdirs), never from this file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.tiers import Tier

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# MIGRATIONS[n] turns a version-n settings mapping into a version-(n+1) one. Only versions whose
# format changed need a step: a version without one passes through as it is. A file without
# schema_version predates versioning and counts as version 0, which v1 reads unchanged.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: Mapping[int, Migration] = {}

AUTO = "auto"
THEMES = ("system", "light", "dark")  # "system": light or dark as the operating system is


@dataclass(frozen=True, kw_only=True)
class Settings:
    schema_version: int = SCHEMA_VERSION
    system_prompt: str = ""  # empty: the model's own default
    temperature: float = 0.7
    top_p: float = 0.9
    max_tokens: int = 512
    n_ctx: int = 4096
    n_threads: int = 0  # 0: automatic (engine/threads.py); a number: always that many
    n_gpu_layers: int | None = None  # None: decided from the build and free VRAM; -1: all
    gpu_device: int | None = None  # None: every GPU; else the index nvidia-smi shows
    flash_attn: bool = True
    # Speculative decoding (core/engine/drafts.py): a smaller installed tier drafts for a
    # larger one; prompt lookup drafts from text the prompt quotes. Answers stay the same.
    draft_model: bool = True
    # Off: on the starter model and two CPU cores it measured 0.98x (docs/PERFORMANCE.md).
    prompt_lookup: bool = False
    tier_pin: str = AUTO  # or a Tier name, lowercase
    routing_preference: str = Preference.BALANCED.value  # quality | balanced | speed
    api_enabled: bool = False  # the window serves the local OpenAI-compatible API (core/api)
    api_port: int = 8765
    api_key: str = ""  # empty: the local API asks for no key
    # The first-run guide was finished (downloads started, or the starter model chosen): it
    # does not open by itself again; Help → First-run guide still opens it.
    first_run_done: bool = False
    theme: str = THEMES[0]

    def __post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise ValueError(
                f"schema_version must be {SCHEMA_VERSION}; load_settings migrates older files"
            )
        for name, rule in _RULES.items():
            try:
                value = rule.check(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name} {exc}") from None
            # Normalised (1 → 1.0, "Small" → "small"); frozen, so through object.__setattr__.
            object.__setattr__(self, name, value)

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with `changes`; ValueError naming the field if a value is out of range."""
        return replace(self, **changes)

    def sampling(self) -> SamplingParams:
        return SamplingParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens
        )

    def preference(self) -> Preference:
        return Preference(self.routing_preference)

    def pinned_tier(self) -> Tier | None:
        """The tier every prompt goes to, or None when the selector decides ("auto")."""
        return None if self.tier_pin == AUTO else Tier.parse(self.tier_pin)


def load_settings(path: Path) -> Settings:
    """The settings in `path`; defaults when it is missing.

    A file that is not a JSON object is renamed to NAME.corrupt-<UTC time> (kept for the user,
    and out of the way of the next save) and defaults are returned. Unknown keys are ignored,
    bad values repaired (see Settings). A file from a newer app is read for the keys this one
    knows; saving then writes the current version.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    try:
        data = json.loads(raw)
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; absurd nesting is a RecursionError.
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        _keep_aside(path)
        return Settings()
    version = data.get("schema_version")
    data = migrate(data, version if type(version) is int else 0)
    defaults = Settings()
    repaired = {
        name: rule.repair(data[name], getattr(defaults, name))
        for name, rule in _RULES.items()
        if name in data
    }
    return Settings(**repaired)


def save_settings(path: Path, settings: Settings) -> None:
    """Write `settings` to `path` atomically: a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # ensure_ascii (the default) escapes non-ASCII text, so any str, a lone surrogate included,
    # survives the UTF-8 file exactly.
    text = json.dumps(asdict(settings), indent=2) + "\n"
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            # On disk before the rename, or a crash could leave an empty file under the real name.
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def migrate(
    data: dict[str, Any],
    version: int,
    migrations: Mapping[int, Migration] = MIGRATIONS,
    target: int = SCHEMA_VERSION,
) -> dict[str, Any]:
    """Bring a version-`version` settings mapping up to `target` through `migrations`."""
    for step in range(version, target):
        if step in migrations:
            data = migrations[step](data)
    return data


class _Rule(ABC):
    """What one field may hold."""

    @abstractmethod
    def check(self, value: Any) -> Any:
        """The value, normalised; ValueError ending "… must be <what is allowed>" otherwise."""

    def repair(self, value: Any, default: Any) -> Any:
        """For a value read from the file: the value if allowed, else the default."""
        try:
            return self.check(value)
        except ValueError:
            return default


@dataclass(frozen=True)
class _Number(_Rule):
    kind: type[int] | type[float]
    low: float
    high: float
    low_open: bool = False  # `low` itself is not allowed (top_p > 0)
    optional: bool = False  # None (auto) is allowed too

    def check(self, value: Any) -> int | float | None:
        if value is None and self.optional:
            return None
        number = self._number(value)
        if number is None or not self._inside(number):
            raise ValueError(f"must be {self._describe()}, not {value!r}")
        return number

    def repair(self, value: Any, default: Any) -> Any:
        """An out-of-range number is clamped to the nearest allowed one."""
        number = self._number(value)
        if number is None or (self.low_open and number <= self.low):
            return super().repair(value, default)  # None where it means auto, else the default
        return self.kind(min(max(number, self.low), self.high))

    def _number(self, value: Any) -> int | float | None:
        # bool is an int to Python, but `true` in a settings file is not a number.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if self.kind is int:
            return value if isinstance(value, int) else None
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            number = math.inf if value > 0 else -math.inf
        return None if math.isnan(number) else number

    def _inside(self, number: float) -> bool:
        above_low = number > self.low if self.low_open else number >= self.low
        return above_low and number <= self.high

    def _describe(self) -> str:
        noun = "a whole number" if self.kind is int else "a number"
        low, high = self.kind(self.low), self.kind(self.high)
        interval = f"above {low} and at most {high}" if self.low_open else f"from {low} to {high}"
        auto = "empty (auto) or " if self.optional else ""
        return f"{auto}{noun} {interval}"


class _Text(_Rule):
    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be text, not {value!r}")
        return value


class _Choice(_Rule):
    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def check(self, value: Any) -> str:
        choice = value.strip().lower() if isinstance(value, str) else None
        if choice not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
        return choice


class _Flag(_Rule):
    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value


# What an `Authorization: Bearer KEY` header can carry intact: printable ASCII, no spaces.
_API_KEY = re.compile(r"[\x21-\x7e]*")


def valid_api_key(key: str) -> bool:
    """Empty (no key), or printable ASCII without spaces."""
    return _API_KEY.fullmatch(key) is not None


class _ApiKey(_Rule):
    def check(self, value: Any) -> str:
        # The message leaves the value out: it may be a secret.
        if not isinstance(value, str) or not valid_api_key(value):
            raise ValueError("must be printable ASCII without spaces, or empty for no key")
        return value


# Every field but schema_version (a test holds this list to the dataclass).
_RULES: dict[str, _Rule] = {
    "system_prompt": _Text(),
    "temperature": _Number(float, 0.0, 2.0),
    "top_p": _Number(float, 0.0, 1.0, low_open=True),
    "max_tokens": _Number(int, 1, 32768),
    "n_ctx": _Number(int, 256, 131072),
    "n_threads": _Number(int, 0, 256),
    "n_gpu_layers": _Number(int, -1, 999, optional=True),
    "gpu_device": _Number(int, 0, 63, optional=True),
    "flash_attn": _Flag(),
    "draft_model": _Flag(),
    "prompt_lookup": _Flag(),
    "tier_pin": _Choice((AUTO, *(tier.name.lower() for tier in Tier))),
    "routing_preference": _Choice(tuple(p.value for p in Preference)),
    "api_enabled": _Flag(),
    "api_port": _Number(int, 1, 65535),
    "api_key": _ApiKey(),
    "first_run_done": _Flag(),
    "theme": _Choice(THEMES),
}


def _keep_aside(path: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        log.warning("settings file %s is unreadable and could not be moved aside: %s", path, exc)
    else:
        log.warning("settings file %s was unreadable; kept as %s, using defaults", path, aside)
