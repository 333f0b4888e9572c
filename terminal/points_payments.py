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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.payments import PaymentPending, result_body
from terminal.points import is_card_token
from terminal.ports import PaymentResult, PointsService, TenderKind
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.counter import Counter
    from terminal.journal import Entry

OFFLINE = "OFFLINE"


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
    offline = not training and counter.points_awards.offline_card(card)
    if offline:
        check_offline_limit(counter, card, points)
    ref = desk.new_ref()
    body: dict[str, Any] = {
        "operation": "sale", "kind": "points", "amount": amount, "points": points,
        "card": card, "ref": ref, "open_seq": open_sale.open_seq,
    }
    if offline:
        body["offline"] = True

    def redeem() -> PaymentResult:
        assert service is not None  # training never calls it
        if offline:  # never sent: the server settles it from the journal
            return PaymentResult(approved=True, amount=amount, kind="points", ref=ref,
                                 approval_code=OFFLINE,
                                 message="オフライン利用 (offline: settled by the server later)")
        return as_yen(service.redeem(card, points, ref), body)

    result = desk.send(body, redeem)
    if not result.approved:
        raise PaymentDeclined(
            f"ポイントを使えませんでした (points not redeemed): {result.message}"
        )
    return desk.tender_from_result(result_body(0, result))


def check_offline_limit(counter: Counter, card: str, points: int) -> None:
    """Refuse an offline redemption above what the rules allow (none by default)."""
    limit = counter.points_rules.offline_redemption_limit
    left = limit - counter.state.points.offline_spent.get(card, 0)
    if limit <= 0:
        raise DomainError(
            "ポイントサービスに接続できないため、ポイントは使えません。別のお支払い方法を選んで"
            "ください (the points service cannot be reached and points cannot be spent "
            "offline here: choose another tender)"
        )
    if points > left:
        raise DomainError(
            f"オフラインで使えるのはあと {max(0, left):,} ポイントまでです (the points service "
            f"cannot be reached: at most {max(0, left):,} more points of this card may be "
            "spent offline today)"
        )


def cancel_call(counter: Counter, pending_body: Mapping[str, Any]) -> Callable[[], PaymentResult]:
    """The call that gives back the points of ``pending_body["original_ref"]`` (a void or the
    cancel of an open sale); the service is looked up only when called (never in training).
    An offline redemption was never sent: withdrawing it needs no service."""
    original_ref = str(pending_body["original_ref"])
    spent = counter.state.points.redemptions.get(original_ref, {})
    if spent.get("offline"):
        return lambda: PaymentResult(
            approved=True, amount=int(pending_body["amount"]), kind="points",
            ref=str(pending_body["ref"]), approval_code=OFFLINE,
            message="オフライン利用の取消 (offline redemption withdrawn: never sent)")
    return lambda: as_yen(service_of(counter).cancel(original_ref), pending_body)


def _give_back(counter: Counter, body: dict[str, Any],
               call: Callable[[], PaymentResult]) -> None:
    """Send a give-back; an unknown outcome stays pending (``resolve_give_backs``)."""
    if counter.points is None and not counter.state.training:
        service_of(counter)  # refuse before journaling: nothing could ever send it
    try:
        result = counter.payments.send(body, call)
    except PaymentPending:
        return
    if not result.approved:
        raise PaymentDeclined(
            f"ポイントを戻せませんでした (points not given back): {result.message}"
        )


def void_tenders(counter: Counter, original: Mapping[str, Any]) -> None:
    """Reverse the tenders of sale body ``original`` for its void: the payment terminal's and
    the gateway's first (their outcome must be known before the void is journaled), then the
    points (an unknown give-back stays pending and is sent again later)."""
    tenders = list(original["tenders"])
    counter.payments.void_tenders({"tenders": [t for t in tenders if t["kind"] != "points"]})
    for tender in tenders:
        if tender["kind"] != "points" or int(tender["amount"]) <= 0:
            continue
        body: dict[str, Any] = {
            "operation": "void", "kind": "points", "amount": int(tender["amount"]),
            "ref": f"{tender['ref']}-V", "slip_no": "", "open_seq": 0,
            "original_ref": str(tender["ref"]),
        }
        _give_back(counter, body, cancel_call(counter, body))


def refund_tenders(counter: Counter, kind: TenderKind, total: int,
                   original: Mapping[str, Any], original_seq: int) -> list[Tender]:
    """The tenders refunding ``total`` yen of sale body ``original`` in ``kind``."""
    if kind != "points":
        return [counter.payments.refund_tender(kind, total, original)]
    return refund_points(counter, original, original_seq, total)


