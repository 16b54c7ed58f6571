"""The user's quality ↔ speed preference for routing."""

from __future__ import annotations

from enum import StrEnum


class Preference(StrEnum):
    """How much worse a too-small model is than a too-slow one: `quality` routes up sooner,
    `speed` later; `balanced` is the default."""

    QUALITY = "quality"
    BALANCED = "balanced"
    SPEED = "speed"

    @classmethod
    def parse(cls, text: str) -> Preference:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise ValueError(f"unknown preference {text!r}; expected one of {names}") from None
