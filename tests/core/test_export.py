"""Exports: what they hold, that they verify offline, and that any change to them is caught."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.checkpoint import Checkpoint
from bizra_desktop.core.receipts.commitments import commit, new_salt
from bizra_desktop.core.receipts.export import ExportError, encode_line, export_receipts
from bizra_desktop.core.receipts.export_verify import (
    ExportReport,
    verify_export,
    verify_export_file,
)
from bizra_desktop.core.receipts.keys import SigningKey
from tests.core.test_receipts import execute_sql, inference_fields
from tests.helpers import RecordProperty


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "bizra.sqlite3"


def answer(chain: ReceiptChain, store: ConversationStore, conversation: int, i: int) -> str:
    """One answered prompt as the app records it: salted commitments, then the messages."""
    prompt, response = f"question {i} — ünïcode", f'answer {i}: "quoted"\nand a second line'
    salt = new_salt()
    fields = inference_fields(i) | {
        "prompt_commitment": commit(prompt, salt),
        "response_commitment": commit(response, salt),
    }
    receipt = chain.append(fields, salt)
    store.add_message(conversation, "user", prompt)
    store.add_message(conversation, "assistant", response, receipt_hash=receipt.hash)
    return receipt.hash


def build(db_path: Path, per_conversation: tuple[int, ...] = (3, 2)) -> list[str]:
    """Conversations with that many answers each, in order; the receipt hashes."""
    hashes: list[str] = []
    with ReceiptChain(db_path) as chain, ConversationStore(db_path) as store:
        for count in per_conversation:
            conversation = store.create("chat").id
            hashes += [answer(chain, store, conversation, len(hashes) + i) for i in range(count)]
    return hashes


def export(db_path: Path, out: Path, **options: Any) -> Path:
    with ReceiptChain(db_path) as chain:
        export_receipts(chain, out, **options)
    return out


def check(path: Path, kept: str | None = None) -> ExportReport:
    report = verify_export(path, kept)
    assert "\n" not in report.message
    return report


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(encode_line(record) for record in records))


# --- what an export holds -------------------------------------------------------------------------


def test_a_whole_chain_export_verifies_offline(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path)
    out = export(db_path, tmp_path / "all.jsonl")
    header, *receipts = lines(out)

    assert header["format"] == "bizra-receipts-export/1"
    assert (header["scope"], header["receipts"], header["content"]) == ("chain", 5, False)
    assert header["origin"] == header["public_key"].split("+")[0]
    assert header["checkpoint"].startswith(f"{header['origin']}\n5\n")
    assert [r["hash"] for r in receipts] == hashes
    assert [r["seq"] for r in receipts] == [1, 2, 3, 4, 5]
    assert all(set(r) == {"body", "hash", "seq"} for r in receipts)

    report = check(out)
    assert (report.ok, report.code, report.count, report.commitments) == (True, 0, 5, 0)
    assert report.message.startswith("export of 5 receipts is valid (whole chain")


def test_without_content_no_text_or_salt_leaves(db_path: Path, tmp_path: Path) -> None:
    build(db_path)
    text = export(db_path, tmp_path / "all.jsonl").read_text(encoding="utf-8")

    assert "question" not in text and "answer" not in text and "salt" not in text


def test_with_content_every_commitment_is_checked(db_path: Path, tmp_path: Path) -> None:
    build(db_path)
    out = export(db_path, tmp_path / "all.jsonl", with_content=True)
    receipts = lines(out)[1:]

    assert receipts[0]["prompt"] == "question 0 — ünïcode"
    assert all(len(r["salt"]) == 64 for r in receipts)
    report = check(out)
    assert (report.ok, report.commitments) == (True, 5)
    assert "the prompts and responses of 5 receipts match their commitments" in report.message


def test_texts_that_no_longer_match_are_left_out(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path)
    execute_sql(
        db_path,
        ("UPDATE messages SET content = 'edited' WHERE receipt_hash = ?", (hashes[1],)),
        ("DELETE FROM commitment_salts WHERE receipt_hash = ?", (hashes[2],)),
    )
    with ReceiptChain(db_path) as chain:
        summary = export_receipts(chain, tmp_path / "all.jsonl", with_content=True)

    assert (summary.count, summary.with_content) == (5, 3)
    report = check(tmp_path / "all.jsonl")
    assert (report.ok, report.commitments) == (True, 3)


def test_a_conversation_exports_as_a_selection_with_proofs(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path, (3, 2))
    out = export(db_path, tmp_path / "chat.jsonl", conversation_id=2, with_content=True)
    header, *receipts = lines(out)

    assert (header["scope"], header["receipts"]) == ("selection", 2)
    assert [(r["seq"], r["hash"]) for r in receipts] == [(4, hashes[3]), (5, hashes[4])]
    assert all(r["proof"] for r in receipts)
    report = check(out)
    assert (report.ok, report.commitments) == (True, 2)
    assert "selection, each with its inclusion proof" in report.message


def test_one_receipt_exports_with_its_inclusion_proof(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path, (5,))
    out = export(db_path, tmp_path / "one.jsonl", receipt_hash=hashes[2][:10].upper())
    header, receipt = lines(out)

    assert (header["receipts"], receipt["seq"], receipt["hash"]) == (1, 3, hashes[2])
    assert len(receipt["proof"]) == 3
    assert check(out).ok


def test_a_chosen_set_exports_as_a_selection(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path, (3, 3))
    out = export(db_path, tmp_path / "set.jsonl", receipt_hashes={hashes[5], hashes[0]})

    assert [(r["seq"], r["hash"]) for r in lines(out)[1:]] == [(1, hashes[0]), (6, hashes[5])]
    assert check(out).ok
    with pytest.raises(ExportError, match="not in the chain, or not covered") as caught:
        export(db_path, tmp_path / "x.jsonl", receipt_hashes=[hashes[0], "ab" * 32])
    assert caught.value.code == 1
    with pytest.raises(ValueError, match="not several"):
        export(db_path, tmp_path / "x.jsonl", receipt_hashes=[hashes[0]], conversation_id=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"receipt_hashes": []}, "no receipts are chosen"),
        ({"receipt_hash": "0" * 64}, "no receipt has a hash starting 000000"),
        ({"receipt_hash": "xyz"}, "'xyz' is not a receipt hash"),
        ({"conversation_id": 99}, "there is no conversation with id 99"),
    ],
)
def test_a_request_that_matches_nothing_is_refused(
    db_path: Path, tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    build(db_path, (1,))
    with pytest.raises(ExportError, match=message) as caught:
        export(db_path, tmp_path / "x.jsonl", **options)
    assert caught.value.code == 2
    assert not list(tmp_path.glob("x.jsonl*"))


def test_a_broken_chain_is_not_exported(db_path: Path, tmp_path: Path) -> None:
    build(db_path, (3,))
    execute_sql(db_path, ("UPDATE receipts SET body = replace(body, 'NANO', 'HUGE')", ()))

    with pytest.raises(ExportError, match="the local chain does not verify: receipt #1") as caught:
        export(db_path, tmp_path / "x.jsonl")
    assert caught.value.code == 1
    assert not list(tmp_path.glob("x.jsonl*"))


def test_nothing_to_export_yet(db_path: Path, tmp_path: Path) -> None:
    ReceiptChain(db_path).close()
    with pytest.raises(ExportError, match="no signed receipts to export yet"):
        export(db_path, tmp_path / "x.jsonl")


# --- tampering with an export ------------------------------------------------------------------


Records = list[dict[str, Any]]


def _change_body(records: Records) -> None:
    records[3]["body"] = records[3]["body"].replace("NANO", "HUGE")


def _delete_receipt(records: Records) -> None:
    del records[2]
    records[0]["receipts"] -= 1


def _insert_copy(records: Records) -> None:
    records.insert(3, dict(records[2]))
    records[0]["receipts"] += 1


def _reorder(records: Records) -> None:
    records[2], records[3] = records[3], records[2]


def _renumber(records: Records) -> None:
    records[2]["seq"], records[3]["seq"] = records[3]["seq"], records[2]["seq"]
    _reorder(records)


def _cut_tail(records: Records) -> None:
    del records[-1]
    records[0]["receipts"] -= 1


def _reformat_last_body(records: Records) -> None:
    pretty = json.dumps(json.loads(records[-1]["body"]), indent=1)
    records[-1] |= {"body": pretty, "hash": hashlib.sha256(pretty.encode()).hexdigest()}


def _change_response(records: Records) -> None:
    records[2]["response"] += "!"


def _change_salt(records: Records) -> None:
    records[2]["salt"] = "00" * 32


def _resign_with_another_key(records: Records) -> None:
    # Self-consistent under a new key: valid on its own, so the header names the signer.
    other = SigningKey.generate()
    size, root = records[0]["checkpoint"].split("\n")[1:3]
    note = Checkpoint(other.name, int(size), base64.b64decode(root)).sign(other)
    records[0] |= {"checkpoint": note, "public_key": other.verifier.encode(), "origin": other.name}


def _checkpoint_of_another_key(records: Records) -> None:
    other = SigningKey.generate()
    records[0]["checkpoint"] = Checkpoint(other.name, 5, b"\x00" * 32).sign(other)


def _swap_public_key(records: Records) -> None:
    records[0]["public_key"] = SigningKey.generate().verifier.encode()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_change_body, "line 4: receipt #3 (hash "),
        (_delete_receipt, "line 3: receipt #3 (hash "),
        (_insert_copy, "line 4: receipt #2 (hash "),
        (_reorder, "line 3: receipt #3 (hash "),
        (_renumber, "line 3: receipt #2 (hash "),
        (_cut_tail, "the signed checkpoint covers 5 receipts but the export holds 4: receipt #5"),
        (_reformat_last_body, "line 6: receipt #5 (hash "),
        (_change_response, "line 3: receipt #2: the response does not match its commitment"),
        (_change_salt, "line 3: receipt #2: the prompt does not match its commitment"),
        (_checkpoint_of_another_key, "the export's checkpoint is not from this log: it is signed"),
        (_swap_public_key, "the origin is not the name of its key"),
    ],
)
def test_tampering_with_an_export_is_named(
    db_path: Path, tmp_path: Path, tamper: Callable[[Records], None], message: str
) -> None:
    build(db_path)
    out = export(db_path, tmp_path / "all.jsonl", with_content=True)
    records = lines(out)
    tamper(records)
    write_lines(out, records)

    report = check(out)
    assert (report.ok, report.code) == (False, 1)
    assert message in report.message


def test_an_export_resigned_by_another_key_fails_against_a_kept_checkpoint(
    db_path: Path, tmp_path: Path
) -> None:
    build(db_path)
    with ReceiptChain(db_path) as chain:
        kept = chain.latest_checkpoint()
    out = export(db_path, tmp_path / "all.jsonl")
    records = lines(out)
    _resign_with_another_key(records)
    write_lines(out, records)

    assert check(out).ok  # on its own it is a valid export, of someone else's log
    report = check(out, kept)
    assert not report.ok
    assert report.message.startswith("the kept checkpoint is not from this log: it is signed")


def test_a_selection_with_a_broken_proof_is_refused(db_path: Path, tmp_path: Path) -> None:
    hashes = build(db_path, (5,))
    out = export(db_path, tmp_path / "one.jsonl", receipt_hash=hashes[1])
    records = lines(out)
    records[1]["proof"] = records[1]["proof"][::-1]
    write_lines(out, records)

    assert "line 2: receipt #2: its inclusion proof fails" in check(out).message


# --- against a kept checkpoint -------------------------------------------------------------------


def test_a_later_export_extends_a_kept_checkpoint(db_path: Path, tmp_path: Path) -> None:
    build(db_path, (2,))
    with ReceiptChain(db_path) as chain:
        kept = chain.latest_checkpoint()
    build(db_path, (3,))
    whole = export(db_path, tmp_path / "all.jsonl")
    selection = export(db_path, tmp_path / "one.jsonl", conversation_id=2)

    assert check(whole, kept).message.endswith("it extends the kept checkpoint of 2")
    report = check(selection, kept)
    assert report.code == 1
    assert "a selection export cannot prove it extends a kept checkpoint" in report.message


def test_an_old_export_is_caught_by_a_newer_kept_checkpoint(db_path: Path, tmp_path: Path) -> None:
    build(db_path, (2,))
    old = export(db_path, tmp_path / "old.jsonl")
    build(db_path, (2,))
    with ReceiptChain(db_path) as chain:
        kept = chain.latest_checkpoint()

    assert check(old, kept).message == (
        "the kept checkpoint vouches for 4 receipts but the export holds only 2: receipts #3 to "
        "#4 were cut off, or the database was rolled back"
    )


# --- unreadable input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"", "the file is empty"),
        (b"hello\n", "it is not a BIZRA receipts export"),
        (b'{"format":"bizra-receipts-export/9"}\n', "its format bizra-receipts-export/9 is not"),
    ],
)
def test_unreadable_input_exits_2(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "export.jsonl"
    if content is not None:
        path.write_bytes(content)
    report = check(path)
    assert (report.ok, report.code) == (False, 2)
    assert message in report.message


# --- every change is caught ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A whole-chain export and a one-receipt export, with content, as one sample each."""
    folder = tmp_path_factory.mktemp("small")
    db_path = folder / "home" / "bizra.sqlite3"
    build(db_path, (2,))
    return export(db_path, folder / "all.jsonl", with_content=True).read_bytes()


