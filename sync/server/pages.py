"""The receipt QR page: public, no login; says genuine (真正), not yet received (未受信) or
mismatch (不一致) for {server}/r/{terminal}/{seq}/{hash prefix}."""

from __future__ import annotations

import html
import re
from typing import Final

from sqlalchemy import Engine, select

from sync.server.ingest import MAX_SEQ
from sync.server.models import StoredEntry
from sync.server.sql import storable

_PREFIX: Final = re.compile(r"[0-9a-fA-F]{8,64}")
_STYLE: Final = ("body{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em}"
                 ".ok{color:#060}.wait{color:#666}.bad{color:#b00}")


def _page(css: str, title: str, detail: str) -> str:
    return (
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1 class=\"{css}\">{html.escape(title)}</h1><p>{detail}</p></body></html>"
    )


def receipt_page(engine: Engine, terminal: str, seq: int, prefix: str) -> tuple[int, str]:
    """(HTTP status, HTML) for one receipt code."""
    where = (f"端末 (terminal) {html.escape(terminal)} / 番号 (seq) {seq}")
    if not _PREFIX.fullmatch(prefix):
        return 200, _page("bad", "不一致 — mismatch",
                          f"{where}: この照合コードは不正です。(The check code is malformed.)")
    row = None
    if 1 <= seq <= MAX_SEQ and storable(terminal):  # else never stored (nor bindable)
        with engine.begin() as conn:
            row = conn.execute(select(StoredEntry.hash, StoredEntry.day, StoredEntry.at).where(
                StoredEntry.terminal == terminal, StoredEntry.seq == seq)).one_or_none()
    if row is None:
        return 404, _page("wait", "未受信 — not yet received",
                          f"{where}: この取引はまだサーバーに届いていません。時間をおいて再度"
                          "お試しください。(This entry has not reached the server yet; try "
                          "again later.)")
    if not row.hash.startswith(prefix.lower()):
        return 200, _page("bad", "不一致 — mismatch",
                          f"{where}: 記録と一致しません。窓口にお問い合わせください。"
                          "(It does not match the stored record; please ask at the counter.)")
    return 200, _page("ok", "真正 — genuine",
                      f"{where}: 営業日 (day) {html.escape(row.day)}, "
                      f"{html.escape(row.at)} — 記録と一致しました。"
                      "(It matches the stored record.)")
