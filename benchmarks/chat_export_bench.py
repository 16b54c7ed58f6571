"""Chat export figures: exporting one conversation (Markdown, HTML, JSON) from a long chain,
and checking the export offline; why the window builds exports on a worker thread.

    python benchmarks/chat_export_bench.py                    # 20,000 receipts, 20 answers
    python benchmarks/chat_export_bench.py --receipts 100000 --answers 50 --json

The chain is built as benchmarks/receipts_bench.py builds it (ordinary appends, synchronous=OFF
while building); the conversation exported is the last one, with `--answers` answers.
Building the bundle walks the whole chain once (each proof needs the tree of the signed size),
so its time grows with the chain, not with the conversation.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.receipts_bench import best_of, build, fields
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_export import export_chat
from bizra_desktop.core.receipts.commitments import new_salt
from bizra_desktop.core.receipts.export_verify import verify_export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"receipts": args.receipts, "answers": args.answers}
    with tempfile.TemporaryDirectory(prefix="bizra-chat-export-bench-") as tmp:
        folder = Path(tmp)
        database, keys = folder / "bizra.sqlite3", folder / "keys"
        build(database, keys, args.receipts - args.answers)
        with ReceiptChain(database, keys) as chain, ConversationStore(database) as store:
            chat = store.create("exported").id
            for i in range(args.answers):
                prompt, response = f"question {i}", f"an answer of some length, number {i} " * 8
                salt = new_salt()
                receipt = chain.append(fields(i, prompt, response, salt), salt)
                store.add_message(chat, "user", prompt)
                store.add_message(chat, "assistant", response, receipt_hash=receipt.hash)
            for fmt in ("md", "html", "json"):
                out = folder / f"chat.{fmt}"
                export = lambda out=out, fmt=fmt: export_chat(chain, store, chat, out, fmt)  # noqa: E731
                figures[f"export_{fmt}_s"] = round(best_of(3, export), 3)
                report = verify_export(out)
                assert report.ok, report.message
                figures[f"verify_{fmt}_s"] = round(
                    best_of(3, lambda out=out: verify_export(out)), 4
                )
                figures[f"{fmt}_kb"] = round(out.stat().st_size / 1000, 1)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
