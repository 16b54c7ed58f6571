"""Training and evaluation helpers for the prompt rater (numpy and scipy: dev dependencies).

Used by `scripts/train_rater.py` (the shipped weights) and `benchmarks/routing_eval.py`
(leave-one-source-out and the proxy checks). The app never imports this module.

The model, in two stages, each row weighted so that no source drowns the others: boosted trees
over the language-free features (scikit-learn's HistGradientBoostingClassifier, one per cut
between levels: an ordinal model whose expected level is the score), then ridge regression of the
hashed words on what the trees leave (scipy's LSQR, deterministic), with a penalty on the
difference between each training translation's word score and its original's. A ridge
regression of the level on the language-free features is kept for the reasons only. Then, on
5-fold held-out predictions: the spread of the labels around the score (`sigma`) and, for each
preference, the cut points between levels that minimise the expected cost of routing
(a level too low costs `UNDER_COST[preference]` times a level too high).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack, vstack
from scipy.sparse.linalg import lsqr
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bizra_desktop.core.routing.features import HASH_BITS, extract  # noqa: E402
from bizra_desktop.core.routing.model import RaterModel, Tree, Trees  # noqa: E402
from bizra_desktop.core.routing.preference import Preference  # noqa: E402

# One BLAS thread: LSQR's vector norms summed by more threads differ in the last bits, enough to
# flip a weight's last stored digit; with one, the bytes do not depend on the machine's cores.
threadpool_limits(limits=1, user_api="blas")

DATA = ROOT / "data" / "routing"
LEVELS = ("trivial", "simple", "moderate", "complex", "expert")
UNDER_COST = {Preference.QUALITY: 4.0, Preference.BALANCED: 2.0, Preference.SPEED: 1.0}
SOURCE_CAP = 1500.0  # a source's rows weigh this much together at most
# ...except MMLU's model-correctness flags: the one measured "needs a strong model" signal, weak
# per row (one question's flag is noisy), so it needs more rows to show through.
SOURCE_CAPS = {"routellm_mmlu": 4500.0}
# Our own prompts cover what the public sets lack (greetings, traps, pastes): each counts as
# this many rows. The authored set counts half as much as the smaller hand-written sets: at 3
# its 1,211 rows outweighed GSM8K's 474 problems seven to one, and the rating lost its tie to a
# problem's solution steps (5-fold Spearman rho of the rating 0.30 → 0.19).
HAND_WRITTEN_WEIGHTS = {"handwritten": 3.0, "tricky": 3.0, "authored": 1.5}
# GSM8K's problems are the one measured signal of how many reasoning steps a prompt needs, and
# there are few of them: each counts as five rows (Spearman rho of the rating with steps
# 0.19 → 0.32 with the authored set at 1.5; chosen by 5-fold cross-validation among 1, 3, 5).
SOURCE_ROW_WEIGHTS = {"gsm8k": 5.0, **HAND_WRITTEN_WEIGHTS}
RIDGE = 1.0
HASH_SCALE = 0.3  # hashed words count this much against the language-free features
FOLDS = 5
# How strongly a translation's word score is pulled towards its original's (a penalty on their
# difference, per pair): words that only one language uses then carry less of a rating.
# Picked among 1, 5 and 20 on the evaluation translations, the tricky hold-out and the seed rows'
# margins (docs/ROUTING.md says so): 20 agreed slightly more, 5 kept the other two.
AGREEMENT = 5.0
PRUNE_BELOW = (
    0.03  # word weights smaller than this are dropped: a smaller file, fewer hash collisions
)
# The trees of each cut between levels, chosen by 5-fold cross-validation on the training rows
# (exactness on our own prompts, translation agreement, the proxy checks).
TREES = {
    "max_iter": 60,
    "learning_rate": 0.1,
    "max_depth": 4,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
}


@dataclass(frozen=True)
class Row:
    id: str
    source: str
    lang: str
    prompt: str
    level: int
    extra: dict[str, Any]


def _row(item: dict[str, Any], source: str | None = None) -> Row:
    known = {"id", "source", "lang", "prompt", "label", "complexity"}
    label = item.get("label", item.get("complexity"))
    return Row(
        id=str(item.get("id") or hashlib.sha256(item["prompt"].encode()).hexdigest()[:16]),
        source=source or item["source"],
        lang=item.get("lang", "en"),
        prompt=item["prompt"],
        level=LEVELS.index(label),
        extra={k: v for k, v in item.items() if k not in known},
    )


def _jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_training_rows() -> list[Row]:
    """The public corpus, translations of some of it, our hand-written set and the training
    half of the tricky set."""
    rows = [_row(item) for item in _jsonl(DATA / "corpus.jsonl.gz")]
    # A translation keeps its original's label: the same request is as hard in any language.
    originals = {row.id: row for row in rows}
    rows += [
        Row(
            id=f"{item['id']}@{item['lang']}",
            source="translated",
            lang=item["lang"],
            prompt=item["prompt"],
            level=originals[item["id"]].level,
            # Same fold as the original, so held-out figures never see a prompt's twin.
            extra={"label_by": originals[item["id"]].extra["label_by"], "group": item["id"]},
        )
        for item in _jsonl(DATA / "translations_train.jsonl")
    ]
    rows += [_row(item, "handwritten") for item in _jsonl(DATA / "handwritten.jsonl")]
    rows += [
        _row(item, "tricky") for item in _jsonl(DATA / "tricky.jsonl") if item["split"] == "train"
    ]
    rows += [_authored(item) for item in _jsonl(DATA / "authored.jsonl")]
    return rows


def _authored(item: dict[str, Any]) -> Row:
    """A row of the authors' set; both prompts of a minimal pair share a fold (`group`)."""
    row = _row(item, "authored")
    if "pair" in item:
        return replace(row, extra={**row.extra, "group": item["pair"]})
    return row


