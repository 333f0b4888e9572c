"""はちのへポイント in words: the clerk's status line and the visitor's lines, per language.

Pure functions over ``CardStatus`` / ``AwardStatus``; a card is named only by its masked IDm.
"""

from __future__ import annotations

from ui.i18n import tr
from ui.points_desk import AwardStatus, CardStatus

_CLERK_REASONS = {
    "earn": "points.earn", "offline": "points.earn_offline", "training": "points.training",
    "not_eligible": "points.not_eligible", "cap": "points.cap", "quota": "points.quota",
}
_CUSTOMER_REASONS = {
    "earn": "pt.earn", "offline": "pt.earn", "training": "pt.earn",
    "not_eligible": "pt.not_eligible", "cap": "pt.cap", "quota": "pt.quota",
}


def _n(value: int) -> str:
    return f"{value:,}"


def clerk_status(status: CardStatus, lang: str) -> str:
    """One line for the clerk: card, balance, and what this sale earns (or why not)."""
    parts = [tr("clerk", lang, "points.title"), tr("clerk", lang, "points.card",
                                                   card=status.masked)]
    if status.balance is not None:
        parts.append(tr("clerk", lang, "points.balance", balance=_n(status.balance)))
    else:
        parts.append(tr("clerk", lang, "points.balance_later"))
    if status.purchase:
        parts.append(tr("clerk", lang, _CLERK_REASONS[status.reason],
                        points=_n(status.will_award)))
    elif status.cap_left is not None:
        parts.append(tr("clerk", lang, "points.cap_left", points=_n(status.cap_left)))
    return " / ".join(parts)


def clerk_award(award: AwardStatus, lang: str) -> str:
    key = ("points.awarded_training" if award.training else "points.awarded" if award.online
           else "points.awarded_offline")
    return tr("clerk", lang, key, points=_n(award.points), card=award.masked or "—")


def customer_status(status: CardStatus, lang: str) -> str:
    """The visitor's lines after a tap during a sale: balance, then what this visit earns."""
    lines = []
    if status.balance is not None:
        lines.append(tr("customer", lang, "pt.balance", points=_n(status.balance)))
    lines.append(tr("customer", lang, _CUSTOMER_REASONS[status.reason],
                    points=_n(status.will_award)))
    if status.reason == "offline":  # the balance is unknown and the award settles later
        lines.append(tr("customer", lang, "pt.pending"))
    return "\n".join(lines)


def customer_award(award: AwardStatus, lang: str) -> str:
    key = "pt.awarded" if award.online or award.training else "pt.awarded_pending"
    return tr("customer", lang, key, points=_n(award.points))


def customer_check(status: CardStatus | None, checking: bool,
                   lang: str) -> tuple[str, str, str]:
    """Heading, big line and detail of the customer display during a balance check."""
    heading = tr("customer", lang, "pt.check")
    if checking or status is None:
        return heading, "", tr("customer", lang, "prompt.tap")
    if status.balance is None:
        return heading, "", tr("customer", lang, "pt.balance_later")
    detail = ("" if status.cap_left is None
              else tr("customer", lang, "pt.cap_left", points=_n(status.cap_left)))
    return heading, tr("customer", lang, "points", points=_n(status.balance)), detail
