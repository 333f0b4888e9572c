"""はちのへポイント at the counter: a Hachica tapped during a sale (its balance and what this
visit earns), a balance check without a purchase, and the award once the sale is paid.

A tap reaches ``on_card`` from the card reader; its IDm is hashed at once (``card_token``) and
only ``mask_idm`` is kept for the screens. Every counter call runs in the worker: during a cart
or an open sale ``Counter.tap_points_card`` (the counter remembers the card and journals
``points.award`` itself when the sale completes), otherwise ``Counter.points_balance``. After
the sale ``Counter.award_for`` tells what was awarded. Screens render ``status`` and ``award``
in their own language and listen to ``changed``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from terminal.journal import Entry
from terminal.points import card_token, mask_idm
from terminal.points_awards import has_eligible
from terminal.ports import CardTapped
from ui.qt import QObject, QTimer, Signal

if TYPE_CHECKING:
    from ui.session import Session

log = logging.getLogger(__name__)

CHECK_TIMEOUT_MS = 30_000
"""How long a balance check waits for the visitor's tap before it gives up."""
RESULT_MS = 20_000
"""How long the customer display keeps a balance check's result."""


@dataclass(frozen=True, slots=True)
class CardStatus:
    """What the screens show of a tapped card (``masked``: ``mask_idm``, never the IDm).

    ``reason`` says why this visit earns what it earns: earn (online), offline (recorded now,
    the balance follows later), training (nothing real moves), not_eligible, cap (the
    per-person cap is reached), quota (the terminal's share of the campaign budget is used up)
    or check (a balance check, no sale).
    """

    masked: str
    balance: int | None
    cap_left: int | None
    will_award: int
    online: bool
    purchase: bool
    reason: str


@dataclass(frozen=True, slots=True)
class AwardStatus:
    """The ``points.award`` of one completed sale."""

    sale_seq: int
    points: int
    online: bool
    masked: str
    training: bool = False


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def status_of(tap: object, masked: str, purchase: bool, eligible: bool,
              quota_left: int, training: bool = False) -> CardStatus:
    """The screens' view of a ``PointsTap`` (read by name: balance, cap_left, will_award,
    online); ``quota_left``: the terminal's award quota left when it was tapped. Why nothing
    is earned is told in the counter's order: no eligible item, no quota, the cap."""
    balance = _optional_int(getattr(tap, "balance", None))
    cap_left = _optional_int(getattr(tap, "cap_left", None))
    will_award = _optional_int(getattr(tap, "will_award", 0)) or 0
    online = bool(getattr(tap, "online", False))
    if not purchase:
        reason = "check"
    elif will_award > 0:
        reason = "training" if training else "earn" if online else "offline"
    elif not eligible:
        reason = "not_eligible"
    elif quota_left <= 0:
        reason = "quota"
    else:
        reason = "cap"
    return CardStatus(masked, balance, cap_left, will_award, online, purchase, reason)


def award_of(body: Mapping[str, object] | None, sale_seq: int, masked: str,
             training: bool = False) -> AwardStatus | None:
    """The award of sale ``sale_seq`` from its ``points.award`` body (None: nothing awarded)."""
    if body is None:
        return None
    points = _optional_int(body.get("points")) or 0
    if points <= 0:
        return None
    return AwardStatus(sale_seq, points, bool(body.get("online", False)), masked, training)