def load_tricky_holdout() -> list[Row]:
    return [
        _row(item, "tricky") for item in _jsonl(DATA / "tricky.jsonl") if item["split"] == "holdout"
    ]


def load_translations() -> list[dict[str, Any]]:
    return _jsonl(DATA / "translations.jsonl")


TRAINING_FILES = (
    "corpus.jsonl.gz",
    "translations_train.jsonl",
    "handwritten.jsonl",
    "tricky.jsonl",
    "authored.jsonl",
)


def corpus_digest() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_FILES:
        digest.update((DATA / name).read_bytes())
    return digest.hexdigest()


def row_weights(rows: Sequence[Row]) -> np.ndarray:
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[row.source] = sizes.get(row.source, 0) + 1
    weights = []
    for row in rows:
        weight = min(1.0, SOURCE_CAPS.get(row.source, SOURCE_CAP) / sizes[row.source])
        weight *= SOURCE_ROW_WEIGHTS.get(row.source, 1.0)
        weights.append(weight)
    return np.array(weights)


class Featurized:
    """Rows as one sparse matrix: the dense features' columns first, then the hash buckets."""

    def __init__(self, prompts: Iterable[str], dense_names: Sequence[str] | None = None) -> None:
        extracted = [extract(p) for p in prompts]
        if dense_names is None:
            dense_names = sorted({name for f in extracted for name in f.dense})
        self.dense_names = list(dense_names)
        column = {name: i for i, name in enumerate(self.dense_names)}
        offset = len(self.dense_names)
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        for features in extracted:
            for name, value in features.dense.items():
                if name in column:
                    indices.append(column[name])
                    data.append(value)
            for bucket, value in features.hashed.items():
                indices.append(offset + bucket)
                data.append(value * HASH_SCALE)
            indptr.append(len(indices))
        width = offset + (1 << HASH_BITS)
        self.matrix = csr_matrix(
            (np.array(data), np.array(indices), np.array(indptr)), shape=(len(extracted), width)
        )
        # Canonical column order in every row: a feature dict's order can follow set iteration
        # (salted per process), and sums in another order differ in the last bits.
        self.matrix.sort_indices()

    def rows(self, selected: np.ndarray) -> Featurized:
        subset = object.__new__(Featurized)
        subset.dense_names = self.dense_names
        subset.matrix = self.matrix[selected]
        return subset