@pytest.fixture(scope="module")
def small_selection(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("selection")
    db_path = folder / "home" / "bizra.sqlite3"
    hashes = build(db_path, (3,))
    return export(
        db_path, folder / "one.jsonl", receipt_hash=hashes[1], with_content=True
    ).read_bytes()


def verify_bytes(data: bytes) -> ExportReport:
    return verify_export_file(io.BytesIO(data))


def test_a_field_name_with_a_newline_is_reported_on_one_line(small_selection: bytes) -> None:
    # Found by the fuzzer: one byte turned the header's "checkpoint" into "checkpo\nt".
    report = verify_bytes(small_selection.replace(b'"checkpoint"', b'"checkpo\\nt"', 1))
    assert not report.ok
    assert report.message == (
        "line 1 (the header): missing or unexpected fields checkpo\\nt, checkpoint"
    )


@pytest.mark.reliability(
    area="Fuzzing and properties",
    case="every byte of an export flipped",
    done="each byte of a whole-chain and a one-receipt export, XOR 0x01 and XOR 0x80",
)
@pytest.mark.parametrize("sample", ["small_export", "small_selection"])
def test_every_single_byte_change_is_detected(
    sample: str, request: pytest.FixtureRequest, record_property: RecordProperty
) -> None:
    data: bytes = request.getfixturevalue(sample)
    assert verify_bytes(data).ok
    for index in range(len(data)):
        for flip in (0x01, 0x80):  # the lowest bit: a close look-alike; the top bit: not ASCII
            changed = bytearray(data)
            changed[index] ^= flip
            assert not verify_bytes(bytes(changed)).ok, f"byte {index} ^ {flip:#x} went unseen"
    record_property("runs", 2 * len(data))
    record_property("result", f"all {2 * len(data)} changed exports refused")


_line_text = st.text(st.characters(codec="utf-8"), max_size=20)
_line_values = st.one_of(
    _line_text,
    st.booleans(),
    st.integers(0, 2**53 - 1),
    st.lists(_line_text, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["body", "hash", "seq", "proof", "salt"]), _line_values))
def test_lines_are_rfc8785_canonical(record: dict[str, Any]) -> None:
    assert encode_line(record) == rfc8785.dumps(record) + b"\n"