class PointsDesk(QObject):
    """Routes card taps to the counter and keeps the latest card status and award."""

    changed = Signal()

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.status: CardStatus | None = None
        self.award: AwardStatus | None = None
        self.checking = False  # a balance check waits for a tap
        self.check_timeout_ms = CHECK_TIMEOUT_MS
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._timed_out)
        self.result_timer = QTimer(self)  # a check's result leaves the customer display
        self.result_timer.setSingleShot(True)
        self.result_timer.timeout.connect(self._result_shown)
        session.card_event.connect(self.on_card)
        # screens waiting for a card for their own purpose (a refund to points): while any
        # holds a claim, a tap is theirs, not a visit's card nor a balance check
        self.claims: set[object] = set()
        self.quota_timer = QTimer(self)  # award quota from the server, between sales
        self.quota_timer.timeout.connect(self.refresh_quota)
        interval = session.context.points_quota_interval_s
        if interval > 0:
            self.quota_timer.start(int(interval * 1000))
            QTimer.singleShot(0, self.refresh_quota)

    @property
    def enabled(self) -> bool:
        ctx = self.session.context
        return (ctx.points is not None and bool(ctx.points_key)
                and self.session.counter.points_rules.enabled)

    def refresh_quota(self) -> None:
        """Ask for award quota (and retry pending give-backs) on the worker, never while a sale
        is open; offline it is a no-op and the next tick tries again."""
        if not self.enabled or self.in_sale():
            return
        counter = self.session.counter
        self.session.run(counter.refresh_points_quota, name="points-quota",
                         failed=_quota_failed)  # not the clerk's business: logged, retried

    def in_sale(self) -> bool:
        counter = self.session.counter
        return counter.state.open_sale is not None or not counter.cart.is_empty

    def _eligible(self) -> bool:
        """Whether the cart (or the open sale) holds an item that earns points."""
        counter = self.session.counter
        open_sale = counter.state.open_sale
        lines = (open_sale.lines if open_sale is not None
                 else [line.as_body() for line in counter.cart.lines])
        return has_eligible(counter.points_rules, lines)

    # -- taps -----------------------------------------------------------------------------
    def on_card(self, event: object) -> None:
        """A card on the reader: during a sale it is the visitor's Hachica for this visit;
        otherwise (or while a balance check waits) a balance check. Ignored while no clerk is
        logged in (the counter is locked)."""
        key = self.session.context.points_key
        counter = self.session.counter
        if not isinstance(event, CardTapped) or not self.enabled or key is None \
                or counter.state.clerk is None or self.claims:
            return
        card, masked = card_token(key, event.idm), mask_idm(event.idm)
        purchase = self.in_sale() and not self.checking
        self._stop_check()
        eligible = purchase and self._eligible()

        def job() -> tuple[object, int, bool]:
            if purchase:
                tap: object = counter.tap_points_card(card, masked)
            else:
                tap = counter.points_balance(card)
            return tap, counter.state.points.quota_left, counter.state.training

        def done(result: object) -> None:
            assert isinstance(result, tuple)
            tap, quota_left, training = result
            self.status = status_of(tap, masked, purchase, eligible, quota_left, training)
            self.changed.emit()
            if not purchase:
                self.session.show_customer(mode="points_check")
                self.result_timer.start(RESULT_MS)

        self.session.run(job, done, self._failed,
                         name="points_tap" if purchase else "points_balance")

    def _failed(self, exc: BaseException) -> None:
        self.session.fail(exc)
        if self.session.customer.mode == "points_check":
            self.session.show_customer(mode="welcome")

    # -- balance check --------------------------------------------------------------------
    def start_check(self) -> None:
        """Ask the visitor to tap for a balance check (no purchase needed)."""
        if not self.enabled or self.in_sale():
            return
        self.checking = True
        self.status = None
        self.timer.start(self.check_timeout_ms)
        self.session.info("points.check_tap")
        self.session.show_customer(mode="points_check")
        self.changed.emit()

    def cancel_check(self, announce: bool = True) -> None:
        """The clerk gives up (or closes) the balance check."""
        if not self.checking and (self.status is None or self.status.purchase):
            return
        self._stop_check()
        self.status = None
        if announce:
            self.session.info("points.check_cancelled")
        if self.session.customer.mode == "points_check":
            self.session.show_customer(mode="welcome")
        self.changed.emit()

    def _stop_check(self) -> None:
        self.checking = False
        self.timer.stop()

    def _timed_out(self) -> None:
        if self.checking:
            self._stop_check()
            self.session.info("points.check_timeout")
            if self.session.customer.mode == "points_check":
                self.session.show_customer(mode="welcome")
            self.changed.emit()

    def _result_shown(self) -> None:
        """A balance check's result leaves the customer display after a while."""
        if self.session.customer.mode == "points_check" and not self.checking:
            self.session.show_customer(mode="welcome")
            if self.status is not None and not self.status.purchase:
                self.status = None
                self.changed.emit()

    # -- the sale's end -------------------------------------------------------------------
    def sale_completed(self, entry: Entry) -> None:
        """After ``complete_sale``: fetch the sale's award (in the worker, like every counter
        call)."""
        masked = self.status.masked if self.status is not None else ""
        self.status, self.award = None, None
        self.changed.emit()
        if not self.enabled:
            return
        counter, seq = self.session.counter, entry.seq
        training = entry.kind.startswith("training.")

        def done(body: object) -> None:
            self.award = award_of(body if isinstance(body, Mapping) else None, seq, masked,
                                  training)
            self.changed.emit()

        self.session.run(lambda: counter.award_for(seq), done, name="points_award")

    def sale_ended(self) -> None:
        """The sale was cancelled or its cart emptied: the tapped card no longer applies (the
        counter forgets it too, so a later cart cannot earn for it; memory only)."""
        self.session.counter.points_awards.forget()
        if self.status is not None or self.award is not None:
            self.status, self.award = None, None
            self.changed.emit()


def _quota_failed(exc: BaseException) -> None:
    log.warning("points quota refresh failed (retried at the next tick): %s", exc)
