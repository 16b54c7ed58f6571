"""The installation key and signed checkpoints: the C2SP formats, file permissions, and the
checks against a checkpoint kept outside the database (cut-off tail, rollback, another key)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
import sys
from pathlib import Path

import pytest

from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.checkpoint import (
    Checkpoint,
    CheckpointError,
    ForeignKeyError,
    open_checkpoint,
    parse_note,
)
from bizra_desktop.core.receipts.keys import (
    BadKeyError,
    SigningKey,
    VerifierKey,
    key_path,
    load_or_create_signing_key,
    load_signing_key,
)
from bizra_desktop.core.receipts.merkle import EMPTY_ROOT, CompactRange, leaf_hash
from tests.core.test_receipts import inference_fields

ROOT = hashlib.sha256(b"a root").digest()


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


# --- the key -------------------------------------------------------------------------------------


@pytest.mark.reliability(
    area="Secrets and privacy",
    case="the signing key file is owner-only",
    done="the key made as on a first append: file mode and folder mode",
)
@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no owner-only mode bits")
def test_the_key_file_is_owner_only(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    load_or_create_signing_key(keys)

    assert stat.S_IMODE(key_path(keys).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert [p.name for p in keys.iterdir()] == ["receipts.key"]  # no temporary file left


def test_the_key_is_made_once_and_read_back(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path)
    again = load_or_create_signing_key(tmp_path)

    assert again.verifier == first.verifier
    assert load_signing_key(tmp_path / "none") is None


def test_the_private_key_never_shows_in_repr(tmp_path: Path) -> None:
    made = load_or_create_signing_key(tmp_path)
    # PRIVATE+KEY+name+id+base64: base64 has '+' of its own, so split off the four fields.
    secret = key_path(tmp_path).read_text().strip().split("+", 4)[4]
    assert len(secret) == 44  # base64 of 0x01 and the 32-byte seed

    assert secret not in repr(made)
    assert repr(made) == f"SigningKey({made.verifier.describe()})"


def test_a_damaged_key_file_is_named_without_its_content(tmp_path: Path) -> None:
    key_path(tmp_path).write_text("PRIVATE+KEY+bizra-desktop/x+00000000+AAAA\n")

    with pytest.raises(BadKeyError, match="is damaged") as caught:
        load_signing_key(tmp_path)
    assert "AAAA" not in str(caught.value)


def test_key_strings_follow_the_signed_note_format(key: SigningKey) -> None:
    vkey = key.verifier.encode()
    name, id_hex, key_b64 = vkey.split("+", 2)  # base64 may hold "+" too
    raw = base64.b64decode(key_b64)

    assert name == key.name and name.startswith("bizra-desktop/")
    assert raw[0] == 1 and len(raw) == 33
    expected_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert bytes.fromhex(id_hex) == expected_id
    assert VerifierKey.parse(vkey) == key.verifier
    assert SigningKey.parse_private(key.encode_private()).verifier == key.verifier


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v.replace("+", "-", 1),
        lambda v: v.upper(),
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
        lambda v: v + "=",
        lambda v: v.split("+")[0],
    ],
)
def test_a_verifier_key_has_one_spelling(key: SigningKey, mangle: object) -> None:
    assert callable(mangle)
    with pytest.raises(BadKeyError):
        VerifierKey.parse(mangle(key.verifier.encode()))


# --- the note ------------------------------------------------------------------------------------


def test_a_checkpoint_is_a_c2sp_signed_note(key: SigningKey) -> None:
    note = Checkpoint(key.name, 42, ROOT).sign(key)
    body, _, signature_line = note.partition("\n\n")

    assert body + "\n" == f"{key.name}\n42\n{base64.b64encode(ROOT).decode()}\n"
    dash, name, signature_b64 = signature_line.removesuffix("\n").split(" ")
    signature = base64.b64decode(signature_b64)
    assert (dash, name) == ("\u2014", key.name)
    assert signature[:4] == key.verifier.key_id
    assert key.verifier.verify(signature[4:], (body + "\n").encode())
    assert open_checkpoint(note, key.verifier) == Checkpoint(key.name, 42, ROOT)


def test_another_keys_signature_is_reported_as_such(key: SigningKey) -> None:
    other = SigningKey.generate()
    note = Checkpoint(other.name, 3, ROOT).sign(other)

    with pytest.raises(ForeignKeyError, match=f"signed by another key: {other.name}"):
        open_checkpoint(note, key.verifier)


def test_a_same_named_key_is_still_another_key(key: SigningKey) -> None:
    impostor = SigningKey(key.name, SigningKey.generate()._private)
    note = Checkpoint(key.name, 3, ROOT).sign(impostor)

    with pytest.raises(ForeignKeyError):
        open_checkpoint(note, key.verifier)


def test_every_single_byte_change_to_a_note_is_refused(key: SigningKey) -> None:
    note = Checkpoint(key.name, 1234, ROOT).sign(key).encode()
    for index in range(len(note)):
        for flip in (0x01, 0x20):
            changed = bytearray(note)
            changed[index] ^= flip
            try:
                text = changed.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a file that is not text is refused before it is parsed
            with pytest.raises(CheckpointError):
                open_checkpoint(text, key.verifier)


@pytest.mark.parametrize(
    "note",
    ["", "no blank line\n", "origin\n1\nroot\n\n", "a\n1\nAAAA\n\n- name sig\n", "x\n\n\u2014 n\n"],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(CheckpointError):
        parse_note(note)


def test_a_key_signs_only_for_its_own_log(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="cannot sign for the log"):
        Checkpoint("someone-else", 1, ROOT).sign(key)


# --- a checkpoint kept outside the database ----------------------------------------------------


def append(db_path: Path, count: int, start: int = 0) -> str:
    """Append `count` receipts; the latest checkpoint after them."""
    with ReceiptChain(db_path) as chain:
        for i in range(start, start + count):
            chain.append(inference_fields(i))
        note = chain.latest_checkpoint()
    assert note is not None
    return note


def verify_against(db_path: Path, kept: str | None) -> str:
    with ReceiptChain(db_path) as chain:
        report = chain.verify(kept_checkpoint=kept)
    assert "\n" not in report.message
    return report.message if not report.ok else "ok: " + report.message


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "bizra.sqlite3"


def test_a_chain_that_grew_extends_the_kept_checkpoint(db_path: Path) -> None:
    kept = append(db_path, 5)
    append(db_path, 4, start=5)

    assert verify_against(db_path, kept).endswith("and it extends the kept checkpoint of 5")


def test_a_cut_off_tail_is_found_with_the_kept_checkpoint(db_path: Path) -> None:
    kept = append(db_path, 7)
    _cut_tail(db_path, 4)

    assert verify_against(db_path, None).startswith("ok: chain of 4 receipts is intact")
    message = verify_against(db_path, kept)
    assert message == (
        "the kept checkpoint vouches for 7 receipts but the chain holds only 4: receipts #5 to "
        "#7 were cut off, or the database was rolled back"
    )


def test_a_rolled_back_database_is_found_with_the_kept_checkpoint(db_path: Path) -> None:
    append(db_path, 3)
    backup = db_path.with_name("backup.sqlite3")
    shutil.copy(db_path, backup)  # close() folded the WAL in: the file is the whole database
    kept = append(db_path, 3, start=3)
    shutil.copy(backup, db_path)

    assert "vouches for 6 receipts but the chain holds only 3" in verify_against(db_path, kept)

    append(db_path, 5, start=100)  # rolled back, then appended past the kept size
    assert verify_against(db_path, kept) == (
        "the chain is not an extension of the kept checkpoint of 6 receipts: receipts among #1 "
        "to #6 were changed, or the database was rolled back and appended to"
    )


def test_a_kept_checkpoint_of_another_key_is_reported_as_such(db_path: Path) -> None:
    append(db_path, 2)
    other = SigningKey.generate()
    kept = Checkpoint(other.name, 2, EMPTY_ROOT).sign(other)

    message = verify_against(db_path, kept)
    assert message.startswith("the kept checkpoint is not valid: it is signed by another key: ")
    assert other.verifier.describe() in message


def test_an_altered_kept_checkpoint_is_refused(db_path: Path) -> None:
    kept = append(db_path, 2).replace("\n2\n", "\n1\n")

    assert "signature does not verify" in verify_against(db_path, kept)


def _cut_tail(db_path: Path, keep: int) -> None:
    """Delete the receipts after #keep and re-sign the Merkle state to match, as someone who
    can read the key file could: the database on its own looks whole again."""
    key = load_signing_key(db_path.parent / "keys")
    assert key is not None
    with ReceiptChain(db_path) as chain, chain.transaction() as conn:
        conn.execute("DELETE FROM receipts WHERE seq > ?", (keep,))
        frontier = CompactRange()
        for (receipt_hash,) in conn.execute("SELECT hash FROM receipts ORDER BY seq"):
            frontier.append(leaf_hash(bytes.fromhex(receipt_hash)))
        note = Checkpoint(key.name, keep, frontier.root()).sign(key)
        conn.execute("UPDATE merkle_state SET size = ?, frontier = ?", (keep, frontier.to_bytes()))
        conn.execute("UPDATE checkpoints SET tree_size = ?, note = ?", (keep, note))
