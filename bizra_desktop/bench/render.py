"""How the chat renders a long answer as it streams: the window's way (append plain text,
render each code block once its fence closes, the rest once at the end) against a full
markdown + highlighting re-render on every frame, as a naive view would do.

    python -m bizra_desktop.bench.render                 # answers of 5k and 20k characters
    python -m bizra_desktop.bench.render --chars 20000 --json

Both sides run the real MessageBody offscreen on the same answers, cut into the same frames
(a frame: what arrives in 16 ms at ~500 tokens/s, 8 tokens of ~4 characters). Figures are
ratios within one run: the mean time per frame on a 4x longer answer over the shorter one
(about 1 while rendering stays linear in the answer, about 4 when it is quadratic), and the
total time of the naive way over the window's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from bizra_desktop.ui import theme
from bizra_desktop.ui.chat.message_view import MessageView

FRAME_CHARS = 32  # 8 tokens of ~4 characters
CODE = '''def fibonacci(n: int) -> list[int]:
    """The first n Fibonacci numbers."""
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])  # the sum of the last two
    return numbers[:n]


print(fibonacci(10))
'''
PROSE = (
    "The function keeps the **last two numbers** and appends their sum until the list is "
    "long enough; it runs in linear time and $O(n)$ memory. For $n = 0$ it returns an empty "
    "list, and `fibonacci(1)` gives `[0]`. "
)
TABLE = "| n | F(n) |\n|---|------|\n| 10 | 55 |\n| 20 | 6765 |\n\n"


def long_answer(chars: int) -> str:
    parts: list[str] = []
    section = 0
    while sum(map(len, parts)) < chars:
        parts.append(f"### Part {section}\n\n{PROSE * 2}\n\n```python\n{CODE}```\n\n")
        if section % 3 == 0:
            parts.append(TABLE)
        section += 1
    return "".join(parts)


def frames(text: str) -> list[str]:
    return [text[i : i + FRAME_CHARS] for i in range(0, len(text), FRAME_CHARS)]


def stream(text: str, render: Callable[[MessageView, str, str], None]) -> dict[str, float]:
    """Feed `text` frame by frame to a fresh view through `render(view, frame, so_far)`."""
    app = QApplication.instance()
    assert app is not None
    view = MessageView("assistant")
    view.resize(900, 700)
    view.show()
    times: list[float] = []
    so_far = ""
    started = time.perf_counter()
    for piece in frames(text):
        so_far += piece
        begin = time.perf_counter()
        render(view, piece, so_far)
        times.append(time.perf_counter() - begin)
    begin = time.perf_counter()
    view.body.set_markdown(text)  # the answer ends
    final = time.perf_counter() - begin
    app.processEvents()
    total = time.perf_counter() - started
    view.close()
    view.deleteLater()
    return {
        "frames": len(times),
        "total_s": total,
        "mean_frame_ms": statistics.mean(times) * 1000,
        "max_frame_ms": max(times) * 1000,
        "final_render_ms": final * 1000,
    }


def incremental(view: MessageView, piece: str, _so_far: str) -> None:
    view.body.append_plain(piece)


def full_rerender(view: MessageView, _piece: str, so_far: str) -> None:
    view.body.set_markdown(so_far)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=5_000, help="the shorter answer's length")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv)
    theme.manager().set_choice("light")
    short, long = long_answer(args.chars), long_answer(4 * args.chars)
    stream(long_answer(500), full_rerender)  # warm up: Pygments loads its lexer on first use
    results: dict[str, Any] = {"chars": [len(short), len(long)]}
    for name, render in (("incremental", incremental), ("full_rerender", full_rerender)):
        runs = [stream(short, render), stream(long, render)]
        results[name] = {
            "runs": runs,
            "frame_growth": runs[1]["mean_frame_ms"] / runs[0]["mean_frame_ms"],
        }
    results["naive_over_incremental"] = [
        results["full_rerender"]["runs"][i]["total_s"]
        / results["incremental"]["runs"][i]["total_s"]
        for i in (0, 1)
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for name in ("incremental", "full_rerender"):
        for text, run in zip((short, long), results[name]["runs"], strict=True):
            print(
                f"{name:>13} {len(text):>7,} chars, {text.count('```python'):>3} code blocks: "
                f"total {run['total_s']:6.2f} s, mean frame {run['mean_frame_ms']:6.2f} ms, "
                f"max frame {run['max_frame_ms']:6.1f} ms, final render "
                f"{run['final_render_ms']:5.0f} ms"
            )
        print(f"{name:>13} mean frame, 4x the answer: x{results[name]['frame_growth']:.2f}")
    ratios = results["naive_over_incremental"]
    print(f"full re-render per frame over the window's way: x{ratios[0]:.1f}, x{ratios[1]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
