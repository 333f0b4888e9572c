"""Refund of another counter's sale (same facility), found on the central server.

DESIGN.md: a refund may be taken at any later time and at another counter
(``original_terminal``), and the refunded quantity per line is never above what is left of the
original. The original sale lives in another terminal's journal, so this counter learns of it
(and of the refunds and voids already taken against it) from the server's copy: the exact
canonical lines the server stores. Each line is checked here before use: strict canonical JSON,
exactly the journal envelope, and a ``hash`` that matches its content. (The ``sig`` is the other
terminal's: this counter does not hold that key; the server verified it when it stored the line.)

What is already taken back = the refunds and voids the server knows for the sale, united (by
the refund's own terminal and seq) with this counter's own refunds of it that may not have
reached the server yet.

Only cash and points can be given back here: a card, e-money or QR refund has to go through
the payment terminal or gateway that took the payment, at the original counter. Points go back
through the points service like a local refund (``points_payments.give_back_points``), to the
card the visitor taps (the sale body names its points tenders, not their card; the service
refuses any other card), at most what the sale's points tenders paid and was not yet refunded.

はちのへポイント: a refund that takes the sale from having an eligible item to having none
journals ``points.clawback`` with ``award_terminal`` (the original counter) and ``award_seq`` =
the sale's seq + 1 (an award is journaled right after its sale, docs/points.md). This counter
does not hold the award, so ``card`` is "" and ``points`` 0: the server takes both from the
award it names, and ignores a clawback naming no award (the sale earned nothing).

No I/O of its own: the caller fetches the server's answer (``sync.client.ServerClient.
lookup_receipt``) and hands it over; the counter journals the refund.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from terminal.documents import original_lines, refund_body, refunded_quantities
from terminal.errors import DomainError
from terminal.journal import Entry
from terminal.journal.canonical import (
    ENVELOPE_KEYS,
    CanonicalError,
    canonical,
    entry_hash,
    loads_strict,
)
from terminal.money import ROUNDING_MODES, RoundingMode
from terminal.points import is_card_token
from terminal.points_awards import has_eligible
from terminal.points_payments import give_back_points
from terminal.ports import TenderKind
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.counter import Counter

FOREIGN_TENDERS: tuple[TenderKind, ...] = ("cash", "points")
TAKE_BACK_KINDS = ("refund", "void")


@dataclass(frozen=True)
class ForeignSale:
    """A sale of another counter as the server holds it, checked, with what the server knows
    was already taken back from it."""

    original: dict[str, Any]
    server_refunds: tuple[dict[str, Any], ...]

    @property
    def terminal(self) -> str:
        return str(self.original["terminal"])

    @property
    def seq(self) -> int:
        return int(self.original["seq"])

    @property
    def body(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.original["body"])

    @property
    def receipt_no(self) -> str:
        return str(self.body["receipt_no"])


def _server_error(what: str, why: str) -> DomainError:
    return DomainError(
        f"サーバーの取引データが不正です (the server's copy of {what} is not a valid journal "
        f"entry; refund at the original counter and tell the administrator): {why}"
    )


def check_entry(entry: Mapping[str, Any], what: str = "the sale") -> dict[str, Any]:
    """``entry`` as a plain dict if it is exactly a journal envelope whose ``hash`` matches
    its content; DomainError otherwise."""
    if set(entry) != set(ENVELOPE_KEYS):
        raise _server_error(what, f"keys {sorted(entry)} are not the journal envelope")
    if not isinstance(entry.get("body"), dict):
        raise _server_error(what, "its body is not an object")
    for key, kind in (("seq", int), ("terminal", str), ("kind", str), ("hash", str)):
        value = entry.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _server_error(what, f"{key} is {value!r}")
    try:
        digest = entry_hash(entry)
    except CanonicalError as exc:
        raise _server_error(what, str(exc)) from exc
    if digest != entry["hash"]:
        raise _server_error(
            what, f"hash mismatch at {entry['terminal']}#{entry['seq']}: the content was "
            f"altered (stated {str(entry['hash'])[:16]}, computed {digest[:16]})"
        )
    return dict(entry)


def parse_server_line(line: object, what: str = "the sale") -> dict[str, Any]:
    """One canonical entry line from the server, parsed strictly and checked (``check_entry``)."""
    if not isinstance(line, str):
        raise _server_error(what, f"expected a canonical JSON line, got {type(line).__name__}")
    try:
        value = loads_strict(line)
        exact = isinstance(value, dict) and canonical(value) == line.encode("utf-8")
    except CanonicalError as exc:
        raise _server_error(what, str(exc)) from exc
    except UnicodeEncodeError as exc:
        raise _server_error(what, f"not encodable as UTF-8: {exc}") from exc
    if not isinstance(value, dict):
        raise _server_error(what, "the line is not a JSON object")
    if not exact:
        raise _server_error(what, "the line is not the exact canonical text of the entry")
    return check_entry(value, what)


def foreign_sale(counter: Counter, found: Mapping[str, Any]) -> ForeignSale:
    """The server's answer to a receipt lookup (``{"terminal", "seq", "line", "refunds"}``),
    checked: the line is another terminal's ``sale`` at that terminal and seq, and every
    refund line is a take-back of exactly that sale."""
    original = _check_original(counter, parse_server_line(found.get("line")))
    if (original["terminal"], original["seq"]) != (found.get("terminal"), found.get("seq")):
        raise _server_error("the sale", f"the line is {original['terminal']}#{original['seq']}, "
                            f"not {found.get('terminal')}#{found.get('seq')} as answered")
    raw = found.get("refunds", [])
    if not isinstance(raw, list):
        raise _server_error("the refunds", "the refunds are not a list")
    refunds = tuple(parse_server_line(line, "a refund") for line in raw)
    return ForeignSale(original, _check_refunds(original, refunds))


def _check_original(counter: Counter, original: Mapping[str, Any]) -> dict[str, Any]:
    checked = check_entry(original)
    if checked["kind"] != "sale":
        raise DomainError(
            f"{checked['terminal']}#{checked['seq']} は売上ではありません (entry "
            f"{checked['terminal']}#{checked['seq']} is a {checked['kind']}, not a sale)"
        )
    if checked["terminal"] == counter.settings.terminal:
        raise DomainError(
            f"この窓口の取引です (sale {checked['terminal']}#{checked['seq']} is this "
            f"counter's own): 通常の返金で取引番号 {checked['seq']} を呼び出してください "
            f"(refund it as a local sale, entry {checked['seq']})"
        )
    original_lines(checked["body"])  # a sale with lines, or DomainError
    return checked


def _check_refunds(original: Mapping[str, Any],
                   refunds: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    target = (original["terminal"], original["seq"])
    checked = []
    for refund in refunds:
        entry = check_entry(refund, "a refund")
        body = entry["body"]
        if entry["kind"] not in TAKE_BACK_KINDS:
            raise _server_error("a refund", f"{entry['terminal']}#{entry['seq']} is a "
                                f"{entry['kind']}, not a refund or void")
        if (body.get("original_terminal"), body.get("original_seq")) != target:
            raise _server_error("a refund", f"{entry['terminal']}#{entry['seq']} takes back "
                                f"another sale, not {target[0]}#{target[1]}")
        checked.append(entry)
    return tuple(checked)


def _taken_back(counter: Counter, original: Mapping[str, Any],
                server_refunds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Server refunds united with this counter's own refunds of the sale, once each."""
    terminal, seq = str(original["terminal"]), int(original["seq"])
    entries: dict[tuple[str, int], dict[str, Any]] = {
        (str(e["terminal"]), int(e["seq"])): dict(e) for e in server_refunds
    }
    for own_seq in counter.state.refunds_by_original.get((terminal, seq), []):
        entries[(counter.settings.terminal, own_seq)] = counter.journal.entry(own_seq).as_dict()
    return list(entries.values())