def refund_points(counter: Counter, original: Mapping[str, Any], original_seq: int,
                  total: int) -> list[Tender]:
    """Refund ``total`` yen of sale ``original`` as points back to the card(s) that paid it;
    refused above what was paid in points and not yet refunded."""
    per_point = counter.points_rules.yen_per_point
    if total % per_point:
        raise DomainError(
            f"¥{total:,} はポイントで返せません (not a whole number of points at ¥{per_point} "
            "a point): refund in cash"
        )
    portions = _points_left(counter, original, original_seq)
    if total > sum(amount for _, amount in portions):
        raise DomainError(
            f"ポイントで支払われたのは ¥{sum(a for _, a in portions):,} までです (only that much "
            f"of this sale was paid in points and is not yet refunded; ¥{total:,} asked): "
            "refund the rest in cash"
        )
    tenders, due = [], total
    for original_ref, amount in portions:
        part = min(due, amount)
        if part <= 0:
            break
        tenders.append(_refund_portion(counter, original, original_ref, part))
        due -= part
    return tenders


def _refund_portion(counter: Counter, original: Mapping[str, Any], original_ref: str,
                    amount: int) -> Tender:
    spent = counter.state.points.redemptions.get(original_ref)
    if spent is None:
        raise DomainError(f"ポイント支払 {original_ref} の記録がありません (no redemption "
                          f"{original_ref} in this journal): refund in cash")
    ref = f"{original['receipt_no']}-R{counter.journal.last_seq + 1}"
    return give_back_points(counter, str(spent["card"]), original_ref, amount, ref)


def give_back_points(counter: Counter, card: str, original_ref: str, amount: int,
                     ref: str) -> Tender:
    """Refund ``amount`` yen of the points tender ``original_ref`` to ``card`` through the
    service (``payment.pending`` operation refund, then its result; an unknown outcome stays
    pending and is sent again later); the refund's points tender. ``PaymentDeclined`` when the
    service refuses (e.g. the card is not the one that paid)."""
    points = amount // counter.points_rules.yen_per_point
    body: dict[str, Any] = {"operation": "refund", "kind": "points", "amount": amount,
                            "points": points, "card": card, "ref": ref,
                            "original_ref": original_ref}
    _give_back(counter, body, lambda: as_yen(
        service_of(counter).refund(card, points, ref, original_ref), body))
    return Tender("points", amount, ref=ref)


def _points_left(counter: Counter, original: Mapping[str, Any],
                 original_seq: int) -> list[tuple[str, int]]:
    """(ref, yen) of the original's points tenders not yet refunded, in tender order (earlier
    refunds took from them in the same order)."""
    seqs = counter.state.refunds_by_original.get((counter.settings.terminal, original_seq), [])
    refunded = sum(int(t["amount"]) for s in seqs
                   for t in counter.journal.entry(s).body["tenders"] if t["kind"] == "points")
    left: list[tuple[str, int]] = []
    for tender in _points_tenders(original["tenders"]):
        taken = min(refunded, int(tender["amount"]))
        refunded -= taken
        if int(tender["amount"]) > taken:
            left.append((str(tender["ref"]), int(tender["amount"]) - taken))
    return left


def _points_tenders(tenders: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [t for t in tenders if t.get("kind") == "points" and t.get("ref")]


def resolve_give_backs(counter: Counter) -> list[Entry]:
    """Ask the service again about every give-back still pending (refunds and voids of points
    while it was unreachable); those it still cannot answer stay pending."""
    done = []
    service = counter.points
    if service is None:
        return []
    for seq, body in sorted(counter.state.points.give_backs.items()):
        try:
            result = ask(service, body)
        except DeviceError:
            continue
        if result is not None:
            done.append(counter.record("payment.result", result_body(seq, result)))
    return done


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
    if pending_body.get("operation") == "refund":  # idempotent by ref: send it again
        return as_yen(service.refund(str(pending_body["card"]), int(pending_body["points"]),
                                     ref, str(pending_body["original_ref"])), pending_body)
    if pending_body.get("operation") != "sale":
        return None
    # Never received: cancel it so a late request cannot spend the points.
    cancelled = service.cancel(ref)
    if not cancelled.approved:
        raise DeviceError(f"points service refused to cancel {ref}: {cancelled.message}")
    return PaymentResult(approved=False, amount=int(pending_body["amount"]), kind="points",
                         ref=ref, message="not received by the points service (cancelled)")
