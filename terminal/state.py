"""The counter's working state, derived from journal entries (and rebuilt from them on start).

Nothing here is stored anywhere else: after a crash, replaying the journal gives back the
logged-in clerk, training mode, the open sale with its approved payments, any payment whose
outcome is unknown, and the current business period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EntryDict = Mapping[str, Any]
GIVE_BACKS = ("refund", "void")


@dataclass
class PointsLedger:
    """This terminal's own はちのへポイント entries, folded (docs/points.md).

    ``awards`` holds every award by the seq of its sale (training ones too), so a restart can
    never award a sale twice; the counts (quota, per card) are live entries only. A clawback
    naming ``award_terminal`` takes back another counter's award: it counts nowhere here.
    """

    quota_granted: int = 0  # cumulative points the server granted this terminal
    awarded_net: int = 0  # live awards minus live clawbacks
    awards: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # sale seq ->
    # (award seq, body)
    clawed_back: set[int] = field(default_factory=set)  # sale seqs whose award was clawed back
    by_card: dict[str, int] = field(default_factory=dict)  # card -> live net points awarded
    redemptions: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref -> its pending
    give_backs: dict[int, dict[str, Any]] = field(default_factory=dict)  # pending refunds and
    # voids of points outside an open sale: seq -> payment.pending body
    offline_spent: dict[str, int] = field(default_factory=dict)  # card -> points redeemed
    # offline since the last Z

    @property
    def quota_left(self) -> int:
        return max(0, self.quota_granted - self.awarded_net)

    def apply(self, base: str, seq: int, body: Mapping[str, Any], training: bool) -> None:
        if base == "points.award":
            self.awards[int(body["sale_seq"])] = (seq, dict(body))
            if not training:
                self._count(str(body["card"]), int(body["points"]))
        elif base == "points.clawback":
            if "award_terminal" in body:
                # Another counter's award (a refund of its sale here): neither this
                # terminal's sale seqs nor its quota; the server settles it.
                return
            self.clawed_back.add(int(body["sale_seq"]))
            if not training:
                self._count(str(body["card"]), -int(body["points"]))
        elif base == "points.quota" and not training:
            self.quota_granted = int(body["granted"])

    def _count(self, card: str, points: int) -> None:
        self.awarded_net += points
        self.by_card[card] = self.by_card.get(card, 0) + points

    def pending(self, seq: int, body: Mapping[str, Any], training: bool, in_sale: bool) -> bool:
        """Fold a points ``payment.pending``; True when it is a give-back outside the open
        sale (tracked here, not by the sale)."""
        operation = body.get("operation")
        if operation == "sale":
            self.redemptions[str(body["ref"])] = dict(body)
            if body.get("offline") and not training:
                card = str(body["card"])
                self.offline_spent[card] = self.offline_spent.get(card, 0) + int(body["points"])
        elif operation in GIVE_BACKS and not in_sale:
            self.give_backs[seq] = dict(body)
            return True
        return False


@dataclass
class OpenSale:
    """A sale whose payment has started (``sale.open``) but is not yet complete."""

    open_seq: int
    lines: list[dict[str, Any]]
    total: int
    clerk: str
    training: bool
    approved: list[dict[str, Any]] = field(default_factory=list)  # payment.result bodies
    pending: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> payment.pending


@dataclass
class CounterState:
    terminal: str
    clerk: str | None = None
    training: bool = False
    open_sale: OpenSale | None = None
    period: list[EntryDict] = field(default_factory=list)  # entries since the last closing.z
    previous_grand_total: int = 0
    sale_count: int = 0  # perpetual number of `sale` entries (receipt numbers)
    training_sale_count: int = 0
    refunds_by_original: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    receipts: dict[int, str] = field(default_factory=dict)  # sale seq -> receipt_no
    reprints: dict[int, int] = field(default_factory=dict)  # document seq -> reprints so far
    points: PointsLedger = field(default_factory=PointsLedger)

    def apply(self, entry: EntryDict) -> None:
        """Fold one journal entry into the state (entries must come in seq order)."""
        kind: str = entry["kind"]
        body: Mapping[str, Any] = entry["body"]
        seq: int = entry["seq"]
        if kind == "closing.z":
            # A Z ends the session too: any entry after it (even a logout) would open the
            # next business day on today's date.
            self.clerk = None
            self.period = []
            self.previous_grand_total = int(body["grand_total"])
            self.points.offline_spent = {}
            return
        self.period.append(entry)
        base = kind.removeprefix("training.")
        if kind == "login":
            self.clerk = str(body["clerk"])
        elif kind == "logout":
            self.clerk = None
        elif kind == "training.start":
            self.training = True
        elif kind == "training.end":
            self.training = False
        elif base == "sale.open":
            self.open_sale = OpenSale(
                seq, list(body["lines"]), int(body["total"]), str(body["clerk"]),
                kind.startswith("training."),
            )
        elif base in ("sale.cancel", "sale"):
            self._close_sale(kind, seq, body)
        elif base == "payment.pending":
            self._apply_pending(kind, seq, body)
        elif base == "payment.result":
            if self.points.give_backs.pop(int(body["pending_seq"]), None) is None \
                    and self.open_sale is not None:
                self._apply_result(body)
        elif base.startswith("points."):
            self.points.apply(base, seq, body, kind.startswith("training."))
        elif base == "reprint":
            sale_seq = int(body["sale_seq"])
            self.reprints[sale_seq] = self.reprints.get(sale_seq, 0) + 1
        elif base in ("refund", "void") and not kind.startswith("training."):
            key = (str(body["original_terminal"]), int(body["original_seq"]))
            self.refunds_by_original.setdefault(key, []).append(seq)

    def _apply_pending(self, kind: str, seq: int, body: Mapping[str, Any]) -> None:
        sale = self.open_sale
        if body.get("kind") == "points":
            in_sale = sale is not None and body.get("open_seq") == sale.open_seq
            if self.points.pending(seq, body, kind.startswith("training."), in_sale):
                return
        if sale is not None:
            sale.pending[seq] = dict(body)

    def _apply_result(self, body: Mapping[str, Any]) -> None:
        assert self.open_sale is not None
        pending = self.open_sale.pending.pop(int(body["pending_seq"]), None)
        if pending is None or not body.get("approved"):
            return
        if pending.get("operation") == "void":
            # A gateway payment is named by its ref, a payment terminal's by its slip.
            key, value = (("ref", pending["original_ref"]) if pending.get("original_ref")
                          else ("slip_no", pending.get("slip_no")))
            self.open_sale.approved = [
                a for a in self.open_sale.approved if a.get(key) != value
            ]
        else:
            self.open_sale.approved.append(dict(body))

    def _close_sale(self, kind: str, seq: int, body: Mapping[str, Any]) -> None:
        self.open_sale = None
        if kind == "sale":
            self.sale_count += 1
            self.receipts[seq] = str(body["receipt_no"])
        elif kind == "training.sale":
            self.training_sale_count += 1

    @property
    def period_first_seq(self) -> int | None:
        return int(self.period[0]["seq"]) if self.period else None
