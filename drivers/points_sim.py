"""A stand-in はちのへポイント service until the points issue lands.

``PointsSimulator`` implements the ``PointsService`` port in memory: balances per card token
(the card's keyed hash, never an IDm), idempotent per ``ref`` (sending a ref again answers the
first outcome and never spends twice), cancel gives the points of a ref back and refuses a late
request with that ref. With ``ledger_path`` every operation is appended to a JSON-lines file and
replayed on start, so a counter restarted after a crash can still ask what happened to a ref.

It is not the real points service (which comes with the points issue): no server, no campaign
budget, no caps, no expiry. ``fail_next`` makes the next call raise ``DeviceUnavailable`` (an
unknown outcome, for tests and the demo).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers.ledger_file import append_record, read_records
from terminal.errors import DeviceUnavailable
from terminal.points import card_token
from terminal.ports import PaymentResult

DEMO_POINTS = 1000
"""What the demo card holds when the simulator starts."""


class PointsSimulator:
    """In-memory points balances behind the ``PointsService`` port (a stand-in)."""

    def __init__(self, balances: Mapping[str, int] | None = None,
                 ledger_path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._balances: dict[str, int] = dict(balances or {})
        self._results: dict[str, PaymentResult] = {}  # ref -> the redemption's outcome
        self._redeemed: dict[str, tuple[str, int]] = {}  # ref -> (card, points) still spent
        self._cancelled: set[str] = set()
        # (operation, ref or card): the latest calls that reached the service
        self.calls: deque[tuple[str, str]] = deque(maxlen=1000)
        self.fail_next = 0  # the next N calls raise DeviceUnavailable after doing nothing
        self.fail_after_next = 0  # the next N redemptions go through, then the link drops
        self._ledger = ledger_path
        if ledger_path is not None and ledger_path.exists():
            for record in read_records(ledger_path):
                self._apply(record)

    @classmethod
    def with_demo_card(cls, points_key: bytes, idm: bytes, points: int = DEMO_POINTS,
                       ledger_path: Path | None = None) -> PointsSimulator:
        """A simulator where the demo card ``idm`` holds ``points`` (named by its token)."""
        return cls({card_token(points_key, idm): points}, ledger_path)

    # -- the port -------------------------------------------------------------------------
    def balance(self, card: str) -> int:
        with self._lock:
            self._call("balance", card)
            return self._balances.get(card, 0)

    def redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        with self._lock:
            self._call("redeem", ref)
            result = self._results.get(ref)
            if result is None:
                result = self._redeem(card, points, ref)
                self._record({"op": "redeem", "card": card, "points": points, "ref": ref,
                              "approved": result.approved, "message": result.message})
            if self.fail_after_next > 0:
                self.fail_after_next -= 1
                raise DeviceUnavailable("points service: the link dropped before the answer")
            return result

    def cancel(self, ref: str) -> PaymentResult:
        with self._lock:
            self._call("cancel", ref)
            spent = self._redeemed.get(ref)
            self._record({"op": "cancel", "ref": ref})
            self._cancel(ref)
            points = spent[1] if spent else 0
            return PaymentResult(approved=True, amount=points, kind="points", ref=ref,
                                 message="cancelled")

    def last_result(self, ref: str) -> PaymentResult | None:
        with self._lock:
            self._call("last_result", ref)
            if ref in self._cancelled:
                return PaymentResult(approved=False, amount=0, kind="points", ref=ref,
                                     message="cancelled")
            return self._results.get(ref)

    # -- state ----------------------------------------------------------------------------
    def _call(self, operation: str, key: str) -> None:
        self.calls.append((operation, key))
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeviceUnavailable("points service: no answer (simulated)")

    def _redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        if ref in self._cancelled:
            result = PaymentResult(approved=False, amount=points, kind="points", ref=ref,
                                   message=f"ref {ref} was cancelled")
        elif points <= 0:
            result = PaymentResult(approved=False, amount=points, kind="points", ref=ref,
                                   message="points must be >= 1")
        elif self._balances.get(card, 0) < points:
            have = self._balances.get(card, 0)
            result = PaymentResult(
                approved=False, amount=points, kind="points", ref=ref,
                message=f"残高不足 (balance short: {have:,} points, {points:,} asked)",
            )
        else:
            self._balances[card] = self._balances.get(card, 0) - points
            self._redeemed[ref] = (card, points)
            result = PaymentResult(approved=True, amount=points, kind="points", ref=ref,
                                   message="redeemed")
        self._results[ref] = result
        return result

    def _cancel(self, ref: str) -> None:
        spent = self._redeemed.pop(ref, None)
        if spent is not None:
            card, points = spent
            self._balances[card] = self._balances.get(card, 0) + points
        self._cancelled.add(ref)

    def _apply(self, record: Mapping[str, Any]) -> None:
        """Replay one ledger line."""
        if record["op"] == "redeem":
            self._redeem(str(record["card"]), int(record["points"]), str(record["ref"]))
        elif record["op"] == "cancel":
            self._cancel(str(record["ref"]))

    def _record(self, record: Mapping[str, Any]) -> None:
        if self._ledger is None:
            return
        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        append_record(self._ledger, record)
