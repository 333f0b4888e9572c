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
        elif base == "payment.pending" and self.open_sale is not None:
            self.open_sale.pending[seq] = dict(body)
        elif base == "payment.result" and self.open_sale is not None:
            self._apply_result(body)
        elif base == "reprint":
            sale_seq = int(body["sale_seq"])
            self.reprints[sale_seq] = self.reprints.get(sale_seq, 0) + 1
        elif base in ("refund", "void") and not kind.startswith("training."):
            key = (str(body["original_terminal"]), int(body["original_seq"]))
            self.refunds_by_original.setdefault(key, []).append(seq)

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
