"""The learned rater's weights, stored as JSON: boosted trees over the language-free features of
`features.extract`, plus linear weights of the hashed words.

The trees are an ordinal model: one ensemble of small trees per cut between two levels gives the
chance that the level is above that cut, and their sum is the expected level (0 … 4). Trees weigh
interactions a linear model cannot ("a greeting before a hard ask", "a long paste with a trivial
question"). They read only the language-free features, so a translation gets the same tree part
as its original; the words then add, linearly and at a small scale, what the trees left over.
A linear model of the same language-free features is kept beside the trees only to name the
reasons (its per-feature pushes).

`scripts/train_rater.py` writes `rater_weights.json` beside this module from the labelled corpus
in `data/routing/`; the app only reads it (no scikit-learn, no numpy, no network). Weights are
stored as integers (units of 1e-4), so a retrain on another machine writes the same bytes even
where its floating-point sums differ in the last bits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from bizra_desktop.core.routing.features import HASH_BITS, PromptFeatures
from bizra_desktop.core.routing.preference import Preference

WEIGHTS_PATH = Path(__file__).with_name("rater_weights.json")
FORMAT = "bizra-rater/2"
SCALE = 10_000


@dataclass(frozen=True)
class Contribution:
    feature: str  # a dense feature's name, or "word:<token>"
    amount: float


# A tree node: [feature index, threshold, left, right], left where the value <= threshold; a leaf
# is its value (log-odds).
Tree = list[Any] | float


@dataclass(frozen=True)
class Trees:
    """Boosted trees, one ensemble per cut between two levels: P(level > k) is the logistic of
    `biases[k]` plus the ensemble's leaves."""

    features: tuple[str, ...]  # the trees' inputs (dense feature names) by index
    biases: tuple[float, ...]
    ensembles: tuple[tuple[Tree, ...], ...]

    def expected_level(self, dense: dict[str, float]) -> float:
        index = _feature_index(self.features)
        x = [0.0] * len(self.features)
        for name, value in dense.items():
            at = index.get(name)
            if at is not None:
                x[at] = value
        total = 0.0
        for bias, ensemble_sum in zip(self.biases, self._ensemble_sums, strict=True):
            raw = ensemble_sum(x, bias)
            total += 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, raw))))
        return total

    @cached_property
    def _ensemble_sums(self) -> tuple[Callable[[list[float], float], float], ...]:
        """Each ensemble as one compiled expression of nested comparisons: walking 240 trees
        node by node in Python took half a millisecond a prompt, a quarter of the rater's time
        budget; the compiled form takes a tenth of that. The source holds only indices and
        numbers formatted here from the parsed weights, never text from the file."""
        sums = []
        for ensemble in self.ensembles:
            # `raw + t1 + t2 …` adds left to right: the same sums, bit for bit, as tree by tree.
            body = "".join(f" + {_expression(tree)}" for tree in ensemble)
            code = compile(f"lambda x, raw: raw{body}", "<rater trees>", "eval")
            sums.append(eval(code, {"__builtins__": {}}))  # numbers only: see above
        return tuple(sums)

    def to_document(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "biases": [round(b * SCALE) for b in self.biases],
            "ensembles": [[_stored(t) for t in ensemble] for ensemble in self.ensembles],
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Trees:
        return cls(
            features=tuple(document["features"]),
            biases=tuple(b / SCALE for b in document["biases"]),
            ensembles=tuple(
                tuple(_loaded(t) for t in ensemble) for ensemble in document["ensembles"]
            ),
        )


@cache
def _feature_index(features: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(features)}


def _stored(node: Tree) -> Any:
    """Leaves as integers (units of 1e-4), thresholds rounded to 1e-6: the same bytes on any
    machine whose sums differ in the last bits."""
    if isinstance(node, list):
        return [node[0], round(node[1], 6), _stored(node[2]), _stored(node[3])]
    return round(node * SCALE)


def _expression(node: Tree) -> str:
    if isinstance(node, list):
        index, threshold = int(node[0]), float(node[1])
        left, right = _expression(node[2]), _expression(node[3])
        return f"({left} if x[{index}] <= {threshold!r} else {right})"
    return repr(float(node))


def _loaded(node: Any) -> Tree:
    if isinstance(node, list):
        return [int(node[0]), _finite(node[1]), _loaded(node[2]), _loaded(node[3])]
    return _finite(node) / SCALE


def _finite(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a rater tree holds {value!r}, not a finite number")
    return number


@dataclass(frozen=True)
class RaterModel:
    intercept: float  # the words' intercept, added to the trees' expected level
    dense: dict[str, float]  # linear weights of the dense features: the reasons only
    hashed: dict[int, float]
    hash_scale: float  # hashed features are multiplied by this before their weights
    sigma: float  # cross-validated spread of (label - score): the score's uncertainty
    cut_points: dict[Preference, tuple[float, ...]]  # four score cuts between the levels
    trained_on: dict[str, Any]  # provenance: rows, sources, label counts, corpus digest
    trees: Trees

    def score(self, features: PromptFeatures) -> float:
        """The expected level, 0 trivial … 4 expert."""
        hashed = self.hashed
        words = 0.0
        for index, value in features.hashed.items():
            words += hashed.get(index, 0.0) * value
        return self.trees.expected_level(features.dense) + self.intercept + words * self.hash_scale

    def contributions(self, features: PromptFeatures, least: float = 0.0) -> list[Contribution]:
        """Each feature's push, largest first (for the reasons): the linear weights of the
        dense features, the words' share of the score; words whose share is below `least` are
        left out (a long prompt has hundreds)."""
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
            "trees": self.trees.to_document(),
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
            trees=Trees.from_document(document["trees"]),
        )


@cache
def shipped_model() -> RaterModel:
    """The weights that ship with the app (read once)."""
    return RaterModel.from_json(WEIGHTS_PATH.read_text(encoding="utf-8"))
