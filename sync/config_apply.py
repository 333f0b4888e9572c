"""Fetching a published facility config and applying it at a safe point.

A published config is trusted only with the server key pinned at enrollment: its signature
covers ``sync.protocol.config_digest`` (facility, version, payload). A newer version is
written to ``data_dir/config/{facility}-v{version}.toml`` and recorded in the journal as a
``config.applied`` entry — but never while a sale is open (then the result is "deferred" and
nothing changes; the next fetch tries again).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from kiosk_config.schema import KioskConfig
from sync.client import PublishedConfig, SyncError
from sync.enrollment import load_server_key, write_text_atomic
from sync.protocol import config_digest
from terminal.journal.keys import TerminalKey, fingerprint_of, verify_hash_sig
from terminal.journal.store import Journal
from terminal.ports import Clock
from terminal.state import CounterState

APPLIED_KIND: Final = "config.applied"


class ConfigRefused(SyncError):
    """A published config failed its checks (signature, facility, digest): not applied."""


class ConfigClient(Protocol):
    def fetch_config(self) -> PublishedConfig | None: ...


@dataclass(frozen=True, slots=True)
class AppliedConfig:
    status: Literal["applied", "deferred"]
    facility: str
    version: int
    path: Path | None  # the written file (None when deferred)
    seq: int | None  # the config.applied entry (None when deferred)


def check_published(published: PublishedConfig, server_key: str | None, facility: str) -> None:
    """Raise ConfigRefused unless ``published`` is signed by the pinned server key."""
    if server_key is None:
        raise ConfigRefused(
            "サーバーの鍵が登録されていません (no server key pinned): 先に端末を登録してください "
            "(enroll the terminal first: madoguchi enroll)"
        )
    digest = config_digest(published.facility, published.version, published.payload)
    if not verify_hash_sig(server_key, digest, published.signature):
        raise ConfigRefused(
            f"設定 v{published.version} の署名が正しくありません (the config signature does "
            f"not verify with the pinned server key {fingerprint_of(server_key)}); "
            "適用しません、管理者に連絡してください (not applied; tell the administrator)"
        )
    if published.facility != facility:
        raise ConfigRefused(
            f"設定の施設が違います (config is for facility {published.facility!r}, this "
            f"terminal belongs to {facility!r}); 適用しません (not applied)"
        )
    actual = hashlib.sha256(published.payload.encode("utf-8")).hexdigest()
    if published.sha256 != actual:
        raise ConfigRefused(
            f"設定 v{published.version} の sha256 が内容と一致しません (sha256 does not match "
            "the payload); 適用しません (not applied)"
        )
    try:
        tomllib.loads(published.payload)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigRefused(
            f"設定 v{published.version} は TOML として読めません (not valid TOML): {exc}"
        ) from exc


def _scan(journal: Journal, facility: str) -> tuple[int, bool]:
    """The newest applied version of ``facility``'s config, and whether a sale is open."""
    state = CounterState(journal.terminal)
    applied = 0
    for entry in journal.entries():
        state.apply(entry.as_dict())
        if entry.kind == APPLIED_KIND and entry.body.get("facility") == facility:
            version = entry.body.get("version")
            if isinstance(version, int) and version > applied:
                applied = version
    return applied, state.open_sale is not None


def applied_version(journal_path: Path, facility: str) -> int:
    """The newest version of ``facility``'s config recorded in the journal (0: none)."""
    with Journal.open_readonly(journal_path) as journal:
        return _scan(journal, facility)[0]


def fetch_and_apply(
    client: ConfigClient,
    config: KioskConfig,
    journal_path: Path,
    key: TerminalKey,
    clock: Clock,
) -> AppliedConfig | None:
    """Fetch the newest published config and apply it if newer (None: nothing new)."""
    published = client.fetch_config()
    if published is None:
        return None
    check_published(published, load_server_key(config), config.facility_id)
    with Journal.open(journal_path, config.terminal_id, key) as journal:
        applied, sale_open = _scan(journal, config.facility_id)
        if published.version <= applied:
            return None
        if sale_open:
            return AppliedConfig("deferred", published.facility, published.version, None, None)
        path = config.data_dir / "config" / f"{published.facility}-v{published.version}.toml"
        write_text_atomic(path, published.payload)
        entry = journal.append(APPLIED_KIND, {
            "facility": published.facility,
            "version": published.version,
            "sha256": published.sha256,
            "path": str(path),
        }, clock.now())
    return AppliedConfig("applied", published.facility, published.version, path, entry.seq)