@dataclass(frozen=True)
class Fit:
    intercept: float
    coefficients: np.ndarray  # per column of Featurized.matrix

    def predict(self, matrix: csr_matrix) -> np.ndarray:
        return np.asarray(matrix @ self.coefficients + self.intercept)


def _lsqr(
    matrix: csr_matrix,
    target: np.ndarray,
    weights: np.ndarray,
    ridge: float,
    agree: csr_matrix | None = None,
) -> Fit:
    """argmin Σ wᵢ (tᵢ - b - xᵢβ)² + ridge·|β|² + Σ (aⱼβ)², the intercept b (almost)
    unpenalised: it is a column of 1000s. `agree`: rows whose prediction should be zero (the
    difference of a translation and its original). LSQR with fixed tolerances and iteration
    limit: the same numbers every run."""
    root = np.sqrt(weights)
    mean = float(np.sum(weights * target) / np.sum(weights))
    scaled = csr_matrix(matrix.multiply(root[:, None]))
    anchor = csr_matrix(root[:, None] * 1000.0)
    design = hstack([anchor, scaled]).tocsr()
    goal = root * (target - mean)
    if agree is not None and agree.shape[0]:
        zero = csr_matrix((agree.shape[0], 1))
        design = vstack([design, hstack([zero, agree])]).tocsr()
        goal = np.concatenate([goal, np.zeros(agree.shape[0])])
    solution = lsqr(design, goal, damp=np.sqrt(ridge), atol=1e-10, btol=1e-10, iter_lim=4000)
    beta = solution[0]
    return Fit(intercept=mean + beta[0] * 1000.0, coefficients=beta[1:])


def _dense(features: Featurized) -> csr_matrix:
    return features.matrix[:, : len(features.dense_names)]


def _words(features: Featurized) -> csr_matrix:
    return features.matrix[:, len(features.dense_names) :]


def fit_reasons(features: Featurized, levels: np.ndarray, weights: np.ndarray) -> Fit:
    """The language-free features' linear pushes on the level: what the reasons name."""
    return _lsqr(_dense(features), levels, weights, RIDGE)


@dataclass(frozen=True)
class Stages:
    """The trees over the language-free features, then the words on what they leave."""

    trees: list[Any]  # one classifier per cut between levels: is the level above it?
    words: Fit  # over the hash buckets

    @classmethod
    def fit(
        cls, features: Featurized, levels: np.ndarray, weights: np.ndarray, pairs: np.ndarray
    ) -> Stages:
        """`pairs`: (original, translation) row indices whose word scores should agree."""
        dense = _dense(features).toarray()
        trees = []
        for cut in range(len(LEVELS) - 1):
            model = HistGradientBoostingClassifier(random_state=0, early_stopping=False, **TREES)
            model.fit(dense, (levels > cut).astype(int), sample_weight=weights)
            trees.append(model)
        residual = levels - _expected_level(trees, dense)
        words = _words(features)
        agree = (words[pairs[:, 0]] - words[pairs[:, 1]]) * np.sqrt(AGREEMENT)
        second = _lsqr(words, residual, weights, RIDGE, csr_matrix(agree))
        # Small word weights are dropped here, not only when saving, so that held-out figures
        # measure the model that ships.
        pruned = np.where(np.abs(second.coefficients) >= PRUNE_BELOW, second.coefficients, 0.0)
        return cls(trees, Fit(second.intercept, pruned))

    def predict(self, features: Featurized) -> np.ndarray:
        dense = _dense(features).toarray()
        return _expected_level(self.trees, dense) + self.words.predict(_words(features))


def _expected_level(trees: Sequence[Any], dense: np.ndarray) -> np.ndarray:
    return np.sum([model.predict_proba(dense)[:, 1] for model in trees], axis=0)


