"""A simulated はちのへポイント service: the whole ``PointsService`` port, in memory.

``PointsSimulator`` keeps balances per card token (the card's keyed hash, never an IDm), is
idempotent per ``ref`` (sending a ref again answers the first outcome and never spends or
restores twice); cancel gives back what a ref still has spent and refuses a late request with
that ref; a refund gives back at most that, only to the card that paid. Awards reach it the
way they reach the server: from journal entries (``ingest``: ``points.award`` /
``points.clawback`` and offline redemptions), settled against the per-person cap (an award past
the cap is reduced). ``request_quota`` tops the terminal up to ``quota_chunk`` unused points
while ``budget`` lasts. With ``ledger_path`` every operation is appended to a JSON-lines file
and replayed on start, so a restarted counter can still ask what happened to a ref.

For tests and the demo: ``offline = True`` makes every call raise ``DeviceUnavailable``;
``fail_next`` makes the next N calls raise it (an unknown outcome, nothing done);
``fail_after_next`` lets the next N redemptions go through and then drops the answer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from drivers.ledger_file import append_record, read_records
from terminal.errors import DeviceUnavailable
from terminal.points import PointsRules, card_token
from terminal.ports import CardPoints, PaymentResult, QuotaGrant

DEMO_POINTS = 1000
"""What the demo card holds when the simulator starts."""
DEFAULT_QUOTA_CHUNK = 10_000
"""Unused award points a terminal is topped up to (50 visits of 200 points)."""


class PointsSimulator:
    """In-memory points balances, awards and quota behind the ``PointsService`` port."""

    def __init__(self, balances: Mapping[str, int] | None = None,
                 ledger_path: Path | None = None, *, per_person_cap: int | None = None,
                 budget: int | None = None, quota_chunk: int = DEFAULT_QUOTA_CHUNK) -> None:
        rules = PointsRules()
        self._lock = threading.Lock()
        self.per_person_cap = rules.per_person_cap if per_person_cap is None else per_person_cap
        self.budget_left = rules.campaign_budget if budget is None else budget
        self.quota_chunk = quota_chunk
        self._balances: dict[str, int] = dict(balances or {})
        self._awarded: dict[str, int] = {}  # card -> settled award points
        self._settled: dict[str, tuple[str, int]] = {}  # award key -> (card, settled points)
        self._clawed: set[str] = set()  # award keys clawed back
        self._results: dict[str, PaymentResult] = {}  # ref -> the request's outcome
        self._redeemed: dict[str, tuple[str, int]] = {}  # ref -> (card, points) still spent
        self._cancelled: set[str] = set()
        self._offline_refs: dict[tuple[str, int], dict[str, Any]] = {}  # pending of offline
        self.granted = 0
        self.grant_id = ""
        # (operation, ref or card): the latest calls that reached the service
        self.calls: deque[tuple[str, str]] = deque(maxlen=1000)
        self.offline = False  # every call raises DeviceUnavailable (the service is down)
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

    def card_points(self, card: str) -> CardPoints:
        with self._lock:
            self._call("card_points", card)
            awarded = self._awarded.get(card, 0)
            return CardPoints(card, self._balances.get(card, 0), awarded,
                              max(0, self.per_person_cap - awarded))

    def redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        with self._lock:
            self._call("redeem", ref)
            result = self._results.get(ref)
            if result is None:
                result = self._redeem(card, points, ref)
                self._record({"op": "redeem", "card": card, "points": points, "ref": ref})
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

    def refund(self, card: str, points: int, ref: str, original_ref: str) -> PaymentResult:
        with self._lock:
            self._call("refund", ref)
            result = self._results.get(ref)
            if result is None:
                result = self._refund(card, points, ref, original_ref)
                self._record({"op": "refund", "card": card, "points": points, "ref": ref,
                              "original_ref": original_ref})
            return result

    def last_result(self, ref: str) -> PaymentResult | None:
        with self._lock:
            self._call("last_result", ref)
            if ref in self._cancelled:
                return PaymentResult(approved=False, amount=0, kind="points", ref=ref,
                                     message="cancelled")
            return self._results.get(ref)

    def request_quota(self, used: int) -> QuotaGrant:
        with self._lock:
            self._call("request_quota", str(used))
            top_up = min(self.quota_chunk - (self.granted - used), self.budget_left)
            if top_up > 0:
                granted = self.granted + top_up
                record = {"op": "quota", "granted": granted, "grant_id": f"sim-{granted}"}
                self._apply(record)
                self._record(record)
            return QuotaGrant(self.grant_id, self.granted, self.budget_left)

    # -- what the server learns from uploaded journals ----------------------------------------
    def ingest(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Settle live ``points.award`` / ``points.clawback`` entries and offline redemptions
        (idempotent: an entry seen again changes nothing)."""
        with self._lock:
            for entry in entries:
                record = self._from_entry(entry)
                if record is not None and self._apply(record):
                    self._record(record)

    def _from_entry(self, entry: Mapping[str, Any]) -> dict[str, Any] | None:
        kind, body = str(entry["kind"]), entry["body"]
        key = f"{entry['terminal']}#{entry['seq']}"
        if kind == "points.award":
            return {"op": "award", "key": key, "card": body["card"], "points": body["points"]}
        if kind == "points.clawback":
            award = f"{entry['terminal']}#{body['award_seq']}"
            return {"op": "clawback", "key": award}
        if kind == "payment.pending" and body.get("kind") == "points" and (
                body.get("offline") or body.get("operation") == "void"):
            self._offline_refs[(str(entry["terminal"]), int(entry["seq"]))] = dict(body)
        elif kind == "payment.result":
            pending = self._offline_refs.pop((str(entry["terminal"]), int(body["pending_seq"])),
                                             None)
            if pending is None or body.get("approval_code") != "OFFLINE" \
                    or not body.get("approved"):
                return None
            if pending.get("operation") == "sale":
                return {"op": "redeem", "card": pending["card"], "points": pending["points"],
                        "ref": pending["ref"], "offline": True}
            return {"op": "cancel", "ref": pending["original_ref"]}
        return None

    # -- state ----------------------------------------------------------------------------
    def _call(self, operation: str, key: str) -> None:
        self.calls.append((operation, key))
        if self.offline:
            raise DeviceUnavailable("points service: unreachable (simulated)")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeviceUnavailable("points service: no answer (simulated)")

    def _redeem(self, card: str, points: int, ref: str, offline: bool = False) -> PaymentResult:
        have = self._balances.get(card, 0)
        if ref in self._cancelled:
            result = self._declined(points, ref, f"ref {ref} was cancelled")
        elif points <= 0:
            result = self._declined(points, ref, "points must be >= 1")
        elif have < points and not offline:  # an offline spend was already given
            result = self._declined(
                points, ref, f"残高不足 (balance short: {have:,} points, {points:,} asked)")
        else:
            self._balances[card] = have - points
            self._redeemed[ref] = (card, points)
            result = PaymentResult(approved=True, amount=points, kind="points", ref=ref,
                                   message="redeemed")
        self._results[ref] = result
        return result

    @staticmethod
    def _declined(points: int, ref: str, message: str) -> PaymentResult:
        return PaymentResult(approved=False, amount=points, kind="points", ref=ref,
                             message=message)

    def _refund(self, card: str, points: int, ref: str,
                original_ref: str | None) -> PaymentResult:
        """Give back ``points`` of redemption ``original_ref`` (never more than it still has
        spent, only to the card that paid; None: a ledger line from before refunds were
        checked, restored as recorded)."""
        spent = self._redeemed.get(original_ref) if original_ref is not None else (card, points)
        if points <= 0:
            result = self._declined(points, ref, "points must be >= 1")
        elif spent is None:
            result = self._declined(points, ref, f"元の利用が見つかりません (redemption "
                                    f"{original_ref} is not known or was cancelled)")
        elif spent[0] != card:
            result = self._declined(points, ref, "カードが元の利用と違います (the card is not "
                                    "the one that paid)")
        elif points > spent[1]:
            result = self._declined(points, ref, f"返せるポイントは {spent[1]:,} までです (at "
                                    f"most {spent[1]:,} points left to refund)")
        else:
            if original_ref is not None:
                self._redeemed[original_ref] = (card, spent[1] - points)
            self._balances[card] = self._balances.get(card, 0) + points
            result = PaymentResult(approved=True, amount=points, kind="points", ref=ref,
                                   message="refunded")
        self._results[ref] = result
        return result

    def _cancel(self, ref: str) -> None:
        spent = self._redeemed.pop(ref, None)
        if spent is not None:
            card, points = spent
            self._balances[card] = self._balances.get(card, 0) + points
        self._cancelled.add(ref)

    def _award(self, key: str, card: str, points: int) -> bool:
        if key in self._settled:
            return False
        settled = max(0, min(points, self.per_person_cap - self._awarded.get(card, 0)))
        self._settled[key] = (card, settled)
        self._awarded[card] = self._awarded.get(card, 0) + settled
        self._balances[card] = self._balances.get(card, 0) + settled
        return True

    def _clawback(self, key: str) -> bool:
        card, settled = self._settled.get(key, ("", 0))
        if not card or key in self._clawed:
            return False
        self._clawed.add(key)
        self._awarded[card] -= settled
        self._balances[card] = self._balances.get(card, 0) - settled
        return True

    def _apply(self, record: Mapping[str, Any]) -> bool:
        """Apply one ledger line (replayed, or new); False when it changed nothing."""
        op = record["op"]
        if op == "redeem":
            if str(record["ref"]) in self._results:
                return False
            self._redeem(str(record["card"]), int(record["points"]), str(record["ref"]),
                         bool(record.get("offline")))
        elif op == "cancel":
            self._cancel(str(record["ref"]))
        elif op == "refund":
            original = record.get("original_ref")
            self._refund(str(record["card"]), int(record["points"]), str(record["ref"]),
                         None if original is None else str(original))
        elif op == "award":
            return self._award(str(record["key"]), str(record["card"]), int(record["points"]))
        elif op == "clawback":
            return self._clawback(str(record["key"]))
        elif op == "quota":
            self.budget_left -= int(record["granted"]) - self.granted
            self.granted, self.grant_id = int(record["granted"]), str(record["grant_id"])
        return True

    def _record(self, record: Mapping[str, Any]) -> None:
        if self._ledger is None:
            return
        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        append_record(self._ledger, record)
