"""Verify a chat export (JSON, Markdown or HTML) offline, with nothing but the file.

Checked: the document has exactly its fields, of their types; its receipts bundle verifies as
a selection export does (export_verify.py: the checkpoint's signature by the bundled key, each
receipt's hash and inclusion proof under the signed root, each prompt and response against its
commitment); every answer that names a receipt is the text that receipt commits to, the nearest
user message before it is the committed prompt, and the routing and figures it shares with the
receipt are the receipt's; the bundle holds no receipt that no message names. For Markdown and
HTML, the page rendered from the embedded document is the file, byte for byte.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any, Never

from bizra_desktop.core.conversations import ROLES
from bizra_desktop.core.receipts.chat_document import (
    BUNDLE_FIELDS,
    FIELDS,
    FORMAT,
    answer_problem,
    chat_kind,
    prompt_index,
    records,
)
from bizra_desktop.core.receipts.chat_render import embedded_document, render
from bizra_desktop.core.receipts.checkpoint import open_checkpoint
from bizra_desktop.core.receipts.export import (
    EXIT_BAD_INPUT,
    EXIT_INVALID,
    SCOPE_SELECTION,
    encode_line,
)
from bizra_desktop.core.receipts.export_verify import ExportReport, verify_export_file
from bizra_desktop.core.receipts.keys import VerifierKey
from bizra_desktop.core.receipts.verification import plural
from bizra_desktop.core.text import printable

_FAMILY = FORMAT.rpartition("/")[0] + "/"


class _Invalid(Exception):
    def __init__(self, message: str, code: int = EXIT_INVALID) -> None:
        super().__init__(message)
        self.code = code


def verify_chat_export(data: bytes, kept_checkpoint: str | None = None) -> ExportReport:
    """Check the chat export whose bytes are `data`; `kept_checkpoint`: a signed note kept
    earlier, which the bundle's checkpoint must match."""
    try:
        return _check(data, kept_checkpoint)
    except _Invalid as invalid:  # it may quote the file: a title with a terminal escape, say
        return ExportReport(ok=False, code=invalid.code, message=printable(str(invalid)))


def _check(data: bytes, kept: str | None) -> ExportReport:
    kind = chat_kind(data[:512])
    if kind is None:
        raise _Invalid("it is not a BIZRA chat export", EXIT_BAD_INPUT)
    if kind == "json":
        document = _document(data, "the file", EXIT_BAD_INPUT)
    else:
        try:
            text = data.decode("utf-8")
            raw = embedded_document(text)
        except UnicodeDecodeError:
            raise _Invalid("it is not UTF-8 text", EXIT_BAD_INPUT) from None
        except ValueError as problem:
            raise _Invalid(str(problem)) from None
        document = _document(raw, "its embedded data", EXIT_INVALID)
    _check_shape(document)
    bundle = _check_bundle(document, kept)
    proven, covered = _check_answers(document)
    if kind != "json":
        _check_page(document, kind, data)
    return _report(document, bundle, (proven, covered), kind, kept is not None)


def _document(raw: bytes, what: str, code: int) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _Invalid(f"{what} is not JSON", code) from None
    if not isinstance(value, dict):
        raise _Invalid(f"{what} is not a JSON object", code)
    fmt = value.get("format")
    if not isinstance(fmt, str) or not fmt.startswith(_FAMILY):
        raise _Invalid("it is not a BIZRA chat export", code)
    if fmt not in FIELDS:
        raise _Invalid(f"its format {fmt} is not one this app reads ({FORMAT})", EXIT_BAD_INPUT)
    return value


def _no_constant(name: str) -> Never:
    raise ValueError(f"{name} is not JSON")


def _fields(value: object, fields: frozenset[str] | tuple[str, ...], where: str) -> None:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} is not a JSON object")
    if value.keys() != set(fields):
        odd = sorted(value.keys() ^ set(fields))
        raise _Invalid(f"{where}: missing or unexpected fields {', '.join(odd)}")


def _check_shape(document: dict[str, Any]) -> None:
    document_fields, conversation_fields, message_fields = FIELDS[document["format"]]
    _fields(document, document_fields, "the document")
    if not isinstance(document["app"], str) or not isinstance(document["exported_at"], str):
        raise _Invalid("the document: app or exported_at is not a string")
    conversation = document["conversation"]
    _fields(conversation, conversation_fields, "the conversation")
    texts = (
        "title",
        "created_at",
        "updated_at",
        *(("source",) if "source" in conversation else ()),
    )
    if (
        type(conversation["id"]) is not int
        or not all(isinstance(conversation[name], str) for name in texts)
        or not isinstance(conversation["preset"], str | None)
    ):
        raise _Invalid("the conversation: a field is of the wrong type")
    for key in ("messages", "branches"):
        if not isinstance(document.get(key, []), list):
            raise _Invalid(f"the {key} are not a list")
    for number, message in enumerate(records(document), 1):
        where = f"message {number}"
        _fields(message, message_fields, where)
        receipt_hash = message["receipt_hash"]
        if (
            type(message["id"]) is not int
            or message["role"] not in ROLES
            or not isinstance(message["content"], str)
            or not isinstance(message["created_at"], str)
            or not isinstance(message["meta"], dict)
            or not (receipt_hash is None or isinstance(receipt_hash, str))
            or not (message.get("parent_id") is None or type(message["parent_id"]) is int)
        ):
            raise _Invalid(f"{where}: a field is of the wrong type")
        if receipt_hash is not None and message["role"] != "assistant":
            raise _Invalid(f"{where}: only an answer has a receipt")
    bundle = document["receipts"]
    if bundle is not None:
        _fields(bundle, BUNDLE_FIELDS, "the receipts bundle")
        if not isinstance(bundle["lines"], list):
            raise _Invalid("the receipts bundle: its lines are not a list")


