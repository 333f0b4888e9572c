"""Paying with はちのへポイント through the points service (the ``PointsService`` port).

Points are a tender: they pay part (or all) of the open sale and never reduce its taxable base.
Like every device payment, a ``payment.pending`` entry is committed before the service is asked
(``operation`` sale, ``kind`` points, ``amount`` in yen = points x ``yen_per_point``,
``points``, ``card``, ``ref``, ``open_seq``), and the answer is journaled as ``payment.result``.
``card`` is the card's keyed hash (``terminal.points.card_token``), never its raw IDm.

An unknown outcome (the service did not answer) stays pending and is resolved by asking the
service what happened to that ``ref`` (``ask``, from ``PaymentDesk.resolve_pending``): a
redemption the service never received is cancelled there, so a late arrival cannot spend
points, and recorded as not approved. Training never reaches the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.payments import result_body
from terminal.points import is_card_token
from terminal.ports import PaymentResult, PointsService
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.counter import Counter


def service_of(counter: Counter) -> PointsService:
    """The counter's points service, or a ``DeviceError`` that says how to configure one."""
    if counter.points is None:
        raise DeviceError(
            "ポイントサービスが設定されていません (no points service configured): "
            "enable [points] and the points tender in the terminal config"
        )
    return counter.points


def as_yen(result: PaymentResult, pending_body: Mapping[str, Any]) -> PaymentResult:
    """The service's answer (in points) recorded against our request: kind points, our ref,
    and the request's amount in yen."""
    return replace(result, kind="points", ref=str(pending_body["ref"]),
                   amount=int(pending_body["amount"]))


def pay_with_points(counter: Counter, card: str, points: int) -> Tender:
    """Redeem ``points`` of ``card`` (its keyed hash) against the open sale (opened from the
    cart if needed); returns the points tender. Refused (``DomainError``) above the amount due;
    ``PaymentDeclined`` when the service declines (e.g. the balance is short);
    ``PaymentPending`` when its answer is unknown."""
    if "points" not in counter.settings.tenders:
        raise DomainError("この窓口ではポイントは使えません (tender 'points' is not enabled)")
    rules = counter.points_rules
    if not rules.enabled:
        raise DomainError("ポイントは停止中です (the points programme is disabled here)")
    if not is_card_token(card):
        raise DomainError(
            "カードの識別子が不正です (card must be the keyed hash of the IDm, never the IDm)"
        )
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise DomainError(f"ポイント数が不正です (points must be a whole number >= 1, got "
                          f"{points!r})")
    training = counter.state.training
    service = None if training else service_of(counter)  # refuse before journaling
    desk = counter.payments
    open_sale = counter.begin_payment()
    desk.require_no_pending()
    remaining = counter.payment().remaining
    amount = points * rules.yen_per_point
    if amount > remaining:
        raise DomainError(
            f"ポイントが支払額を超えています (¥{amount:,} in points is above the ¥{remaining:,} "
            "due): use fewer points"
        )
    ref = desk.new_ref()
    body: dict[str, Any] = {
        "operation": "sale", "kind": "points", "amount": amount, "points": points,
        "card": card, "ref": ref, "open_seq": open_sale.open_seq,
    }

    def redeem() -> PaymentResult:
        assert service is not None  # training never calls it
        return as_yen(service.redeem(card, points, ref), body)

    result = desk.send(body, redeem)
    if not result.approved:
        raise PaymentDeclined(
            f"ポイントを使えませんでした (points not redeemed): {result.message}"
        )
    return desk.tender_from_result(result_body(0, result))


def cancel_call(counter: Counter, pending_body: Mapping[str, Any]) -> Callable[[], PaymentResult]:
    """The call that gives back the points of ``pending_body["original_ref"]`` (a void or the
    cancel of an open sale); the service is looked up only when called (never in training)."""
    original_ref = str(pending_body["original_ref"])
    return lambda: as_yen(service_of(counter).cancel(original_ref), pending_body)


def ask(service: PointsService, pending_body: Mapping[str, Any]) -> PaymentResult | None:
    """What the service says happened to a pending points request (None: nothing to record
    yet). A ``DeviceError`` means we still don't know."""
    ref = str(pending_body["ref"])
    if pending_body.get("operation") == "void":
        # A cancel is idempotent: sending it again is how we learn its outcome.
        return as_yen(service.cancel(str(pending_body["original_ref"])), pending_body)
    result = service.last_result(ref)
    if result is not None:
        return as_yen(result, pending_body)
    if pending_body.get("operation") != "sale":
        return None
    # Never received: cancel it so a late request cannot spend the points.
    cancelled = service.cancel(ref)
    if not cancelled.approved:
        raise DeviceError(f"points service refused to cancel {ref}: {cancelled.message}")
    return PaymentResult(approved=False, amount=int(pending_body["amount"]), kind="points",
                         ref=ref, message="not received by the points service (cancelled)")
