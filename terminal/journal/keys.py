"""The terminal's Ed25519 signing key.

The key file holds the private key as unencrypted PKCS#8 PEM, mode 0600, created atomically
(a crash never leaves a half-written key and two processes never create two keys).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from terminal.errors import JournalError
from terminal.journal.files import create_exclusive

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw


def fingerprint_of(public_key_b64: str) -> str:
    """``SHA256:`` + first 16 hex digits of SHA-256 of the raw 32-byte public key."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = public_key_b64.encode("utf-8", "replace")
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def load_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """The Ed25519 public key from base64 of its raw 32 bytes (JournalError if malformed)."""
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise JournalError(
            f"public key {public_key_b64[:60]!r} is not base64 of a raw 32-byte Ed25519 key; "
            "pass the key exactly as enrolled (e.g. the output of 'madoguchi key show')"
        ) from exc


def verify_hash_sig(public_key_b64: str, hash_hex: str, sig_b64: str) -> bool:
    """True if ``sig_b64`` is the key's Ed25519 signature of the 32 raw bytes of ``hash_hex``."""
    try:
        key = load_public_key(public_key_b64)
        raw = base64.b64decode(sig_b64, validate=True)
        if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != sig_b64:
            return False  # a non-canonical spelling of a signature is not the signed text
        key.verify(raw, bytes.fromhex(hash_hex))
    except (JournalError, InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


class TerminalKey:
    """A terminal's private signing key, with its public key and fingerprint."""

    __slots__ = ("_private", "path", "public_key_b64")

    def __init__(self, private: Ed25519PrivateKey, path: Path | None = None) -> None:
        self._private = private
        self.path = path
        raw = private.public_key().public_bytes(_RAW, _RAW_PUB)
        self.public_key_b64 = base64.b64encode(raw).decode("ascii")

    @classmethod
    def generate(cls) -> TerminalKey:
        """A fresh key in memory only (tests, enrollment before saving)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> TerminalKey:
        """Load the key file (PEM PKCS#8, or the raw 32-byte private key)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise JournalError(
                f"cannot read the terminal key {path}: {exc.strerror or exc}; "
                "check the path and that madoguchi runs as the key's owner"
            ) from exc
        return cls(_parse_private(data, path), path)

    @classmethod
    def load_or_create(cls, path: Path) -> TerminalKey:
        """Load the key at ``path``, creating it (mode 0600, atomically) if it does not exist."""
        if path.exists():
            return cls.load(path)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if not create_exclusive(path, pem):
            return cls.load(path)  # another process created it first: use theirs
        return cls(key, path)

    def to_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (what the key file holds)."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, data: bytes) -> TerminalKey:
        """A key from PEM PKCS#8 bytes (or the raw 32-byte private key); JournalError if not."""
        return cls(_parse_private(data, Path("<pem data>")))

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_key_b64)

    def sign_hash(self, hash_hex: str) -> str:
        """Base64 Ed25519 signature of the 32 raw bytes of ``hash_hex``."""
        return base64.b64encode(self._private.sign(bytes.fromhex(hash_hex))).decode("ascii")

    def __repr__(self) -> str:
        return f"TerminalKey({self.fingerprint}, path={self.path})"


def _parse_private(data: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        if len(data) == 32:
            return Ed25519PrivateKey.from_private_bytes(data)
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise JournalError(
            f"{path} is not an Ed25519 private key (PEM PKCS#8 or raw 32 bytes): {exc}; "
            "restore the terminal's key file from its backup"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise JournalError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 key; "
            "restore the terminal's key file from its backup"
        )
    return key


def public_key_from_file(path: Path) -> str:
    """The base64 public key of a key file: the terminal's private key (PEM or raw 32 bytes)
    or a text file holding the base64 public key (as ``valid.public_key`` in the vectors)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc
    text = data.strip()
    if len(text) == 44 and not text.startswith(b"-----"):
        b64 = text.decode("ascii", "replace")
        load_public_key(b64)  # raises JournalError if it is not a key
        return b64
    return TerminalKey(_parse_private(data, path), path).public_key_b64