def already_refunded(counter: Counter, original: Mapping[str, Any],
                     server_refunds: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Quantity already taken back per original line index (server + this counter)."""
    return refunded_quantities(_taken_back(counter, original, server_refunds),
                               str(original["terminal"]), int(original["seq"]),
                               original=cast(Mapping[str, object], original["body"]))


def remaining(counter: Counter, original: Mapping[str, Any],
              server_refunds: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Quantity left to refund per original line index."""
    done = already_refunded(counter, original, server_refunds)
    lines = original_lines(cast(Mapping[str, object], original["body"]))
    return {i: max(0, line.qty - done.get(i, 0)) for i, line in enumerate(lines)}


def refund_foreign(counter: Counter, original: Mapping[str, Any],
                   server_refunds: Sequence[Mapping[str, Any]], quantities: Mapping[int, int],
                   approved_by: str, tender_kind: TenderKind = "cash",
                   card: str | None = None) -> Entry:
    """Journal a ``refund`` of another counter's sale ``original`` (its entry dict, from the
    server) on this counter: ``quantities`` maps original line index -> quantity. ``card``:
    for a refund to points, the tapped card's keyed hash (the card that paid)."""
    checked = _check_original(counter, original)
    refunds = _check_refunds(checked, server_refunds)
    if tender_kind not in FOREIGN_TENDERS:
        raise DomainError(
            f"他の窓口の取引はカード・電子マネー・QRに返金できません。現金で返金するか、元の窓口 "
            f"{checked['terminal']} で返金してください (a sale of another counter cannot be "
            f"refunded to {tender_kind} here, that needs the original counter's payment "
            f"terminal: refund it in cash or at the original counter {checked['terminal']})"
        )
    body: dict[str, Any] = checked["body"]
    taken = _taken_back(counter, checked, refunds)
    already = refunded_quantities(taken, checked["terminal"], checked["seq"], original=body)
    n = sum(1 for e in taken if e["kind"] == "refund")
    receipt_no = f"{body['receipt_no']}-R" + (str(n + 1) if n else "")
    rounding = cast(RoundingMode, body.get("rounding"))
    if rounding not in ROUNDING_MODES:
        rounding = counter.settings.rounding
    clerk = counter.clerk

    def build(tenders: list[Tender]) -> dict[str, object]:
        return refund_body(body, checked["seq"], checked["terminal"], quantities, already,
                           tenders, clerk, approved_by, rounding, receipt_no)

    total = _line_total(body, quantities)
    draft = build([Tender("cash", total, given=total, change=0)])  # checks the quantities
    if tender_kind == "points":
        draft = build(_points_back(counter, checked, taken, total, card, receipt_no))
    entry = counter.record("refund", draft)
    _claw_back(counter, checked, already, quantities, entry)
    return entry


def _points_back(counter: Counter, original: Mapping[str, Any],
                 taken: Sequence[Mapping[str, Any]], total: int, card: str | None,
                 receipt_no: str) -> list[Tender]:
    """Give ``total`` yen back as points to ``card`` from the sale's points tenders not yet
    refunded (in tender order, as earlier refunds took them); the refund's tenders."""
    if card is None or not is_card_token(card):
        raise DomainError(
            "ポイントで返金するには、ポイントを支払ったカードをタッチしてください "
            "(tap the card that paid with points: a refund to points goes back to that card)")
    per_point = counter.points_rules.yen_per_point
    if total % per_point:
        raise DomainError(f"¥{total:,} はポイントで返せません (not a whole number of points at "
                          f"¥{per_point} a point): refund in cash")
    portions = _points_left(original, taken)
    if total > sum(amount for _, amount in portions):
        raise DomainError(
            f"ポイントで支払われたのは ¥{sum(a for _, a in portions):,} までです (only that much "
            f"of this sale was paid in points and is not yet refunded; ¥{total:,} asked): "
            "refund the rest in cash")
    tenders, due = [], total
    for original_ref, amount in portions:
        part = min(due, amount)
        if part <= 0:
            break
        # The ref names this counter: refs are unique server-wide, and the original counter
        # makes refs "<receipt>-R<its seq>" for its own refunds.
        ref = f"{receipt_no}-{counter.settings.terminal}-{counter.journal.last_seq + 1}"
        tenders.append(give_back_points(counter, card, original_ref, part, ref))
        due -= part
    return tenders


def _points_left(original: Mapping[str, Any],
                 taken: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(ref, yen) of the sale's points tenders not yet refunded by ``taken``."""
    refunded = sum(int(t["amount"]) for e in taken if e["kind"] == "refund"
                   for t in e["body"].get("tenders", []) if t.get("kind") == "points")
    left: list[tuple[str, int]] = []
    for tender in original["body"]["tenders"]:
        if tender.get("kind") != "points" or not tender.get("ref"):
            continue
        part = min(refunded, int(tender["amount"]))
        refunded -= part
        if int(tender["amount"]) > part:
            left.append((str(tender["ref"]), int(tender["amount"]) - part))
    return left


def _claw_back(counter: Counter, original: Mapping[str, Any], already: Mapping[int, int],
               quantities: Mapping[int, int], entry: Entry) -> Entry | None:
    """Journal the clawback of the original counter's award when ``entry`` took the sale
    from having an eligible item to having none (see the module docstring)."""
    if counter.state.training:
        return None
    lines = original["body"]["lines"]
    before = [{"code": line["code"], "qty": int(line["qty"]) - already.get(i, 0)}
              for i, line in enumerate(lines)]
    after = [{"code": line["code"], "qty": line["qty"] - quantities.get(i, 0)}
             for i, line in enumerate(before)]
    rules = counter.points_rules
    if not has_eligible(rules, before) or has_eligible(rules, after):
        return None
    seq = int(original["seq"])
    return counter.record("points.clawback", {
        "card": "", "sale_seq": seq, "award_terminal": str(original["terminal"]),
        "award_seq": seq + 1, "points": 0, "reason": "refund", "by_seq": entry.seq})


def _line_total(body: Mapping[str, Any], quantities: Mapping[int, int]) -> int:
    lines = body["lines"]
    return sum(int(lines[i]["unit_price"]) * q for i, q in quantities.items()
               if isinstance(i, int) and isinstance(q, int) and 0 <= i < len(lines) and q > 0)
