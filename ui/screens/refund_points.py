"""The refund screen's "back to points" for another counter's sale: wait for the tap of the card
that paid.

The original sale names its points tenders, not their card, and the points service gives points
back only to the card that paid (``terminal.foreign_refund``). So, once a supervisor approved
the refund, the visitor is asked (on both screens) to tap that card; its IDm is hashed at once
with ``card_token`` exactly as the payment screen does, and only the token (and ``mask_idm`` for
the screens) goes further. The wait ends on a tap, when the clerk stops it, or after
``TAP_TIMEOUT_MS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from terminal.foreign_refund import ForeignSale
from terminal.points import card_token, mask_idm
from terminal.ports import CardTapped
from ui.qt import QObject, QTimer, Signal
from ui.session import Session

TAP_TIMEOUT_MS = 60_000
"""How long the screen waits for the visitor's card before it gives the refund up."""

_PAIR = re.compile(r"([^()]*?)\s*\(([^()]*)\)")


def points_paid(foreign: ForeignSale | None) -> bool:
    """Whether the sale was paid (at least partly) with points the service can give back."""
    if foreign is None:
        return False
    return any(t.get("kind") == "points" and t.get("ref") for t in foreign.body["tenders"])


def can_refund_to_points(session: Session, foreign: ForeignSale | None) -> bool:
    """Points paid for ``foreign`` can go back from this counter: it takes points and has a
    points service and the key to hash a card's IDm."""
    ctx = session.context
    return (points_paid(foreign) and ctx.points is not None and bool(ctx.points_key)
            and "points" in session.counter.settings.tenders)


def refusal_reason(message: str, lang: str) -> str:
    """The service's own reason in a refused give-back, in ``lang`` only. The message is
    "日本語 (English): <the service's words>", themselves "日本語 (English)" pairs; the first
    pair (points not given back) is what the clerk's message already says."""
    pairs = _PAIR.findall(message)
    if not pairs:
        return message.strip()
    parts = [(ja if lang == "ja" else en).strip(" :;") for ja, en in pairs]
    tail = message[message.rfind(")") + 1:].strip(" :;")  # words after the last pair
    shown = [part for part in parts[1:] or parts if part] + ([tail] if tail else [])
    return ": ".join(shown)


class CardWait(QObject):
    """Waits for one card tap while ``visible()``; emits the card's token and masked IDm."""

    tapped = Signal(str, str)  # card token (keyed hash), masked IDm
    ended = Signal()  # the wait stopped without a tap (cancelled or timed out)

    def __init__(self, session: Session, visible: Callable[[], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.visible = visible
        self.waiting = False
        self.timeout_ms = TAP_TIMEOUT_MS
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._timed_out)
        session.card_event.connect(self._on_card)

    def start(self, announce: bool = True) -> None:
        """Ask for the card (``announce``: say so on the clerk's screen too; a refusal that
        asks for another tap keeps its own message)."""
        self.waiting = True
        self.session.hachica.claims.add(self)  # the tap is ours, not a balance check
        self.timer.start(self.timeout_ms)
        if announce:
            self.session.info("refund.points_tap")
        self.session.show_customer(mode="prompt", prompt="tap_refund", remaining=0)

    def stop(self, key: str | None = None) -> None:
        """Stop waiting; ``key``: the clerk's message saying so (None: silently)."""
        if not self.waiting:
            return
        self.waiting = False
        self.session.hachica.claims.discard(self)
        self.timer.stop()
        if key is not None:
            self.session.info(key)
        view = self.session.customer
        if view.mode == "prompt" and view.prompt == "tap_refund":  # still ours to take down
            self.session.show_customer(mode="welcome")
        self.ended.emit()

    def _timed_out(self) -> None:
        # Left the screen meanwhile: give up silently (another screen owns the displays).
        self.stop("refund.points_timeout" if self.visible() else None)

    def _on_card(self, event: object) -> None:
        key = self.session.context.points_key
        if not isinstance(event, CardTapped) or not self.waiting or not self.visible() \
                or not key:
            return
        self.waiting = False
        self.session.hachica.claims.discard(self)
        self.timer.stop()
        # Hashed here: the raw IDm goes no further than this line.
        self.tapped.emit(card_token(key, event.idm), mask_idm(event.idm))
