"""The points service behind the terminal routes and the console: balances, redemptions
(idempotent by ``ref``), cancels, refunds, quota grants and card transfers.

Every mutation first locks the ledger head (``ledger.lock_head``): points work is serialised
server-wide, which keeps a balance check and its ``redeem`` row, and a budget check and its
grant, atomic on both databases. A balance is the sum of the card's ledger rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from sync.server.db import ServerError
from sync.server.errors import ApiError
from sync.server.points.campaign import get_campaign, total_granted
from sync.server.points.ledger import Row, append, lock_head, now_text
from sync.server.points.models import (
    PointsAward,
    PointsGrant,
    PointsLedgerRow,
    PointsQuota,
    PointsRequest,
)
from sync.server.sql import storable
from terminal.points import is_card_token

MAX_POINTS: Final = 10_000_000


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to redeem / cancel / refund / results (the wire shape: ``as_dict``)."""

    approved: bool
    points: int
    balance: int
    message: str
    ref: str

    def as_dict(self) -> dict[str, Any]:
        return {"approved": self.approved, "points": self.points, "balance": self.balance,
                "message": self.message, "ref": self.ref}


def _bad(message: str) -> ApiError:
    return ApiError(422, "format", message)


def check_card(card: object) -> str:
    if not isinstance(card, str) or not is_card_token(card):
        raise _bad("card must be the card token (64 lowercase hex: HMAC-SHA256 of the IDm "
                   "under the points key), never the IDm")
    return card


def check_points(points: object, minimum: int = 1) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not (
            minimum <= points <= MAX_POINTS):
        raise _bad(f"points must be a whole number from {minimum} to {MAX_POINTS:,} "
                   f"(got {points!r})")
    return points


def check_ref(ref: object, name: str = "ref") -> str:
    if not isinstance(ref, str) or not 1 <= len(ref) <= 200 or not storable(ref):
        raise _bad(f"{name} must be a string of 1 to 200 characters (no U+0000)")
    return ref


def balance(conn: Connection, card: str) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(PointsLedgerRow.points), 0))
                            .where(PointsLedgerRow.card == card)).scalar_one())


def standing(conn: Connection, card: str) -> int:
    """Points awarded to ``card`` that stand (settled, not clawed back)."""
    return int(conn.execute(select(func.coalesce(
        func.sum(PointsAward.settled - PointsAward.clawed), 0)).where(
        PointsAward.card == card)).scalar_one())


def card_points(conn: Connection, card: str) -> dict[str, int | str]:
    cap = get_campaign(conn).per_person_cap
    awarded = standing(conn, card)
    return {"card": card, "balance": balance(conn, card), "awarded": awarded, "cap": cap,
            "cap_left": max(0, cap - awarded)}


def _request(conn: Connection, ref: str) -> Any:
    return conn.execute(select(PointsRequest).where(PointsRequest.ref == ref)).one_or_none()


def _answer(conn: Connection, request: Any) -> Answer:
    card_balance = balance(conn, request.card) if request.card else 0
    if request.cancelled:
        return Answer(False, request.points, card_balance,
                      f"取消済み (ref {request.ref} was cancelled: nothing stays spent)",
                      request.ref)
    return Answer(bool(request.approved), int(request.points), card_balance,
                  str(request.message), str(request.ref))


def _own(request: Any, terminal: str) -> None:
    if request.terminal != terminal:
        raise ApiError(403, "forbidden", f"ref {request.ref!r} belongs to another terminal; "
                       "use a ref of this terminal")


def _record(conn: Connection, **values: Any) -> None:
    conn.execute(insert(PointsRequest).values(source="api", at=now_text(), **values))


