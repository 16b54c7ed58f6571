#!/usr/bin/env python3
"""Train the prompt rater and write its weights into the package.

    .venv/bin/python scripts/train_rater.py [--out PATH] [--check]

Reads data/routing/ (the labelled public corpus, our hand-written prompts, the training half of
the tricky set) and writes bizra_desktop/core/routing/rater_weights.json. Deterministic: the
same data gives the same bytes (`--check` retrains and fails if the shipped file differs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rater_lab import corpus_digest, load_training_rows, train

from bizra_desktop.core.routing.model import WEIGHTS_PATH


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument(
        "--check", action="store_true", help="fail unless retraining gives the shipped file"
    )
    args = parser.parse_args(argv)
    rows = load_training_rows()
    model = train(rows, {"data_sha256": corpus_digest()})
    text = model.to_json()
    if args.check:
        same = args.out.read_text(encoding="utf-8") == text
        print("the shipped weights are reproduced exactly" if same else "weights differ")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(
        f"{len(rows)} rows → {args.out} ({len(model.hashed)} word weights, "
        f"sigma {model.sigma:.3f}, balanced cut points {model.cut_points['balanced']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
