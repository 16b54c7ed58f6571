"""Escalations ("Ask a bigger model") remembered as routing feedback, per kind of prompt.

The rule: a kind of prompt is boosted one tier once the user has escalated at least `threshold`
prompts of that kind since its memory was last reset. The boost is never more than one tier and
stays until the user resets it: once prompts of the kind start higher, the user escalates them
less, and a boost that faded on its own would bring the same complaints straight back.
"""

from __future__ import annotations

from pathlib import Path

from bizra_desktop.core.db import Migration, SqliteStore, utc_now
from bizra_desktop.core.tiers import Tier

_MIGRATIONS: tuple[Migration, ...] = (
    (
        """CREATE TABLE escalations (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            kind       TEXT NOT NULL,  -- the caller's category of the prompt, e.g. 'code'
            from_tier  TEXT NOT NULL,  -- Tier names: stable if the enum is ever renumbered
            to_tier    TEXT NOT NULL,
            created_at TEXT NOT NULL   -- UTC ISO 8601, 'Z'
        )""",
        "CREATE INDEX escalations_by_kind ON escalations (kind)",
    ),
)


class EscalationMemory(SqliteStore):
    """The escalation table in the app database. Thread-safe."""

    def __init__(self, db_path: Path, threshold: int = 2) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1, not {threshold}")
        super().__init__(db_path, "escalations", _MIGRATIONS)
        self.threshold = threshold

    def record(self, kind: str, from_tier: Tier, to_tier: Tier) -> None:
        """Remember that the user asked for a bigger model than `from_tier` on a `kind` prompt."""
        if not kind:
            raise ValueError("an escalation needs the kind of prompt it was for")
        if to_tier <= from_tier:
            raise ValueError(f"{to_tier.name} is not bigger than {from_tier.name}")
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO escalations (kind, from_tier, to_tier, created_at) "
                "VALUES (?, ?, ?, ?)",
                (kind, from_tier.name, to_tier.name, utc_now()),
            )

    def boost(self, kind: str) -> tuple[int, str | None]:
        """(1, why) when prompts of `kind` should start one tier higher, else (0, None)."""
        count = self._count(kind)
        if count < self.threshold:
            return 0, None
        return 1, (
            f"you asked for a bigger model on {count} earlier prompts like this one "
            f"(kind {kind!r}); starting one tier higher"
        )

    def reset(self, kind: str | None = None) -> int:
        """Forget the escalations of `kind`, or of every kind; returns how many were forgotten."""
        with self.connection() as conn:
            if kind is None:
                cursor = conn.execute("DELETE FROM escalations")
            else:
                cursor = conn.execute("DELETE FROM escalations WHERE kind = ?", (kind,))
        return cursor.rowcount

    def summary(self) -> dict[str, int]:
        """Escalations remembered per kind, most first (for the settings page)."""
        with self.connection() as conn:
            rows = conn.execute(
                "SELECT kind, count(*) AS n FROM escalations GROUP BY kind ORDER BY n DESC, kind"
            ).fetchall()
        return dict(rows)

    def _count(self, kind: str) -> int:
        with self.connection() as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM escalations WHERE kind = ?", (kind,)
            ).fetchone()
        return int(count)