def _check_bundle(document: dict[str, Any], kept: str | None) -> ExportReport | None:
    """The bundle checked as the selection export it is (its line 1 is its header)."""
    bundle = document["receipts"]
    if bundle is None:
        if any(message["receipt_hash"] for message in records(document)):
            raise _Invalid("an answer names a receipt, but the export bundles no receipts")
        if kept is not None:
            raise _Invalid("the export bundles no receipts to compare with the kept checkpoint")
        return None
    header, lines = bundle["header"], bundle["lines"]
    if not isinstance(header, dict) or header.get("scope") != SCOPE_SELECTION:
        raise _Invalid("the receipts bundle is not a selection of receipts with proofs")
    try:
        raw = encode_line(header) + b"".join(encode_line(line) for line in lines)
    except (UnicodeEncodeError, TypeError, ValueError):
        raise _Invalid("the receipts bundle cannot be written as canonical JSON") from None
    report = verify_export_file(io.BytesIO(raw), kept)
    if not report.ok:
        raise _Invalid(f"the receipts bundle (line 1 its header): {report.message}")
    return report


def _check_answers(document: dict[str, Any]) -> tuple[int, int]:
    """The numbers of answers proven and of messages covered (those and their prompts);
    _Invalid for an answer that is not proven, or a stray receipt."""
    messages = records(document)
    bundle = document["receipts"]
    lines = {line["hash"]: line for line in bundle["lines"]} if bundle else {}
    named = {message["receipt_hash"] for message in messages} - {None}
    stray = sorted(lines.keys() - named)
    if stray:
        raise _Invalid(
            f"the receipts bundle holds receipt {stray[0][:16]}…, which no message names"
        )
    proven, covered = 0, set()
    for index, message in enumerate(messages):
        receipt_hash = message["receipt_hash"]
        if receipt_hash is None:
            continue
        problem = answer_problem(messages, index, lines.get(receipt_hash))
        if problem is not None:
            raise _Invalid(
                f"message {index + 1} (an answer, receipt {receipt_hash[:16]}…): {problem}"
            )
        proven += 1
        covered |= {index, prompt_index(messages, index)}
    return proven, len(covered)


def _check_page(document: Mapping[str, Any], kind: str, data: bytes) -> None:
    """The file is the page its (verified) data renders to: nothing readable was edited."""
    try:
        expected = render(document, kind)
    except (TypeError, ValueError, KeyError, AttributeError):
        raise _Invalid("its embedded data cannot be shown as a page: it was altered") from None
    if expected == data:
        return
    got, wanted = data.split(b"\n"), expected.split(b"\n")
    line = next(
        (
            number
            for number, pair in enumerate(zip(got, wanted, strict=False), 1)
            if pair[0] != pair[1]
        ),
        min(len(got), len(wanted)) + 1,
    )
    raise _Invalid(
        f"line {line} differs from what the verified data says: the readable part was altered"
    )


def _report(
    document: Mapping[str, Any],
    bundle: ExportReport | None,
    counts: tuple[int, int],
    kind: str,
    kept: bool,
) -> ExportReport:
    title = document["conversation"]["title"]
    messages = records(document)
    if bundle is None:
        return ExportReport(
            ok=True,
            code=0,
            message=printable(
                f"chat export “{title}” is well formed, but no answer in it has a receipt: "
                "nothing in it is proven"
            ),
        )
    header = document["receipts"]["header"]
    key = VerifierKey.parse(header["public_key"])
    size = open_checkpoint(header["checkpoint"], key).size
    proven, covered = counts
    others = len(messages) - covered
    message = (
        f"chat export “{title}” is valid: {plural(proven, 'answer')} and the "
        + (
            "prompt before it match its receipt"
            if proven == 1
            else "prompts before them match their receipts"
        )
        + ", bundled "
        f"with inclusion proofs under the checkpoint of {size} signed by {key.describe()}"
    )
    if kind != "json":
        message += "; the page shows exactly that data"
    if kept:
        message += "; the checkpoint is the kept one"
    message += "; not covered by a signature: the title, the times"
    if others > 0:
        message += f" and {plural(others, 'other message')}"
    return ExportReport(
        ok=True,
        code=0,
        message=printable(message),
        count=bundle.count,
        commitments=bundle.commitments,
    )
