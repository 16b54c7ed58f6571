"""A chat export document as a file: JSON, or a Markdown or HTML page anyone can read.

The page is a pure function of the document, and the document is embedded at its end (base64
in an HTML comment, which neither a Markdown viewer nor a browser shows). The verifier renders
the embedded document again and compares: an edit to the readable part is caught like an edit
to the data.

Everything from the conversation is shown as inert text. Control characters (a terminal
escape, a bidirectional override that reorders what a reader sees, a line separator) are shown
escaped (\\x1b, \\u202e). In Markdown each message is a fenced block longer than any run of
backticks it holds, so nothing in it is markup (no HTML, link, image or heading), and the few
strings outside fences (title, routing) have markup characters backslash-escaped. In HTML
everything is escaped, and a Content-Security-Policy forbids any script, image or request.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from bizra_desktop.core.receipts.chat_document import answer_checks, json_bytes
from bizra_desktop.core.receipts.verification import plural

DATA_OPEN = "<!-- bizra-chat-export-data\n"
DATA_CLOSE = "-->\n"
# The first line of each page, naming the document's format (a version 1 export re-renders
# with its own).
FIRST_LINES = {
    "md": "<!-- {} Markdown · check it offline: bizra receipts verify THIS-FILE -->\n",
    "html": "<!DOCTYPE html><!-- {} HTML · check it offline: bizra receipts verify THIS-FILE -->\n",
}
ROLE_NAMES = {"user": "You", "assistant": "BIZRA", "error": "Error"}

# Shown escaped: C0/C1 controls but tab and newline, bidirectional controls, line and paragraph
# separators, lone surrogates. Joiners stay: emoji sequences are made with them.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)
_MD_MARKUP = re.compile(r"([\\`*_\[\]<>!&|~#])")
_BACKTICKS = re.compile("`+")
_FIGURES = (
    ("tokens", "{:.0f} tokens"),
    ("ttft_ms", "TTFT {:.0f} ms"),
    ("tokens_per_s", "{:.1f} tok/s"),
)


def render(document: Mapping[str, Any], fmt: str) -> bytes:
    """The bytes of the export file in `fmt` (md, html or json)."""
    if fmt == "json":
        return json_bytes(document, indent=2) + b"\n"
    page = _Page(document)
    first = FIRST_LINES[fmt].format(document["format"])
    if fmt == "md":
        return (first + page.markdown() + embed(document)).encode("utf-8")
    return (first + page.html() + embed(document) + "</body></html>\n").encode("utf-8")


def embed(document: Mapping[str, Any]) -> str:
    data = base64.b64encode(json_bytes(document)).decode("ascii")
    lines = [data[start : start + 76] for start in range(0, len(data), 76)]
    return DATA_OPEN + "\n".join(lines) + "\n" + DATA_CLOSE


def embedded_document(text: str) -> bytes:
    """The JSON bytes embedded in a Markdown or HTML export; ValueError if there are none.
    The last data block counts: a message can quote a block, but only before the real one."""
    start = text.rfind(DATA_OPEN)
    end = text.find("\n" + DATA_CLOSE, start)
    if start < 0 or end < 0:
        raise ValueError("its embedded data block is missing or cut")
    data = "".join(text[start + len(DATA_OPEN) : end].split("\n"))
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        raise ValueError("its embedded data block is not base64: it was altered") from None


def visible(text: str) -> str:
    """`text` with what a reader could not see, or that would act on a terminal, escaped."""
    return _HIDDEN.sub(lambda found: repr(found.group())[1:-1], text.replace("\r\n", "\n"))


def md_inline(text: str) -> str:
    return _MD_MARKUP.sub(r"\\\1", visible(text).replace("\n", " "))


def md_fence(text: str) -> str:
    shown = visible(text)
    longest = max((len(run) for run in _BACKTICKS.findall(shown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{shown}\n{fence}\n"


def when(timestamp: str) -> str:
    """'2026-12-05 05:31 UTC' from the stored ISO time."""
    return f"{timestamp[:16].replace('T', ' ')} UTC"


def badge(meta: Mapping[str, Any]) -> str:
    """The routing badge as the window shows it."""
    complexity = meta.get("complexity", "?")
    if meta.get("stand_in"):
        return f"{complexity} · {meta['stand_in']} — answered by the starter model"
    return f"{complexity} · {meta.get('tier', '?')} · {meta.get('model', '?')}"


def figures(meta: Mapping[str, Any]) -> str:
    """The figures line as the window shows it, without the receipt link."""
    parts = []
    for key, shown in _FIGURES:
        value = meta.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(shown.format(value))
    runtime = meta.get("runtime") or meta.get("backend")
    if runtime:
        parts.append(str(runtime))
    if meta.get("finish_reason") == "stopped":
        parts.append("stopped by you")
    if meta.get("note"):
        parts.append(str(meta["note"]))
    return " · ".join(parts)


class _Page:
    """What both pages say, in the order they say it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.conversation = document["conversation"]
        self.messages = document["messages"]
        self.checks = answer_checks(document)
        bundle = document["receipts"]
        self.header = bundle["header"] if bundle else None

    def about(self) -> str:
        others = len(self.document.get("branches", ()))
        branches = f" ({others} more on other branches, in the file's data)" if others else ""
        return (
            f"Conversation {self.conversation['id']}, started "
            f"{when(self.conversation['created_at'])}, "
            f"{plural(len(self.messages), 'message')}{branches}. Exported from "
            f"{self.document['app']} on {when(self.document['exported_at'])}."
        )

    def receipt_note(self, index: int) -> str:
        problem = self.checks[index]
        if problem is None:
            return "this answer and its prompt match the receipt's commitments"
        return f"NOT proven: {problem}"

    def closing(self) -> str:
        proven = sum(problem is None for problem in self.checks.values())
        if self.header is None:
            return "No answer in this conversation has a receipt: nothing here is proven."
        origin = self.header["origin"]
        return (
            f"{plural(proven, 'answer')} of this conversation {'is' if proven == 1 else 'are'} "
            f"proven by receipts bundled in this file: each receipt, its Merkle inclusion proof "
            f"and the checkpoint signed by {origin}, with its public key. The command bizra "
            "receipts verify FILE checks this file offline, without the app's database; any "
            "change to a text, a receipt, a proof or the checkpoint makes it fail. The title, "
            "the times and messages without a receipt are not covered by any signature."
        )

    def markdown(self) -> str:
        out = [f"# {md_inline(self.conversation['title'])}\n", f"{md_inline(self.about())}\n"]
        for index, message in enumerate(self.messages):
            role = ROLE_NAMES.get(message["role"], message["role"])
            out.append(
                f"## {index + 1} · {md_inline(role)} · {md_inline(when(message['created_at']))}\n"
            )
            details = self._details(index, md_inline, lambda h: f"`{h}`")
            if details:
                out.append("".join(f"- {label}: {text}\n" for label, text in details))
            out.append(md_fence(message["content"]))
        out.append(f"---\n\n{md_inline(self.closing())}\n")
        return "\n".join(out) + "\n"

    def _details(
        self, index: int, text: Callable[[str], str], code: Callable[[str], str]
    ) -> list[tuple[str, str]]:
        message = self.messages[index]
        if message["role"] != "assistant":
            return []
        meta = message["meta"]
        details = [("Routing", text(badge(meta)))] if "tier" in meta else []
        shown = figures(meta)
        if shown:
            details.append(("Figures", text(shown)))
        if message["receipt_hash"] is not None:
            hashed = code(message["receipt_hash"])
            details.append(("Receipt", f"{hashed} — {text(self.receipt_note(index))}"))
        return details

    def html(self) -> str:
        escape = lambda text: html.escape(visible(text))  # noqa: E731
        title = escape(self.conversation["title"])
        out = [
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title} — BIZRA Desktop</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{title}</h1>",
            f'<p class="about">{escape(self.about())}</p>',
        ]
        for index, message in enumerate(self.messages):
            role = message["role"] if message["role"] in ROLE_NAMES else "other"
            name = escape(ROLE_NAMES.get(message["role"], message["role"]))
            out.append(f'<div class="turn {role}">')
            out.append(
                f'<h2>{index + 1} · {name} <span class="when">'
                f"{escape(when(message['created_at']))}</span></h2>"
            )
            details = self._details(index, escape, lambda h: f"<code>{escape(h)}</code>")
            out += [f'<p class="detail"><b>{label}:</b> {text}</p>' for label, text in details]
            out.append(f'<div class="text">{escape(message["content"])}</div></div>')
        out.append(f'<p class="closing">{escape(self.closing())}</p>')
        return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:48em;"
    "margin:2em auto;padding:0 1em;color:#1a1a1a;background:#fff;line-height:1.45}"
    "h1{font-size:1.6em;margin-bottom:0.2em}.about,.closing,.when{color:#555}"
    ".about{margin-top:0}h2{font-size:1em;margin:0 0 0.4em 0}.when{font-weight:normal}"
    ".turn{border:1px solid #ddd;border-radius:8px;padding:0.8em 1em;margin:1em 0}"
    ".user{background:#eef4ff}.assistant{background:#f7f7f7}.error{background:#fdecea}"
    ".detail{margin:0.2em 0;font-size:0.9em;color:#333}"
    "code{font-family:ui-monospace,Consolas,monospace;font-size:0.85em;word-break:break-all}"
    ".text{white-space:pre-wrap;overflow-wrap:anywhere;margin-top:0.6em}"
    ".closing{font-size:0.9em;border-top:1px solid #ddd;padding-top:1em}"
)
