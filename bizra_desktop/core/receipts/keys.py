"""The installation's Ed25519 signing key, and verifier keys, in the C2SP signed-note key format.

One key per installation, made on first use in DataPaths.keys. Key strings follow Go's
golang.org/x/mod/sumdb/note, so standard tools read them:

    signer   PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖ 32-byte seed)>
    verifier <name>+<key id hex>+<base64(0x01 ‖ 32-byte public key)>

key id = the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key). The name is also the log's
origin, "bizra-desktop/<install id>", the install id being the start of the public key's hash.

The private key file is created owner-only (0600). On Windows the mode bits cannot express that:
the file relies on the ACL of the user's profile folder, which other users cannot read.
Nothing here logs or formats a private key; errors name the file, never its content.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ALG_ED25519 = b"\x01"  # the signed-note algorithm byte for Ed25519
KEY_FILE = "receipts.key"
ORIGIN_PREFIX = "bizra-desktop/"
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class BadKeyError(ValueError):
    """A key file or key string that cannot be used; str() is one line naming the problem."""


def strict_b64decode(text: str) -> bytes:
    """Base64 that has exactly one spelling per value: the padding bits of the last character
    could otherwise change without changing the bytes, and a changed byte must never go unseen."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise ValueError("not in standard base64 form")
    return data


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def note_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ALG_ED25519 + public).digest()[:4]


def describe_key(name: str, key_id: bytes) -> str:
    """How a user tells keys apart: the name and the id."""
    return f"{name} (key id {key_id.hex()})"


def valid_name(name: str) -> bool:
    """A signed-note key name: not empty, no '+', no whitespace or control characters."""
    return bool(name) and "+" not in name and all(c.isprintable() and not c.isspace() for c in name)


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes  # the raw 32-byte Ed25519 public key

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.public)

    def encode(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(ALG_ED25519 + self.public)}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Read a verifier key string; BadKeyError unless it is exactly what encode() writes."""
        name, _, rest = text.partition("+")
        _, _, key_b64 = rest.partition("+")  # the id is checked by re-encoding below
        try:
            raw = strict_b64decode(key_b64)
        except ValueError:
            raise BadKeyError("the public key is not base64") from None
        if not valid_name(name) or raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise BadKeyError("not an Ed25519 verifier key (name+id+base64 key)")
        key = cls(name, raw[1:])
        if key.encode() != text:
            raise BadKeyError("the public key's id does not match its name and key")
        return key

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def describe(self) -> str:
        return describe_key(self.name, self.key_id)


class SigningKey:
    """An Ed25519 private key with its note name. repr() shows only the public side."""

    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self._private = private
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = VerifierKey(name, public)

    @property
    def name(self) -> str:
        return self.verifier.name

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self.verifier.describe()})"

    @classmethod
    def generate(cls) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(ORIGIN_PREFIX + hashlib.sha256(public).hexdigest()[:16], private)

    def encode_private(self) -> str:
        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return (
            f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_id.hex()}+"
            f"{b64encode(ALG_ED25519 + seed)}"
        )

    @classmethod
    def parse_private(cls, text: str) -> SigningKey:
        if not text.startswith(_PRIVATE_PREFIX):
            raise BadKeyError("not a signed-note private key")
        name, _, rest = text[len(_PRIVATE_PREFIX) :].partition("+")
        id_hex, _, seed_b64 = rest.partition("+")
        try:
            raw = strict_b64decode(seed_b64)
        except ValueError:
            raise BadKeyError("the private key is not base64") from None
        if not valid_name(name) or raw[:1] != ALG_ED25519 or len(raw) != 33:
            raise BadKeyError("not an Ed25519 private key")
        key = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if key.verifier.key_id.hex() != id_hex:
            raise BadKeyError("the private key's id does not match its name and key")
        return key


def key_path(keys_dir: Path) -> Path:
    return keys_dir / KEY_FILE


def load_signing_key(keys_dir: Path) -> SigningKey | None:
    """The installation's key, or None if it has none yet. BadKeyError if the file is unusable."""
    path = key_path(keys_dir)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadKeyError(f"cannot read the signing key {path}: {_reason(exc)}") from None
    try:
        return SigningKey.parse_private(text)
    except BadKeyError as exc:
        raise BadKeyError(f"the signing key {path} is damaged: {exc}") from None


def load_or_create_signing_key(keys_dir: Path) -> SigningKey:
    """The installation's key, made on first use. Two processes starting together agree on one:
    the file appears whole under its final name (a hard link of a finished temporary file), and
    the one that loses the race reads the winner's key."""
    existing = load_signing_key(keys_dir)
    if existing is not None:
        return existing
    key = SigningKey.generate()
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = keys_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        _write_owner_only(temporary, key.encode_private() + "\n")
        with contextlib.suppress(FileExistsError):  # the other process's key stands
            os.link(temporary, key_path(keys_dir))
        _sync_folder(keys_dir)
    except OSError as exc:
        raise BadKeyError(f"cannot create the signing key in {keys_dir}: {_reason(exc)}") from None
    finally:
        temporary.unlink(missing_ok=True)
    loaded = load_signing_key(keys_dir)
    assert loaded is not None, "the key file was just linked into place"
    return loaded


def _write_owner_only(path: Path, text: str) -> None:
    # O_EXCL: never write a key into a file someone else prepared; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())  # the key must outlive a crash that the first checkpoint survives


def _sync_folder(folder: Path) -> None:
    # The new name must be on disk before a checkpoint signed with the key is committed.
    if os.name == "posix":  # Windows cannot open a folder to flush it; NTFS logs the rename
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
