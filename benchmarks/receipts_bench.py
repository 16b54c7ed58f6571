"""Receipt figures: appends per second with synchronous=FULL, full verification of a large
chain, and export + offline verification of it.

    python benchmarks/receipts_bench.py                 # 100,000 receipts
    python benchmarks/receipts_bench.py --receipts 20000 --json

The large chain is built through the ordinary `ReceiptChain.append` (and ConversationStore for
the texts) with synchronous=OFF on the building connections: building is not what is measured,
and 100,000 fsyncs would take minutes. Every measured step runs as the app runs it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.export import export_receipts
from bizra_desktop.core.receipts.export_verify import verify_export
from bizra_desktop.core.receipts.impact_ledger import accumulate
from bizra_desktop.core.receipts.query import ReceiptFilter, ReceiptQuery


def fields(i: int, prompt: str, response: str, salt: bytes) -> dict[str, Any]:
    """A receipt body the size of a real one."""
    return {
        "type": "inference",
        "model": {"name": "qwen2.5-0.5b-instruct", "file": "qwen.gguf", "sha256": "ab" * 32},
        "tier": ("NANO", "MICRO", "SMALL")[i % 3],
        "complexity": "simple",
        "params": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 512, "n_ctx": 4096},
        "prompt_commitment": commit(prompt, salt),
        "response_commitment": commit(response, salt),
        "tokens": {"prompt": 12, "completion": 80 + i % 50},
        "ttft_ms": 120.0 + i % 1000 / 100,
        "tokens_per_s": 40.0 + i % 700 / 100,
        "impact": 0.3498,
        "stopped": False,
    }


def append_rate(folder: Path, count: int) -> float:
    """Appends per second on a fresh chain with synchronous=FULL, key made beforehand."""
    with ReceiptChain(folder / "rate.sqlite3", folder / "keys") as chain:
        chain.append(fields(0, "warm-up", "warm-up", new_salt()))
        started = time.perf_counter()
        for i in range(count):
            salt = new_salt()
            chain.append(fields(i, f"prompt {i}", f"response {i}", salt), salt)
        return count / (time.perf_counter() - started)


def build(database: Path, keys: Path, count: int) -> None:
    with ReceiptChain(database, keys) as chain, ConversationStore(database) as store:
        for conn_owner in (chain, store):
            with conn_owner.connection() as conn:
                conn.execute("PRAGMA synchronous=OFF")
        conversation = store.create("benchmark").id
        for i in range(count):
            prompt, response = f"prompt number {i}", f"response number {i} " * 5
            salt = new_salt()
            receipt = chain.append(fields(i, prompt, response, salt), salt)
            store.add_message(conversation, "user", prompt)
            store.add_message(conversation, "assistant", response, receipt_hash=receipt.hash)
            if i % 10_000 == 9_999:
                print(f"  built {i + 1}", file=sys.stderr, flush=True)


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def query_figures(chain: ReceiptChain, count: int) -> dict[str, float]:
    """Milliseconds for what the receipt browser asks: pages at the top and far down, keyset
    pages, and a filtered count."""
    browser = ReceiptQuery(chain)
    nano = ReceiptFilter(tier="NANO")
    asks: dict[str, Callable[[], object]] = {
        "page_top_ms": lambda: browser.page(0, 100),
        "page_at_end_ms": lambda: browser.page(count - 100, 100),
        "page_at_end_tier_filter_ms": lambda: browser.page(count // 3 - 100, 100, nano),
        "page_before_deep_ms": lambda: browser.page_before(200, limit=100),
        "count_tier_filter_ms": lambda: browser.count(nano),
        "count_text_filter_ms": lambda: browser.count(ReceiptFilter(text="number 77")),
    }
    return {name: round(best_of(3, ask) * 1000, 1) for name, ask in asks.items()}


def export_figures(chain: ReceiptChain, out: Path, content: bool) -> dict[str, float]:
    name = "export_with_content" if content else "export"
    seconds = best_of(1, lambda: export_receipts(chain, out, with_content=content))
    report = verify_export(out)
    assert report.ok, report.message
    return {
        f"{name}_s": round(seconds, 3),
        f"verify_{name}_s": round(best_of(1, lambda: verify_export(out)), 3),
        f"{name}_mb": round(out.stat().st_size / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=1000, help="appends timed with FULL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"receipts": args.receipts}
    with tempfile.TemporaryDirectory(prefix="bizra-receipts-bench-") as tmp:
        folder = Path(tmp)
        figures["appends_per_s_full"] = round(append_rate(folder, args.appends), 1)
        database, keys = folder / "bizra.sqlite3", folder / "keys"
        started = time.perf_counter()
        build(database, keys, args.receipts)
        figures["build_s"] = round(time.perf_counter() - started, 1)
        with ReceiptChain(database, keys) as chain:
            report = chain.verify()
            assert report.ok, report.message
            figures["verify_s"] = round(best_of(3, chain.verify), 3)
            figures["impact_ledger_s"] = round(best_of(1, lambda: accumulate(chain)), 3)
            figures |= query_figures(chain, args.receipts)
            started = time.perf_counter()
            for i in range(args.appends):
                salt = new_salt()
                chain.append(fields(i, "p", "r", salt), salt)
            figures["appends_per_s_full_at_size"] = round(
                args.appends / (time.perf_counter() - started), 1
            )
            for content in (False, True):
                figures |= export_figures(chain, folder / f"export-{content}.jsonl", content)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>34}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