def redeem(conn: Connection, terminal: str, card: str, points: int, ref: str) -> Answer:
    """Spend ``points`` of ``card`` once per ``ref`` (a known ref answers its outcome)."""
    lock_head(conn)
    known = _request(conn, ref)
    if known is not None:
        _own(known, terminal)
        return _answer(conn, known)
    have = balance(conn, card)
    if not get_campaign(conn).redemption_enabled:
        approved, message = False, "ポイント利用は停止中です (redemption is disabled)"
    elif have < points:
        approved, message = False, (f"残高不足 (balance short: {have:,} points, "
                                    f"{points:,} asked)")
    else:
        approved, message = True, "redeemed"
    _record(conn, ref=ref, op="redeem", terminal=terminal, card=card, points=points,
            approved=approved, cancelled=False, message=message, original_ref=None)
    if approved:
        append(conn, [Row(card=card, kind="redeem", points=-points, reason="redeemed",
                          actor=terminal, terminal=terminal, ref=ref,
                          dedupe=f"redeem:{ref}")])
        have -= points
    return Answer(approved, points, have, message, ref)


def cancel(conn: Connection, terminal: str, ref: str) -> Answer:
    """Give back what redemption ``ref`` spent, once; an unknown ref is recorded cancelled,
    so a late redeem with it is refused. Approved: nothing stays spent for ``ref``."""
    lock_head(conn)
    known = _request(conn, ref)
    if known is None:
        _record(conn, ref=ref, op="redeem", terminal=terminal, card=None, points=0,
                approved=False, cancelled=True, original_ref=None,
                message="cancelled before it arrived")
        return Answer(True, 0, 0, "cancelled (never received)", ref)
    _own(known, terminal)
    if known.op != "redeem":
        return Answer(False, 0, balance(conn, known.card or ""),
                      f"ref {ref} is a refund, not a redemption: it cannot be cancelled", ref)
    given = int(known.points) - refunded(conn, ref) if known.approved else 0
    if not known.cancelled:
        conn.execute(update(PointsRequest).where(PointsRequest.ref == ref)
                     .values(cancelled=True))
        dedupe = f"redeem_cancel:{ref}"
        if given and not conn.execute(select(PointsLedgerRow.seq).where(
                PointsLedgerRow.dedupe == dedupe)).first():
            append(conn, [Row(card=known.card, kind="redeem_cancel", points=given,
                              reason="redemption cancelled", actor=terminal,
                              terminal=terminal, ref=ref, dedupe=dedupe)])
    return Answer(True, given, balance(conn, known.card or ""), "cancelled", ref)


def _refundable(conn: Connection, original: Any, card: str) -> tuple[int, str]:
    """Points of ``original`` that may still be refunded, or 0 and why not."""
    if original is None or original.op != "redeem" or not original.approved:
        return 0, ("元の利用が見つかりません (the original redemption is not known to the "
                   "server): upload the journal and retry")
    if original.cancelled:
        return 0, "元の利用は取消済みです (the original redemption was cancelled)"
    if original.card != card:
        return 0, "カードが元の利用と違います (the card is not the one that paid)"
    return int(original.points) - refunded(conn, original.ref), "nothing left to refund"


def refunded(conn: Connection, original_ref: str) -> int:
    """Points already given back by refunds of the redemption ``original_ref``."""
    return int(conn.execute(select(func.coalesce(func.sum(PointsRequest.points), 0)).where(
        PointsRequest.original_ref == original_ref, PointsRequest.op == "refund",
        PointsRequest.approved.is_(True))).scalar_one())


def refund(conn: Connection, terminal: str, card: str, points: int, ref: str,
           original_ref: str) -> Answer:
    """Restore ``points`` of the points tender ``original_ref`` to ``card`` once per ``ref``
    (never more than the tender spent, over all its refunds)."""
    lock_head(conn)
    known = _request(conn, ref)
    if known is not None:
        _own(known, terminal)
        return _answer(conn, known)
    left, why = _refundable(conn, _request(conn, original_ref), card)
    approved = 0 < points <= left
    message = "restored" if approved else (
        f"返せるポイントは {left:,} までです (at most {left:,} points left to refund)"
        if left > 0 else why)
    _record(conn, ref=ref, op="refund", terminal=terminal, card=card, points=points,
            approved=approved, cancelled=False, message=message, original_ref=original_ref)
    if approved:
        append(conn, [Row(card=card, kind="refund_restore", points=points,
                          reason=f"refund of {original_ref}", actor=terminal,
                          terminal=terminal, ref=ref, dedupe=f"refund_restore:{ref}")])
    return Answer(approved, points, balance(conn, card), message, ref)


