"""Enrolling a terminal with the server, and the pinned server key it leaves behind.

Enrollment sends the terminal's public key with a one-time code; the server answers with its
own public key, which is pinned in ``data_dir/server.pub`` (it verifies published configs).
The server URL goes to ``data_dir/server.url``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kiosk_config.schema import KioskConfig
from sync.client import enroll
from terminal.errors import JournalError
from terminal.journal.files import fsync_dir
from terminal.journal.keys import TerminalKey, fingerprint_of, load_public_key

SERVER_KEY_FILE = "server.pub"
SERVER_URL_FILE = "server.url"


@dataclass(frozen=True, slots=True)
class EnrollResult:
    terminal: str
    facility: str
    server_url: str
    terminal_fingerprint: str
    server_fingerprint: str
    replaced_server_key: bool  # a different server key was pinned before


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace`` (never half-made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _read(path: Path) -> str | None:
    try:
        text = path.read_text("utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def load_server_key(config: KioskConfig) -> str | None:
    """The pinned server public key (base64), or None when the terminal is not enrolled."""
    key = _read(config.data_dir / SERVER_KEY_FILE)
    if key is not None:
        try:
            load_public_key(key)
        except JournalError as exc:
            raise JournalError(
                f"{config.data_dir / SERVER_KEY_FILE} に不正な鍵があります (holds no valid "
                f"server key): 端末を登録し直してください (re-enroll: madoguchi enroll): {exc}"
            ) from exc
    return key


def load_server_url(config: KioskConfig) -> str | None:
    """The server URL saved at enrollment, else the kiosk config's, else None."""
    return _read(config.data_dir / SERVER_URL_FILE) or config.server_url


def enroll_terminal(config: KioskConfig, server_url: str, code: str) -> EnrollResult:
    """Enroll this terminal (creating its key if needed) and pin the server's key."""
    key = TerminalKey.load_or_create(config.key_path)
    server_key = enroll(server_url, code, config.terminal_id, config.facility_id,
                        key.public_key_b64)
    load_public_key(server_key)  # refuse to pin anything that is not an Ed25519 key
    previous = _read(config.data_dir / SERVER_KEY_FILE)
    write_text_atomic(config.data_dir / SERVER_KEY_FILE, server_key + "\n")
    write_text_atomic(config.data_dir / SERVER_URL_FILE, server_url.rstrip("/") + "\n")
    return EnrollResult(
        config.terminal_id, config.facility_id, server_url.rstrip("/"), key.fingerprint,
        fingerprint_of(server_key), previous is not None and previous != server_key,
    )
