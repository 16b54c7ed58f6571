"""Chat exports: what each format holds, that hostile text stays inert, that they verify
offline, and that any change to a text, a receipt, a proof or the checkpoint is caught."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.conversations import END_OF_BRANCH, ConversationStore, EndOfBranch
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_document import chat_kind
from bizra_desktop.core.receipts.chat_export import export_chat, format_for
from bizra_desktop.core.receipts.chat_render import embedded_document, render, visible
from bizra_desktop.core.receipts.checkpoint import Checkpoint
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.export import ExportError
from bizra_desktop.core.receipts.export_verify import ExportReport, verify_export
from bizra_desktop.core.receipts.keys import SigningKey, VerifierKey
from tests.core.test_receipts import inference_fields

FORMATS = ("md", "html", "json")
HOSTILE_TITLE = "Notes <script>alert(1)</script> # *bold* [x](javascript:alert(1))"
HOSTILE = (
    "```\n</div></pre><script>alert('owned')</script><img src=x onerror=alert(1)>\n"
    "## Fake heading\n[click](javascript:alert(1)) ![t](http://127.0.0.1:9/track.png)\n"
    "\x1b[31mred\x1b[0m \u202egnp.exe bell\x07 nul\x00 <!-- bizra-chat-export-data\nAAAA\n-->\n"
    "&amp; ``` ```` end"
)
META = {
    "complexity": "moderate",
    "score": 0.41,
    "confidence": 0.8,
    "preference": "balanced",
    "tier": "NANO",
    "model": "qwen2.5-0.5b-instruct",
    "stand_in": None,
    "reasons": ["a short question"],
    "tokens": 80,
    "ttft_ms": 7000.25,
    "tokens_per_s": 8.46,
    "backend": "CPU",
    "runtime": "CPU",
    "finish_reason": "stop",
    "note": None,
    "figures": "<b>the window's own HTML</b>",
}


def answered(
    chain: ReceiptChain,
    store: ConversationStore,
    conversation: int,
    prompt: str,
    response: str,
    *,
    after: int | EndOfBranch | None = END_OF_BRANCH,
) -> str:
    """One exchange as the window records it: a salted receipt, the prompt (after `after`),
    the answer and the routing and figures it shows (the receipt's tokens and times are the
    message's)."""
    salt = new_salt()
    fields = inference_fields(0) | {
        "complexity": "moderate",
        "prompt_commitment": commit(prompt, salt),
        "response_commitment": commit(response, salt),
    }
    receipt = chain.append(fields, salt)
    store.add_message(conversation, "user", prompt, after=after)
    store.add_message(conversation, "assistant", response, receipt_hash=receipt.hash, meta=META)
    return receipt.hash


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "bizra.sqlite3"


@pytest.fixture
def conversation(db_path: Path) -> int:
    """A conversation with two answers, a hostile prompt answered hostilely, an error and a
    prompt left unanswered; other receipts before and after it in the chain."""
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        before = store.create("before").id
        answered(chain, store, before, "earlier", "answer")
        chat = store.create(HOSTILE_TITLE).id
        answered(chain, store, chat, "What is 2 + 2?", "4 — ünïcode: 四")
        answered(chain, store, chat, HOSTILE, f"echo: {HOSTILE}")
        store.add_message(chat, "error", "the model crashed <b>loudly</b>")
        store.add_message(chat, "user", "a prompt left without an answer")
        answered(chain, store, before, "later", "answer")
    return chat


def export(db_path: Path, conversation_id: int, out: Path, fmt: str) -> Path:
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        summary = export_chat(chain, store, conversation_id, out, fmt)
    assert (summary.messages, summary.answers, summary.proven) == (6, 2, 2)
    assert summary.describe(out).startswith(f"exported “{HOSTILE_TITLE}” (6 messages, 2 answers")
    return out


def check(path: Path, kept: str | None = None) -> ExportReport:
    report = verify_export(path, kept)
    assert "\n" not in report.message
    return report


def document_of(path: Path, fmt: str) -> dict[str, Any]:
    data = path.read_bytes()
    raw = data if fmt == "json" else embedded_document(data.decode("utf-8"))
    document: dict[str, Any] = json.loads(raw)
    return document


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_as_the_conversation_and_verifies_offline(
    db_path: Path, conversation: int, tmp_path: Path, fmt: str
) -> None:
    out = export(db_path, conversation, tmp_path / f"chat.{fmt}", fmt)
    assert chat_kind(out.read_bytes()[:512]) == fmt
    report = check(out)
    assert (report.ok, report.code, report.count, report.commitments) == (True, 0, 2, 2)
    assert report.message.startswith(
        f"chat export “{HOSTILE_TITLE}” is valid: 2 answers and the prompts before them match "
        "their receipts, bundled with inclusion proofs under the checkpoint of 4 signed by "
        "bizra-desktop/"
    )
    assert report.message.endswith("the title, the times and 2 other messages")
    if fmt == "json":
        return
    text = out.read_text(encoding="utf-8")
    # Readable by anyone: roles, routing badge, figures, the receipt, the texts.
    for shown in (
        "You",
        "BIZRA",
        "Error",
        "moderate · NANO · qwen2.5-0.5b-instruct",
        "80 tokens · TTFT 7000 ms · 8.5 tok/s · CPU",
        "4 — ünïcode: 四",
        "a prompt left without an answer",
        "this answer and its prompt match the receipt's commitments".replace(
            "'", "&#x27;" if fmt == "html" else "'"
        ),
    ):
        assert shown in text, shown
    document = document_of(out, fmt)
    for message in document["messages"]:
        if message["receipt_hash"]:
            assert message["receipt_hash"] in text
    assert "the window's own HTML" not in text


def test_json_holds_everything_needed_to_prove_the_texts(
    db_path: Path, conversation: int, tmp_path: Path
) -> None:
    out = export(db_path, conversation, tmp_path / "chat.json", "json")
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "bizra-chat-export/2" and document["branches"] == []
    assert document["conversation"]["title"] == HOSTILE_TITLE
    messages = document["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2 + ["error", "user"]
    assert messages[2]["content"] == HOSTILE and messages[3]["content"] == f"echo: {HOSTILE}"
    assert messages[1]["meta"] == {k: v for k, v in META.items() if k != "figures"}

    bundle = document["receipts"]
    key = VerifierKey.parse(bundle["header"]["public_key"])
    assert bundle["header"]["origin"] == key.name
    assert bundle["header"]["checkpoint"].startswith(f"{key.name}\n4\n")
    lines = {line["hash"]: line for line in bundle["lines"]}
    assert set(lines) == {messages[1]["receipt_hash"], messages[3]["receipt_hash"]}
    for answer, prompt in ((messages[1], messages[0]), (messages[3], messages[2])):
        line = lines[answer["receipt_hash"]]
        body = json.loads(line["body"])
        salt = bytes.fromhex(line["salt"])
        # Anyone can recompute the commitments from the texts and the salt.
        assert commit(answer["content"], salt) == body["response_commitment"]
        assert commit(prompt["content"], salt) == body["prompt_commitment"]
        assert body["model"]["name"] == "qwen2.5-0.5b-instruct" and body["tier"] == "NANO"
        assert line["proof"] and all(base64.b64decode(node) for node in line["proof"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_hostile_text_is_inert_in_html(db_path: Path, conversation: int, tmp_path: Path) -> None:
    out = export(db_path, conversation, tmp_path / "chat.html", "html")
    data = out.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(data)
    tags = {tag for tag, _ in parser.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "div"} | {
        "span",
        "b",
        "code",
    }
    # No attribute came from the conversation: only classes, and the page's own head.
    for tag, attrs in parser.tags:
        for name, _value in attrs:
            assert name in {"class", "lang", "charset", "http-equiv", "content", "name"}, tag
    assert "default-src 'none'" in data
    shown = "".join(parser.texts)
    assert visible(HOSTILE) in shown and "<script>alert('owned')</script>" in shown
    # Nothing a terminal or a reader's eye would act on reaches the file unescaped.
    for hidden in ("\x1b", "\u202e", "\x07", "\x00"):
        assert hidden not in data
    assert "\\x1b[31mred" in data and "\\u202egnp.exe" in data


def outside_fences(markdown: str) -> list[str]:
    """The lines of `markdown` that are not inside a fenced block (CommonMark: a fence closes
    at a line of at least as many backticks and nothing else)."""
    lines, fence = [], ""
    for line in markdown.splitlines():
        if fence:
            fence = (
                ""
                if line.strip() and set(line.strip()) == {"`"} and len(line) >= len(fence)
                else fence
            )
        elif (opening := re.match(r"(`{3,})", line)) is not None:
            fence = opening.group(1)
        else:
            lines.append(line)
    return lines


def test_hostile_text_is_inert_in_markdown(
    db_path: Path, conversation: int, tmp_path: Path
) -> None:
    out = export(db_path, conversation, tmp_path / "chat.md", "md")
    data = out.read_text(encoding="utf-8")
    for hidden in ("\x1b", "\u202e", "\x07", "\x00"):
        assert hidden not in data
    # Outside the fences only the page's own lines: headings are numbered turns.
    headings = [line for line in outside_fences(data) if line.startswith("#")]
    assert headings[0] == (
        r"# Notes \<script\>alert(1)\</script\> \# \*bold\* \[x\](javascript:alert(1))"
    )
    assert all(re.match(r"## \d · (You|BIZRA|Error) · ", line) for line in headings[1:]), headings
    # The hostile text sits in a fence longer than any backtick run it holds.
    fence = "`````"  # HOSTILE holds a run of four
    assert f"{fence}text\n{visible(HOSTILE)}\n{fence}\n" in data
    assert check(out).ok  # the quoted data block in the text does not confuse the verifier


def test_a_conversation_without_receipts_exports_and_says_nothing_is_proven(
    db_path: Path, tmp_path: Path
) -> None:
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        chat = store.create("only an error \x1b[2J").id
        store.add_message(chat, "user", "hello")
        store.add_message(chat, "error", "no model")
        out = tmp_path / "chat.md"
        summary = export_chat(chain, store, chat, out, "md")
    assert (summary.answers, summary.proven) == (0, 0)
    # The line goes to a console: the title's terminal escape is shown, not obeyed.
    assert summary.describe(out).startswith("exported “only an error \\x1b[2J” (2 messages")
    report = check(out)
    assert report.ok and "no answer in it has a receipt: nothing in it is proven" in report.message
    assert "nothing here is proven" in out.read_text(encoding="utf-8")


def test_bad_requests_are_refused_and_write_nothing(
    db_path: Path, conversation: int, tmp_path: Path
) -> None:
    out = tmp_path / "chat.md"
    with (
        ReceiptChain(db_path) as chain,
        ConversationStore(db_path) as store,
        pytest.raises(ExportError, match="there is no conversation with id 99") as error,
    ):
        export_chat(chain, store, 99, out, "md")
    assert error.value.code == 2 and not out.exists()
    assert format_for(Path("a.HTML"), None) == "html" and format_for(Path("a"), "json") == "json"
    with pytest.raises(ValueError, match="say --format md, html or json"):
        format_for(Path("a.txt"), None)


def test_an_answer_edited_in_the_database_exports_but_does_not_verify(
    db_path: Path, conversation: int, tmp_path: Path
) -> None:
    with ConversationStore(db_path) as store:
        answer = store.messages(conversation)[1]
        with store.connection() as conn:
            conn.execute("UPDATE messages SET content = 'rewritten' WHERE id = ?", (answer.id,))
    out = tmp_path / "chat.json"
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        summary = export_chat(chain, store, conversation, out, "json")
    assert (summary.answers, summary.proven) == (2, 1)
    assert "warning: 1 answer no longer match" in summary.describe(out)
    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert "message 2 (an answer, receipt " in report.message
    assert "its receipt is bundled without texts" in report.message


# --- tampering -------------------------------------------------------------------------------

Document = dict[str, Any]


def _edit_answer(document: Document) -> None:
    document["messages"][1]["content"] = "5"


def _edit_prompt(document: Document) -> None:
    document["messages"][0]["content"] = "What is 2 + 3?"


def _edit_answer_and_its_bundled_text(document: Document) -> None:
    document["messages"][1]["content"] = "5"
    document["receipts"]["lines"][0]["response"] = "5"


def _edit_tier(document: Document) -> None:
    document["messages"][1]["meta"]["tier"] = "LARGE"


def _edit_receipt_field(document: Document) -> None:
    line = document["receipts"]["lines"][0]
    line["body"] = line["body"].replace('"tier":"NANO"', '"tier":"LARGE"')


def _swap_proofs(document: Document) -> None:
    first, second = document["receipts"]["lines"]
    first["proof"], second["proof"] = second["proof"], first["proof"]


def _forge_checkpoint_root(document: Document) -> None:
    header = document["receipts"]["header"]
    origin, size, _root, *rest = header["checkpoint"].split("\n")
    forged = base64.b64encode(b"\x01" * 32).decode()
    header["checkpoint"] = "\n".join([origin, size, forged, *rest])


def _checkpoint_of_another_key(document: Document) -> None:
    other = SigningKey.generate()
    header = document["receipts"]["header"]
    header["checkpoint"] = Checkpoint(other.name, 4, b"\x00" * 32).sign(other)


def _unname_a_receipt(document: Document) -> None:
    document["messages"][1]["receipt_hash"] = None


def _drop_a_receipt(document: Document) -> None:
    del document["receipts"]["lines"][0]
    document["receipts"]["header"]["receipts"] = 1


def _receipt_on_a_prompt(document: Document) -> None:
    document["messages"][0]["receipt_hash"] = document["messages"][1]["receipt_hash"]


TAMPERING = [
    (_edit_answer, "message 2 (an answer, receipt "),
    (_edit_answer, "its text is not the one its receipt commits to"),
    (_edit_prompt, "the prompt before it is not the one its receipt commits to"),
    (_edit_answer_and_its_bundled_text, "line 2: receipt #2: the response does not match"),
    (_edit_tier, "its tier ('LARGE') is not its receipt's ('NANO')"),
    (_edit_receipt_field, "line 2: receipt #2: stored hash does not match its content"),
    (_swap_proofs, "its inclusion proof fails"),
    (_forge_checkpoint_root, "the export's checkpoint is not valid: its signature does not"),
    (_checkpoint_of_another_key, "the export's checkpoint is not from this log"),
    (_unname_a_receipt, ", which no message names"),
    (_drop_a_receipt, "the export holds no receipt with that hash"),
    (_receipt_on_a_prompt, "message 1: only an answer has a receipt"),
]


def rewrite(path: Path, fmt: str, tamper: Callable[[Document], None]) -> None:
    """Change the export's data and write the file whole again, as a forger would."""
    document = document_of(path, fmt)
    tamper(document)
    path.write_bytes(render(document, fmt))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("tamper", "message"), TAMPERING)
def test_tampering_is_caught_with_a_clear_message(
    db_path: Path,
    conversation: int,
    fmt: str,
    tamper: Callable[[Document], None],
    message: str,
) -> None:
    out = export(db_path, conversation, db_path.parent / f"chat.{fmt}", fmt)
    rewrite(out, fmt, tamper)
    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert message in report.message


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_an_edit_to_the_readable_part_alone_is_caught(
    db_path: Path, conversation: int, tmp_path: Path, fmt: str
) -> None:
    out = export(db_path, conversation, tmp_path / f"chat.{fmt}", fmt)
    text = out.read_text(encoding="utf-8")
    assert text.count("4 — ünïcode: 四") == 1
    out.write_text(text.replace("4 — ünïcode: 四", "5 — ünïcode: 四"), encoding="utf-8")
    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert re.search(r"^line \d+ differs from what the verified data says", report.message)

    # Cut before its data: in Markdown the block quoted in a message is found, and fails.
    out.write_text(text[: text.rfind("<!-- bizra-chat-export-data")], encoding="utf-8")
    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert report.message in {
        "its embedded data block is missing or cut",
        "its embedded data is not JSON",
    }


def test_a_resigned_export_names_its_signer_and_fails_against_a_kept_checkpoint(
    db_path: Path, conversation: int, tmp_path: Path
) -> None:
    """Someone with their own key can rewrite everything consistently: the export then says
    who signed it, and a checkpoint kept from the real app refuses it."""
    out = export(db_path, conversation, tmp_path / "chat.json", "json")
    kept = document_of(out, "json")["receipts"]["header"]["checkpoint"]
    assert check(out, kept).message.count("; the checkpoint is the kept one") == 1

    other = SigningKey.generate()

    def resign(document: Document) -> None:
        header = document["receipts"]["header"]
        size, root = header["checkpoint"].split("\n")[1:3]
        note = Checkpoint(other.name, int(size), base64.b64decode(root)).sign(other)
        header |= {"checkpoint": note, "public_key": other.verifier.encode(), "origin": other.name}

    rewrite(out, "json", resign)
    report = check(out)
    assert report.ok and f"signed by {other.verifier.describe()}" in report.message
    report = check(out, kept)
    assert (report.ok, report.code) == (False, 1)
    assert "the kept checkpoint is not from this log" in report.message


@pytest.mark.parametrize(
    ("data", "message", "code"),
    [
        (b'{\n  "format": "bizra-chat-export/9"\n}\n', "is not one this app reads", 2),
        (b'{\n  "format": "bizra-chat-export/1",\n', "the file is not JSON", 2),
        (b"<!-- bizra-chat-export/1 Markdown -->\n# t\n", "data block is missing or cut", 1),
        (b"<!-- bizra-chat-export/1 -->\n\xff\xfe", "it is not UTF-8 text", 2),
    ],
)
def test_unreadable_chat_exports_are_named(
    tmp_path: Path, data: bytes, message: str, code: int
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(data)
    report = check(path)
    assert (report.ok, report.code) == (False, code)
    assert message in report.message


# --- branches ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_branch_is_exported_and_proven_and_a_branch_cannot_be_altered(
    db_path: Path, tmp_path: Path, fmt: str
) -> None:
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        chat = store.create("branched").id
        first = answered(chain, store, chat, "Name a fruit.", "Apple.")
        # The prompt edited: a second version beside the first, answered, now the current one.
        second = answered(chain, store, chat, "Name a red fruit.", "Cherry.", after=None)
        summary = export_chat(chain, store, chat, tmp_path / f"chat.{fmt}", fmt)
    assert (summary.messages, summary.answers, summary.proven) == (2, 2, 2)
    out = tmp_path / f"chat.{fmt}"
    document = document_of(out, fmt)
    assert [m["content"] for m in document["messages"]] == ["Name a red fruit.", "Cherry."]
    assert [m["content"] for m in document["branches"]] == ["Name a fruit.", "Apple."]
    assert document["branches"][1]["parent_id"] == document["branches"][0]["id"]
    assert {m["receipt_hash"] for m in document["messages"] + document["branches"]} >= {
        first,
        second,
    }
    report = check(out)
    assert report.ok, report.message
    assert "2 answers and the prompts before them match their receipts" in report.message
    if fmt != "json":
        assert "(2 more on other branches, in the file" in out.read_text(encoding="utf-8")

    def _edit_branch_answer(document: Document) -> None:
        document["branches"][1]["content"] = "Banana."

    rewrite(out, fmt, _edit_branch_answer)
    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert "message 4 (an answer, receipt " in report.message
    assert "its text is not the one its receipt commits to" in report.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_of_format_1_still_verifies(
    db_path: Path, conversation: int, tmp_path: Path, fmt: str
) -> None:
    """Exports made before branches: no `branches`, `source` or `parent_id`, the prompt of an
    answer the nearest user message before it."""
    out = export(db_path, conversation, tmp_path / f"chat.{fmt}", fmt)
    document = document_of(out, fmt)
    document["format"] = "bizra-chat-export/1"
    del document["branches"], document["conversation"]["source"]
    for message in document["messages"]:
        del message["parent_id"]
    out.write_bytes(render(document, fmt))
    assert out.read_bytes().count(b"bizra-chat-export/1") == 1
    report = check(out)
    assert report.ok, report.message
    _edit_prompt(document)
    out.write_bytes(render(document, fmt))
    assert "the prompt before it is not the one" in check(out).message
