"""The learned rater's weights: a linear model over `features.extract`, stored as JSON.

`scripts/train_rater.py` writes `rater_weights.json` beside this module from the labelled corpus
in `data/routing/`; the app only reads it (no scikit-learn, no numpy, no network). Weights are
stored as integers (units of 1e-4), so a retrain on another machine writes the same bytes even
where its floating-point sums differ in the last bits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bizra_desktop.core.routing.features import HASH_BITS, PromptFeatures
from bizra_desktop.core.routing.preference import Preference

WEIGHTS_PATH = Path(__file__).with_name("rater_weights.json")
FORMAT = "bizra-rater/1"
SCALE = 10_000


@dataclass(frozen=True)
class Contribution:
    feature: str  # a dense feature's name, or "word:<token>"
    amount: float


@dataclass(frozen=True)
class RaterModel:
    intercept: float
    dense: dict[str, float]
    hashed: dict[int, float]
    hash_scale: float  # hashed features are multiplied by this before their weights
    sigma: float  # cross-validated spread of (label - score): the score's uncertainty
    cut_points: dict[Preference, tuple[float, ...]]  # four score cuts between the levels
    trained_on: dict[str, Any]  # provenance: rows, sources, label counts, corpus digest

    def score(self, features: PromptFeatures) -> float:
        total = self.intercept
        dense = self.dense
        for name, value in features.dense.items():
            total += dense.get(name, 0.0) * value
        hashed = self.hashed
        words = 0.0
        for index, value in features.hashed.items():
            words += hashed.get(index, 0.0) * value
        return total + words * self.hash_scale

    def contributions(self, features: PromptFeatures, least: float = 0.0) -> list[Contribution]:
        """Each feature's share of the score, largest first (for the reasons); words whose
        share is below `least` are left out (a long prompt has hundreds)."""
        found = [
            Contribution(name, self.dense.get(name, 0.0) * value)
            for name, value in features.dense.items()
        ]
        hashed, scale, names = self.hashed, self.hash_scale, features.tokens
        for index, value in features.hashed.items():
            amount = hashed.get(index, 0.0) * value * scale
            if abs(amount) > least:
                found.append(Contribution(f"word:{names[index]}", amount))
        return sorted(found, key=lambda c: -abs(c.amount))

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "hash_bits": HASH_BITS,
            "intercept": round(self.intercept * SCALE),
            "hash_scale": round(self.hash_scale * SCALE),
            "sigma": round(self.sigma * SCALE),
            "cut_points": {
                p.value: [round(c * SCALE) for c in cuts] for p, cuts in self.cut_points.items()
            },
            "scale": SCALE,
            "dense": {k: round(v * SCALE) for k, v in sorted(self.dense.items())},
            "hashed": {str(k): round(v * SCALE) for k, v in sorted(self.hashed.items())},
            "trained_on": self.trained_on,
        }
        return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=0) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RaterModel:
        document = json.loads(text)
        if document.get("format") != FORMAT or document.get("hash_bits") != HASH_BITS:
            raise ValueError(
                f"rater weights are {document.get('format')!r} with "
                f"{document.get('hash_bits')} hash bits; this build reads {FORMAT!r} with "
                f"{HASH_BITS}"
            )
        scale = float(document["scale"])
        return cls(
            intercept=document["intercept"] / scale,
            dense={k: v / scale for k, v in document["dense"].items()},
            hashed={int(k): v / scale for k, v in document["hashed"].items()},
            hash_scale=document["hash_scale"] / scale,
            sigma=document["sigma"] / scale,
            cut_points={
                Preference(p): tuple(c / scale for c in cuts)
                for p, cuts in document["cut_points"].items()
            },
            trained_on=document["trained_on"],
        )


@cache
def shipped_model() -> RaterModel:
    """The weights that ship with the app (read once)."""
    return RaterModel.from_json(WEIGHTS_PATH.read_text(encoding="utf-8"))
