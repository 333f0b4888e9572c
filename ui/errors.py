"""Errors as plain messages in the clerk's language that say what to do."""

from __future__ import annotations

import re
import sys

from terminal.errors import (
    ApprovalRequired,
    AuthError,
    CardRemoved,
    DeviceError,
    DeviceTimeout,
    DeviceUnavailable,
    DomainError,
    JournalError,
    PaymentDeclined,
)
from terminal.payments import PaymentPending
from ui.i18n import tr

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
_BILINGUAL = re.compile(r"^(?P<ja>[^()]*?)\s*\((?P<en>[^()]*)\)(?P<rest>.*)$", re.S)

# Most specific first: PaymentPending is a DomainError, PaperOut a PrinterOffline...
_KEYS: tuple[tuple[type[BaseException], str], ...] = (
    (PaymentPending, "err.pending"),
    (PaymentDeclined, "err.declined"),
    (CardRemoved, "err.card_removed"),
    (DeviceTimeout, "err.device_timeout"),
    (DeviceUnavailable, "err.device_unavailable"),
    (DeviceError, "err.device"),
    (ApprovalRequired, "err.approval"),
    (AuthError, "err.auth"),
    (JournalError, "err.journal"),
    (DomainError, "err.domain"),
)


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def split_bilingual(message: str, lang: str) -> str:
    """The part of a core message ("日本語 (English): detail") in ``lang`` ('' if none)."""
    match = _BILINGUAL.match(message.strip())
    if match is None:
        return message if has_cjk(message) == (lang == "ja") else ""
    ja, en, rest = match["ja"].strip(), match["en"].strip(), match["rest"].strip(" :;")
    parts = [ja] if lang == "ja" else [en]
    if rest and has_cjk(rest) == (lang == "ja"):
        parts.append(rest)
    return ": ".join(p for p in parts if p and has_cjk(p) == (lang == "ja"))


def _printer_keys() -> tuple[tuple[type[BaseException], str], ...]:
    """The printer's errors, when its driver is loaded (if it is not, none can be raised;
    importing it here would cost the start-up python-escpos)."""
    errors = sys.modules.get("drivers.printer.errors")
    if errors is None:
        return ()
    return ((errors.PaperOut, "err.paper_out"), (errors.CoverOpen, "err.cover_open"),
            (errors.PrinterOffline, "err.printer_offline"))


def describe(exc: BaseException, lang: str) -> str:
    """What happened and what to do, in ``lang`` (the core's own detail when it fits)."""
    for kind, key in (*_KEYS[:2], *_printer_keys(), *_KEYS[2:]):
        if isinstance(exc, kind):
            advice = tr("clerk", lang, key)
            detail = split_bilingual(str(exc), lang)
            if kind in (DomainError, ApprovalRequired, AuthError) and detail:
                return f"{detail}\n{advice}"
            return advice
    return tr("clerk", lang, "err.unexpected")
