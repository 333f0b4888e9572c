"""はちのへポイント awards: a Hachica tapped during a sale earns points (docs/points.md).

The counter remembers the tapped card (its keyed hash, and the masked IDm for the receipt) in
memory only until the sale completes; then ``points.award`` is journaled right after the
``sale``. If the app restarts between the tap and the sale, the tap is lost and that sale earns
nothing (the visitor can be helped by the server's staff): nothing about a card is journaled
before there is something to award, and a restart can never award a sale twice (awards are
folded by sale seq in ``CounterState.points``).

What a sale earns: ``min(points_per_use, quota left, cap left)`` when it has an eligible item.
The quota is what the server granted this terminal minus its net awards, so the campaign
budget holds even with every terminal offline. The cap left is the service's answer at tap
time (when it answered) and at most ``per_person_cap`` minus this terminal's own net awards to
the card (the service may not have heard of those yet). A refund
or void leaving an awarded sale without any eligible item claws the award back. Training
journals ``training.points.*`` (counted nowhere) and never calls the service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from terminal.errors import DeviceError, DomainError
from terminal.points import PointsRules, is_card_token
from terminal.ports import CardPoints
from terminal.receipt import AwardNote

if TYPE_CHECKING:
    from terminal.counter import Counter
    from terminal.journal import Entry

UNKNOWN_CARD = "****"
"""What a receipt shows for a card whose masked IDm is not known (after a restart)."""


@dataclass(frozen=True, slots=True)
class PointsTap:
    """What a tap tells the clerk: the balance and cap room (None: the service did not answer),
    what this sale would earn, and a message (Japanese, then English)."""

    card: str
    balance: int | None
    cap_left: int | None
    will_award: int
    online: bool
    message: str


@dataclass(frozen=True, slots=True)
class _Tapped:
    card: str
    masked: str
    online: bool
    cap_left: int | None  # the service's answer at tap time (None offline)


def eligible(rules: PointsRules, code: str) -> bool:
    """Whether fee ``code`` counts as a use (the programme's on/off aside: a clawback still
    applies to an award made while it was on)."""
    return not rules.eligible_items or code in rules.eligible_items


def has_eligible(rules: PointsRules, lines: Iterable[Mapping[str, Any]]) -> bool:
    return any(eligible(rules, str(line["code"])) and int(line["qty"]) > 0 for line in lines)


class PointsAwards:
    """The counter's award desk (``Counter.points_awards``)."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.tapped: _Tapped | None = None
        self.masked: dict[int, str] = {}  # sale seq -> masked IDm (memory only)

    # -- taps ---------------------------------------------------------------------------
    def tap(self, card: str, masked: str | None = None) -> PointsTap:
        """A card tapped during the cart or the open sale: remembered for its award."""
        known = self._ask(card)
        online = known is not None
        self.tapped = _Tapped(card, masked or "", online,
                              known.cap_left if known is not None else None)
        points = self.will_award(self._current_lines(), self.tapped)
        return self._answer(card, known, points)

    def balance(self, card: str) -> PointsTap:
        """A balance check outside a sale: nothing is remembered, nothing would be awarded."""
        return self._answer(card, self._ask(card), None)

    def forget(self) -> None:
        self.tapped = None

    def offline_card(self, card: str) -> bool:
        """Whether ``card`` was tapped in this sale and the service is (still) unreachable:
        asked again, so a service back since the tap is used normally."""
        tapped = self.tapped
        if tapped is None or tapped.card != card or tapped.online:
            return False
        known = self._ask(card)
        if known is None:
            return True
        self.tapped = _Tapped(card, tapped.masked, True, known.cap_left)
        return False

    def _ask(self, card: str) -> CardPoints | None:
        rules = self.counter.points_rules
        if not rules.enabled:
            raise DomainError("ポイントは停止中です (the points programme is disabled here)")
        if not is_card_token(card):
            raise DomainError(
                "カードの識別子が不正です (card must be the keyed hash of the IDm, never the IDm)"
            )
        service = self.counter.points
        if service is None or self.counter.state.training:
            return None  # training never calls the service
        try:
            return service.card_points(card)
        except DeviceError:
            return None

    def _current_lines(self) -> Sequence[Mapping[str, Any]]:
        sale = self.counter.state.open_sale
        if sale is not None:
            return sale.lines
        return [line.as_body() for line in self.counter.cart.lines]

    def _answer(self, card: str, known: CardPoints | None, points: int | None) -> PointsTap:
        training = self.counter.state.training
        if training:
            text = "練習モード: 実際のポイントは動きません (training: no real points move)"
        elif known is None:
            text = ("ポイントサービスに接続できません。残高は不明です。付与は後日反映されます "
                    "(points service unreachable: balance unknown, awards settle later)")
        else:
            text = (f"残高 {known.balance:,} ポイント、上限まで {known.cap_left:,} ポイント "
                    f"(balance {known.balance:,} points, {known.cap_left:,} to the cap)")
        if points is not None:
            text += (f" / この取引で {points:,} ポイント付与 (this sale earns {points:,})"
                     if points else f" / {self._why_nothing()}")
        return PointsTap(card, None if known is None else known.balance,
                         None if known is None else known.cap_left, points or 0,
                         known is not None, text)

    def _why_nothing(self) -> str:
        rules, ledger = self.counter.points_rules, self.counter.state.points
        if not has_eligible(rules, self._current_lines()):
            return "対象の料金がありません (no fee in this sale earns points)"
        if ledger.quota_left <= 0 and not self.counter.state.training:
            return ("この端末の付与枠がありません。同期してください (no award quota left on this "
                    "terminal: sync with the server)")
        return (f"上限 {rules.per_person_cap:,} ポイントに達しています (the card reached the "
                f"{rules.per_person_cap:,}-point cap)")

    # -- awards -------------------------------------------------------------------------
    def will_award(self, lines: Iterable[Mapping[str, Any]], tapped: _Tapped) -> int:
        """Points a sale of ``lines`` earns for ``tapped``: 0 without an eligible item."""
        rules, ledger = self.counter.points_rules, self.counter.state.points
        if not rules.enabled or not has_eligible(rules, lines):
            return 0
        if self.counter.state.training:
            return rules.points_per_use
        # The cap room as far as known: this terminal's own journal always bounds it (the
        # service may not have heard of its latest awards yet); the service's answer at tap
        # time also counts other terminals' awards.
        cap_left = rules.per_person_cap - ledger.by_card.get(tapped.card, 0)
        if tapped.cap_left is not None:
            cap_left = min(cap_left, tapped.cap_left)
        return max(0, min(rules.points_per_use, ledger.quota_left, cap_left))

    def after_sale(self, sale: Entry) -> Entry | None:
        """Journal the award of the sale just journaled, if a card was tapped for it."""
        tapped, self.tapped = self.tapped, None
        ledger = self.counter.state.points
        if tapped is None or sale.kind.removeprefix("training.") != "sale" \
                or sale.seq in ledger.awards:
            return None
        points = self.will_award(sale.body["lines"], tapped)
        if points <= 0:
            return None  # 0 is never journaled
        award = self.counter.record("points.award", {
            "card": tapped.card, "sale_seq": sale.seq,
            "receipt_no": str(sale.body["receipt_no"]), "points": points,
            "facility": self.counter.settings.facility, "online": tapped.online,
        })
        self.masked[sale.seq] = tapped.masked
        return award

    def award_for(self, sale_seq: int) -> dict[str, Any] | None:
        found = self.counter.state.points.awards.get(sale_seq)
        return None if found is None else dict(found[1])

    def note(self, sale_seq: int) -> AwardNote | None:
        """The receipt's award line of sale ``sale_seq`` (None: nothing awarded)."""
        award = self.award_for(sale_seq)
        if award is None:
            return None
        return AwardNote(int(award["points"]), bool(award["online"]),
                         self.masked.get(sale_seq) or UNKNOWN_CARD)

    def after_take_back(self, original_seq: int, entry: Entry,
                        reason: Literal["refund", "void"]) -> Entry | None:
        """Claw the award back when refund/void ``entry`` left its sale no eligible item."""
        counter, ledger = self.counter, self.counter.state.points
        found = ledger.awards.get(original_seq)
        if found is None or original_seq in ledger.clawed_back or counter.state.training:
            return None
        award_seq, award = found
        lines = counter.journal.entry(original_seq).body["lines"]
        taken = counter.refunded_quantities(original_seq)
        left = [{"code": line["code"], "qty": int(line["qty"]) - taken.get(i, 0)}
                for i, line in enumerate(lines)]
        if has_eligible(counter.points_rules, left):
            return None
        return counter.record("points.clawback", {
            "card": award["card"], "sale_seq": original_seq, "award_seq": award_seq,
            "points": int(award["points"]), "reason": reason, "by_seq": entry.seq,
        })

    # -- quota --------------------------------------------------------------------------
    def refresh_quota(self) -> Entry | None:
        """Ask the server for quota (journal ``points.quota`` when ``granted`` changed) and
        retry the give-backs still pending; offline (or in training) nothing happens."""
        from terminal.points_payments import resolve_give_backs

        counter, ledger = self.counter, self.counter.state.points
        service = counter.points
        if service is None or counter.state.training or not counter.points_rules.enabled:
            return None
        resolve_give_backs(counter)
        try:
            grant = service.request_quota(ledger.awarded_net)
        except DeviceError:
            return None
        if grant.granted == ledger.quota_granted:
            return None
        return counter.record("points.quota", {"grant_id": grant.grant_id,
                                               "granted": grant.granted})