def result(conn: Connection, terminal: str, ref: str) -> Answer | None:
    """The outcome of ``ref`` for the terminal that sent it; None when never received."""
    known = _request(conn, ref)
    if known is None or known.terminal != terminal:
        return None
    return _answer(conn, known)


def request_quota(conn: Connection, terminal: str, used: int) -> dict[str, Any]:
    """Top ``terminal`` up to ``quota_chunk`` unused points (``used``: what it awarded net of
    clawbacks, taken as at most what it was granted) while the budget lasts; asking again
    without using any gives the same ``granted``. The sum granted never passes the budget."""
    lock_head(conn)
    campaign = get_campaign(conn)
    row = conn.execute(select(PointsQuota).where(PointsQuota.terminal == terminal)).one_or_none()
    granted, grant_id = (int(row.granted), str(row.grant_id)) if row else (0, "")
    used = max(0, min(used, granted))
    all_granted = total_granted(conn)
    add = min(used + campaign.quota_chunk - granted, campaign.campaign_budget - all_granted)
    now = now_text()
    if add > 0:
        count = conn.execute(select(func.count()).select_from(PointsGrant).where(
            PointsGrant.terminal == terminal)).scalar_one()
        grant_id, granted, all_granted = f"{terminal}:{count + 1}", granted + add, \
            all_granted + add
        conn.execute(insert(PointsGrant).values(grant_id=grant_id, terminal=terminal,
                                                added=add, granted=granted, used=used, at=now))
    values = {"granted": granted, "grant_id": grant_id, "used": used, "updated_at": now}
    if row is None:
        conn.execute(insert(PointsQuota).values(terminal=terminal, **values))
    else:
        conn.execute(update(PointsQuota).where(PointsQuota.terminal == terminal)
                     .values(**values))
    return {"grant_id": grant_id, "granted": granted,
            "budget_left": campaign.campaign_budget - all_granted}


def transfer(conn: Connection, from_card: str, to_card: str, admin: str,
             reason: str) -> dict[str, Any]:
    """Move a lost card's whole balance to a new card (administrator action): a
    ``transfer_out`` and a ``transfer_in`` row with the administrator and the reason."""
    for card in (from_card, to_card):
        if not is_card_token(card):
            raise ServerError("カードはトークン (64桁16進) で指定してください (give both cards as "
                              "card tokens, never an IDm)")
    if from_card == to_card:
        raise ServerError("移行元と移行先が同じです (the two cards are the same)")
    if not admin.strip() or not reason.strip():
        raise ServerError("管理者と理由は必須です (the administrator and a reason are required)")
    lock_head(conn)
    points = balance(conn, from_card)
    if points <= 0:
        raise ServerError(f"移行する残高がありません (the card has {points} points to transfer)")
    transfer_id = f"transfer:{now_text()}:{from_card[:8]}"
    seqs = append(conn, [
        Row(card=from_card, kind="transfer_out", points=-points, reason=reason[:500],
            actor=admin[:100], ref=transfer_id, dedupe=f"transfer_out:{transfer_id}"),
        Row(card=to_card, kind="transfer_in", points=points, reason=reason[:500],
            actor=admin[:100], ref=transfer_id, dedupe=f"transfer_in:{transfer_id}"),
    ])
    return {"transfer": transfer_id, "points": points, "ledger_seqs": seqs,
            "from_balance": balance(conn, from_card), "to_balance": balance(conn, to_card)}
