"""The impact accumulator: every answer's impact score summed into SEED → BLOOM → FRUIT.

Computed from the verified chain only, in the same walk as `ReceiptChain.verify`: receipts are
counted up to the first one that fails; if the chain breaks somewhere no receipt can be blamed
(its checkpoint does not verify), nothing is counted. Editing an impact, inserting or appending a
receipt outside the app therefore cannot raise the total.

Each receipt counts the impact its own fields give (complexity, tokens/s, tokens: core/impact.py),
not the number it states: a receipt whose stated impact disagrees is listed in `disagreements`
(`bizra receipts verify` and `receipts impact` name them), and one whose fields give no impact
(an unknown complexity, a malformed body) counts nothing and is listed too.

Stages (thresholds on the accumulated impact; docs/RECEIPTS.md gives the reasoning):
  SEED   below 10    (one answer scores 0.1 to 1.0, a typical one 0.3 to 0.5: the first ~25 answers)
  BLOOM  10 to 100
  FRUIT  100 and above (a few hundred answers, weeks of regular use)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.record import (
    INFERENCE,
    ImpactFields,
    ReceiptFormatError,
    impact_agrees,
)


class Stage(Enum):
    SEED = "SEED"
    BLOOM = "BLOOM"
    FRUIT = "FRUIT"


# Lowest total that reaches each stage, in order.
STAGE_THRESHOLDS: tuple[tuple[Stage, float], ...] = (
    (Stage.SEED, 0.0),
    (Stage.BLOOM, 10.0),
    (Stage.FRUIT, 100.0),
)
UNKNOWN = "unknown"  # the day or tier of a receipt that does not say


def stage_for(total: float) -> Stage:
    stage = Stage.SEED
    for candidate, threshold in STAGE_THRESHOLDS:
        if total >= threshold:
            stage = candidate
    return stage


@dataclass(frozen=True)
class Totals:
    receipts: int
    impact: float


@dataclass(frozen=True)
class DayTotals:
    day: str  # UTC date, YYYY-MM-DD (or "unknown")
    receipts: int
    impact: float
    cumulative: float  # the total up to and including this day: the chart's line


@dataclass(frozen=True, kw_only=True)
class ImpactDisagreement:
    """A receipt whose stated impact is not what its own fields give."""

    seq: int
    stated: float | None  # None: the body states no number
    recomputed: float | None  # None: its fields give none (see problem)
    problem: str | None = None  # why nothing could be recomputed

    def describe(self) -> str:
        if self.recomputed is None:
            return f"receipt #{self.seq}: its impact cannot be recomputed ({self.problem})"
        return (
            f"receipt #{self.seq} states impact {self.stated} but its fields give {self.recomputed}"
        )


@dataclass(frozen=True, kw_only=True)
class ImpactLedger:
    total: float
    stage: Stage
    receipts: int  # inference receipts counted
    per_day: tuple[DayTotals, ...]  # oldest first; only days with receipts
    per_tier: Mapping[str, Totals]
    verified: bool  # False: totals stop before the first bad receipt, or are zero
    problem: str | None  # the verification message when not verified
    # Counted receipts whose stated impact is not what their fields give, in chain order.
    disagreements: tuple[ImpactDisagreement, ...] = ()

    @property
    def next_stage(self) -> tuple[Stage, float] | None:
        """The next stage and the impact still needed to reach it; None at the last stage."""
        later = [(s, t) for s, t in STAGE_THRESHOLDS if t > self.total]
        return (later[0][0], round(later[0][1] - self.total, 4)) if later else None


Entry = tuple[int, str, str, float]  # seq, day, tier, impact


class ImpactWalk:
    """What each receipt adds, collected as `ReceiptChain.verify` walks the chain (pass
    `visit`): `accumulate` sums it, `bizra receipts verify` names the disagreements."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.disagreements: list[ImpactDisagreement] = []

    def visit(self, seq: int, body: dict[str, Any]) -> None:
        entry, disagreement = _entry(seq, body)
        if entry is not None:
            self.entries.append(entry)
        if disagreement is not None:
            self.disagreements.append(disagreement)


def accumulate(
    chain: ReceiptChain, progress: Callable[[int, int], None] | None = None
) -> ImpactLedger:
    """The ledger of `chain`, verifying it on the way (about as long as `verify`)."""
    walk = ImpactWalk()
    report = chain.verify(progress=progress, visit=walk.visit)
    stop = math.inf if report.ok else report.first_bad_seq or 0  # no one to blame: nothing
    ledger = summarize(entry for entry in walk.entries if entry[0] < stop)
    return replace(
        ledger,
        verified=report.ok,
        problem=None if report.ok else report.message,
        disagreements=tuple(found for found in walk.disagreements if found.seq < stop),
    )


def summarize(entries: Iterable[Entry]) -> ImpactLedger:
    """Totals over entries already verified, in chain order."""
    days: dict[str, list[float]] = {}
    tiers: dict[str, list[float]] = {}
    for _, day, tier, impact in entries:
        days.setdefault(day, []).append(impact)
        tiers.setdefault(tier, []).append(impact)
    per_day, running = [], 0.0
    for day in sorted(days):
        day_total = math.fsum(days[day])
        running += day_total
        per_day.append(DayTotals(day, len(days[day]), _round(day_total), _round(running)))
    total = _round(running)
    per_tier = {
        tier: Totals(len(values), _round(math.fsum(values))) for tier, values in tiers.items()
    }
    return ImpactLedger(
        total=total,
        stage=stage_for(total),
        receipts=sum(len(values) for values in days.values()),
        per_day=tuple(per_day),
        per_tier=MappingProxyType(dict(sorted(per_tier.items()))),
        verified=True,
        problem=None,
    )


def _entry(seq: int, body: dict[str, Any]) -> tuple[Entry | None, ImpactDisagreement | None]:
    """What one receipt adds (inference receipts only): the impact its fields give, and a
    disagreement when it states another (or its fields give none, and it counts nothing)."""
    if body.get("type") != INFERENCE:
        return None, None
    try:
        fields = ImpactFields.from_body(body)
    except ReceiptFormatError as error:
        stated = body.get("impact")
        if isinstance(stated, bool) or not isinstance(stated, int | float):
            stated = None
        return None, ImpactDisagreement(seq=seq, stated=stated, recomputed=None, problem=str(error))
    recomputed = fields.recomputed
    if recomputed is None:
        problem = f"unknown complexity {fields.complexity!r}"
        return None, ImpactDisagreement(
            seq=seq, stated=fields.stated, recomputed=None, problem=problem
        )
    entry = (seq, _day(fields.timestamp), fields.tier, recomputed)
    if impact_agrees(fields.stated, recomputed):
        return entry, None
    return entry, ImpactDisagreement(seq=seq, stated=fields.stated, recomputed=recomputed)


def _day(timestamp: object) -> str:
    if isinstance(timestamp, str):
        try:
            return date.fromisoformat(timestamp[:10]).isoformat()
        except ValueError:
            pass
    return UNKNOWN


def _round(value: float) -> float:
    return round(value, 4)  # impacts carry four decimals; sums should not show float noise