def folds_of(rows: Sequence[Row]) -> np.ndarray:
    """A fold per row, by a stable hash of its group (a FollowBench chain stays together, a
    translation goes with its original)."""
    groups = [str(row.extra.get("chain", row.extra.get("group", row.id))) for row in rows]
    return np.array([zlib.crc32(group.encode()) % FOLDS for group in groups])


def translation_pairs(rows: Sequence[Row]) -> np.ndarray:
    """(original, translation) row indices of the training translations."""
    at = {row.id: i for i, row in enumerate(rows)}
    pairs = [
        (at[str(row.extra["group"])], i)
        for i, row in enumerate(rows)
        if row.source == "translated" and str(row.extra.get("group")) in at
    ]
    return np.array(pairs, dtype=int).reshape(-1, 2)


def pairs_within(pairs: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """The pairs with both rows selected, as indices into the selected rows."""
    index = np.cumsum(selected) - 1
    both = selected[pairs[:, 0]] & selected[pairs[:, 1]]
    return index[pairs[both]].reshape(-1, 2)


def held_out_scores(
    features: Featurized,
    levels: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    pairs: np.ndarray,
) -> np.ndarray:
    scores = np.zeros(len(levels))
    for fold in range(FOLDS):
        test = folds == fold
        stages = Stages.fit(
            features.rows(~test), levels[~test], weights[~test], pairs_within(pairs, ~test)
        )
        scores[test] = stages.predict(features.rows(test))
    return scores


def _exported(node_index: int, nodes: np.ndarray) -> Tree:
    node = nodes[node_index]
    if node["is_leaf"]:
        return float(node["value"])
    return [
        int(node["feature_idx"]),
        float(node["num_threshold"]),
        _exported(int(node["left"]), nodes),
        _exported(int(node["right"]), nodes),
    ]


def export_trees(models: Sequence[Any], names: Sequence[str]) -> Trees:
    """scikit-learn's fitted trees as nested lists the app walks in pure Python."""
    return Trees(
        features=tuple(names),
        biases=tuple(float(np.ravel(m._baseline_prediction)[0]) for m in models),
        ensembles=tuple(
            tuple(_exported(0, predictors[0].nodes) for predictors in m._predictors) for m in models
        ),
    )


def model_scores(model: RaterModel, features: Featurized) -> np.ndarray:
    """`RaterModel.score` for featurized rows at once (the same arithmetic, in numpy)."""
    weights = np.zeros(features.matrix.shape[1] - len(features.dense_names))
    for bucket, weight in model.hashed.items():
        weights[bucket] = weight  # the matrix already holds the hash scale
    words = _words(features) @ weights
    trees = model.trees
    column = {name: i for i, name in enumerate(features.dense_names)}
    dense = _dense(features).toarray()
    x = np.zeros((len(words), len(trees.features)))
    for i, name in enumerate(trees.features):
        if name in column:
            x[:, i] = dense[:, column[name]]
    total = model.intercept + words
    for bias, ensemble in zip(trees.biases, trees.ensembles, strict=True):
        raw = np.full(len(words), bias)
        for tree in ensemble:
            raw += _walk_rows(tree, x, np.arange(len(words)))
        total += 1.0 / (1.0 + np.exp(-np.clip(raw, -60.0, 60.0)))
    return total


def _walk_rows(node: Tree, x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A tree's leaf values for the rows `at` (the result is indexed like x)."""
    out = np.zeros(len(x))
    if not isinstance(node, list):
        out[at] = node
        return out
    left = x[at, node[0]] <= node[1]
    return _walk_rows(node[2], x, at[left]) + _walk_rows(node[3], x, at[~left])


def expected_cost(levels: np.ndarray, chosen: np.ndarray, under: float) -> np.ndarray:
    gap = chosen - levels
    return np.where(gap < 0, -gap * under, gap)


@dataclass(frozen=True)
class Calibration:
    """What a score says about the level: level ≈ N(offset + slope·score, sigma²), fitted on
    held-out scores (ridge shrinks scores towards the middle; the slope undoes that)."""

    offset: float
    slope: float
    sigma: float

    @classmethod
    def fit(cls, scores: np.ndarray, levels: np.ndarray, weights: np.ndarray) -> Calibration:
        mean_s = np.sum(weights * scores) / np.sum(weights)
        mean_y = np.sum(weights * levels) / np.sum(weights)
        slope = np.sum(weights * (scores - mean_s) * (levels - mean_y)) / np.sum(
            weights * (scores - mean_s) ** 2
        )
        offset = mean_y - slope * mean_s
        residual = levels - (offset + slope * scores)
        sigma = np.sqrt(np.sum(weights * residual**2) / np.sum(weights))
        return cls(float(offset), float(slope), float(sigma))

    def cut_points(self, under: float) -> tuple[float, ...]:
        """The four scores where the cheapest level steps up, for a level too low costing
        `under` times a level too high (found on a fine grid of the expected level)."""
        grid = np.arange(-1.0, 5.0, 0.001)
        cost = np.array([self._expected_costs(mu, under) for mu in grid])
        chosen = cost.argmin(axis=1)
        cuts = [float(grid[np.argmax(chosen > k)]) for k in range(len(LEVELS) - 1)]
        return tuple(round((mu - self.offset) / self.slope, 3) for mu in cuts)

    def _expected_costs(self, mu: float, under: float) -> np.ndarray:
        edges = np.array([-np.inf, 0.5, 1.5, 2.5, 3.5, np.inf])
        cdf = 0.5 * (1 + _erf((edges - mu) / (self.sigma * np.sqrt(2))))
        chance = np.diff(cdf)
        levels = np.arange(len(LEVELS))
        return np.array(
            [float(np.sum(chance * expected_cost(levels, np.full(5, c), under))) for c in levels]
        )


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # noqa: PLC0415 - scipy is only needed for training

    return np.asarray(erf(x))


def rubric_calibration(
    rows: Sequence[Row], held_out: np.ndarray, levels: np.ndarray, weights: np.ndarray
) -> Calibration:
    """The calibration of held-out scores on the rubric-labelled rows. Proxy labels (a
    model-correctness flag, a count of steps) are noisy measurements of the rubric; the spread
    that decides how far to route up is that of the rubric labels."""
    judged = np.array([not str(row.extra.get("label_by", "")).startswith("proxy") for row in rows])
    return Calibration.fit(held_out[judged], levels[judged], weights[judged])


def train(
    rows: Sequence[Row],
    provenance: dict[str, Any] | None = None,
    features: Featurized | None = None,
) -> RaterModel:
    """`features`: the rows already featurized (the evaluation featurizes the corpus once)."""
    levels = np.array([row.level for row in rows], dtype=float)
    weights = row_weights(rows)
    features = features or Featurized(row.prompt for row in rows)
    pairs = translation_pairs(rows)
    held_out = held_out_scores(features, levels, weights, folds_of(rows), pairs)
    calibration = rubric_calibration(rows, held_out, levels, weights)
    cut_points = {
        preference: calibration.cut_points(under) for preference, under in UNDER_COST.items()
    }
    stages = Stages.fit(features, levels, weights, pairs)
    reasons = fit_reasons(features, levels, weights)
    dense = {
        name: float(w) for name, w in zip(features.dense_names, reasons.coefficients, strict=True)
    }
    hashed = {int(i): float(w) for i, w in enumerate(stages.words.coefficients) if w}
    counts = {label: 0 for label in LEVELS}
    sources: dict[str, int] = {}
    for row in rows:
        counts[LEVELS[row.level]] += 1
        sources[row.source] = sources.get(row.source, 0) + 1
    return RaterModel(
        intercept=stages.words.intercept,
        dense=dense,
        hashed=hashed,
        hash_scale=HASH_SCALE,
        sigma=calibration.sigma / calibration.slope,
        cut_points={p: cut_points[p] for p in Preference},
        trained_on={
            "rows": len(rows),
            "labels": counts,
            "sources": dict(sorted(sources.items())),
            **(provenance or {}),
        },
        trees=export_trees(stages.trees, features.dense_names),
    )
