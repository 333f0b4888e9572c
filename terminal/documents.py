"""Journal bodies of the money documents: ``sale``, ``refund`` and ``void`` (pure functions).

Bodies carry exactly the field names of DESIGN.md; refund and void lines add ``original_line``
(the index of the line in the original sale), which the contract allows as an extra field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import cast

from terminal.errors import ApprovalRequired, DomainError
from terminal.money import ROUNDING_MODES, RoundingMode, taxes_by_class
from terminal.sale import SaleLine
from terminal.tenders import Tender, settle_check

TRAINING_PREFIX = "training."


def _document_body(
    receipt_no: str,
    lines: Sequence[SaleLine],
    tenders: Sequence[Tender],
    clerk: str,
    rounding: RoundingMode,
) -> dict[str, object]:
    if not lines:
        raise DomainError(f"receipt {receipt_no!r} has no lines; add at least one fee")
    if not clerk:
        raise DomainError(f"receipt {receipt_no!r} has no clerk; log a clerk in first")
    if not receipt_no:
        raise DomainError("a receipt number is required")
    if rounding not in ROUNDING_MODES:
        raise DomainError(f"unknown rounding mode {rounding!r}; valid: {', '.join(ROUNDING_MODES)}")
    total = sum(line.amount for line in lines)
    settle_check(total, tenders)
    taxes = taxes_by_class(((line.tax_class, line.amount) for line in lines), rounding)
    return {
        "receipt_no": receipt_no,
        "lines": [line.as_body() for line in lines],
        "total": total,
        "rounding": rounding,
        "taxes": [tax.as_body() for tax in taxes],
        "tenders": [tender.as_body() for tender in tenders],
        "clerk": clerk,
    }


def sale_body(
    receipt_no: str,
    lines: Sequence[SaleLine],
    tenders: Sequence[Tender],
    clerk: str,
    rounding: RoundingMode,
) -> dict[str, object]:
    """The ``sale`` body; the tenders must settle the total exactly (cash change aside)."""
    return _document_body(receipt_no, lines, tenders, clerk, rounding)


def original_lines(original: Mapping[str, object]) -> list[SaleLine]:
    """The lines of an original sale body, as :class:`SaleLine` values."""
    raw = original.get("lines")
    if not isinstance(raw, list) or not raw:
        raise DomainError("the original sale body has no lines; is it really a sale?")
    return [SaleLine.from_body(cast(Mapping[str, object], line)) for line in raw]


def _take_back_fields(
    original_seq: int, original_terminal: str, approved_by: str, what: str
) -> dict[str, object]:
    if not approved_by:
        raise ApprovalRequired(f"a {what} needs a supervisor's approval (approved_by is empty)")
    if not original_terminal:
        raise DomainError(f"a {what} must name the original terminal")
    return {
        "original_seq": original_seq,
        "original_terminal": original_terminal,
        "approved_by": approved_by,
    }


def refund_body(
    original: Mapping[str, object],
    original_seq: int,
    original_terminal: str,
    quantities: Mapping[int, int],
    already_refunded: Mapping[int, int],
    tenders: Sequence[Tender],
    clerk: str,
    approved_by: str,
    rounding: RoundingMode,
    receipt_no: str,
) -> dict[str, object]:
    """The ``refund`` body: ``quantities`` maps original line index -> quantity to refund."""
    extra = _take_back_fields(original_seq, original_terminal, approved_by, "refund")
    source = original_lines(original)
    lines: list[SaleLine] = []
    for index in sorted(quantities):
        qty = quantities[index]
        if not 0 <= index < len(source):
            raise DomainError(
                f"refund of sale {original_terminal}#{original_seq}: no line {index}; "
                f"the sale has lines 0..{len(source) - 1}"
            )
        line = source[index]
        left = line.qty - already_refunded.get(index, 0)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise DomainError(f"refund line {index} ({line.name}): quantity {qty!r} is not >= 0")
        if qty > left:
            raise DomainError(
                f"refund line {index} ({line.name}): {qty} asked but only {left} of "
                f"{line.qty} left to refund; lower the quantity"
            )
        if qty:
            lines.append(replace(line, qty=qty, original_line=index))
    if not lines:
        raise DomainError(
            f"refund of sale {original_terminal}#{original_seq}: nothing to refund; "
            f"choose at least one line and a quantity"
        )
    return {**_document_body(receipt_no, lines, tenders, clerk, rounding), **extra}


def void_body(
    original: Mapping[str, object],
    original_seq: int,
    original_terminal: str,
    clerk: str,
    approved_by: str,
    receipt_no: str,
    tenders: Sequence[Tender] | None = None,
) -> dict[str, object]:
    """The ``void`` body: takes back the whole sale with its original tenders.

    Cash goes back as given = amount, change 0; other tenders keep their kind, amount and
    references unless ``tenders`` (for instance the payment terminal's void results) is given.
    """
    extra = _take_back_fields(original_seq, original_terminal, approved_by, "void")
    lines = [replace(line, original_line=i) for i, line in enumerate(original_lines(original))]
    if tenders is None:
        raw = original.get("tenders")
        if not isinstance(raw, list):
            raise DomainError(f"sale {original_terminal}#{original_seq} has no tenders list")
        tenders = [_returned(Tender.from_body(cast(Mapping[str, object], t))) for t in raw]
    rounding = cast(RoundingMode, original.get("rounding", "floor"))
    return {**_document_body(receipt_no, lines, tenders, clerk, rounding), **extra}


def _returned(tender: Tender) -> Tender:
    if tender.kind == "cash":
        return Tender("cash", tender.amount, given=tender.amount, change=0)
    return tender


def _is_live(entry: Mapping[str, object]) -> bool:
    return not str(entry.get("kind", "")).startswith(TRAINING_PREFIX)


def _body(entry: Mapping[str, object]) -> Mapping[str, object]:
    body = entry.get("body")
    if not isinstance(body, Mapping):
        raise DomainError(f"journal entry seq {entry.get('seq')!r} has no body object")
    return cast(Mapping[str, object], body)


def _targets(entry: Mapping[str, object], terminal: str, seq: int) -> bool:
    body = _body(entry)
    return body.get("original_terminal") == terminal and body.get("original_seq") == seq


def _find_sale(
    entries: Sequence[Mapping[str, object]], terminal: str, seq: int
) -> Mapping[str, object] | None:
    for entry in entries:
        kind, where = entry.get("kind"), (entry.get("terminal"), entry.get("seq"))
        if kind == "sale" and where == (terminal, seq):
            return _body(entry)
    return None


def refunded_quantities(
    entries: Iterable[Mapping[str, object]],
    original_terminal: str,
    original_seq: int,
    original: Mapping[str, object] | None = None,
) -> dict[int, int]:
    """Quantity already taken back (refunds and voids) per original line index.

    Lines without ``original_line`` (older journals) are matched by code and unit price to the
    original sale's lines: pass ``original`` or include the sale among ``entries``.
    """
    entries = list(entries)
    taken: dict[int, int] = {}
    unmatched: list[SaleLine] = []
    for entry in entries:
        if entry.get("kind") not in ("refund", "void"):
            continue
        if not _targets(entry, original_terminal, original_seq):
            continue
        for line in original_lines(_body(entry)):
            if line.original_line is None:
                unmatched.append(line)
            else:
                taken[line.original_line] = taken.get(line.original_line, 0) + line.qty
    if unmatched:
        _match_by_code(unmatched, taken, original, entries, original_terminal, original_seq)
    return taken


def _match_by_code(
    unmatched: list[SaleLine],
    taken: dict[int, int],
    original: Mapping[str, object] | None,
    entries: Sequence[Mapping[str, object]],
    terminal: str,
    seq: int,
) -> None:
    if original is None:
        original = _find_sale(entries, terminal, seq)
    if original is None:
        raise DomainError(
            f"refund lines of sale {terminal}#{seq} lack original_line and the sale is not "
            f"given; pass the original sale body"
        )
    source = original_lines(original)
    for line in unmatched:
        for i, candidate in enumerate(source):
            same = candidate.code == line.code and candidate.unit_price == line.unit_price
            if same and candidate.qty - taken.get(i, 0) >= line.qty:
                taken[i] = taken.get(i, 0) + line.qty
                break
        else:
            raise DomainError(
                f"refund line {line.code!r} x{line.qty} matches no line left in sale "
                f"{terminal}#{seq}"
            )


def check_void(
    entries_since_last_z: Sequence[Mapping[str, object]], original_seq: int, terminal: str
) -> Mapping[str, object]:
    """The body of sale ``terminal#original_seq`` if it may still be voided.

    A void takes back a whole sale of the current business period (after the last
    ``closing.z``), at most once, and only if no part of it was refunded.
    """
    own = [e for e in entries_since_last_z if e.get("terminal") == terminal]
    for i in range(len(own) - 1, -1, -1):
        if own[i].get("kind") == "closing.z":
            own = own[i + 1 :]
            break
    original = _find_sale(own, terminal, original_seq)
    if original is None:
        raise DomainError(
            f"seq {original_seq} of {terminal} is not a sale of the current business period; "
            f"only today's sales before the Z closing can be voided, use a refund instead"
        )
    for entry in entries_since_last_z:
        if not _is_live(entry) or not _targets(entry, terminal, original_seq):
            continue
        if entry.get("kind") == "void":
            raise DomainError(
                f"sale {terminal}#{original_seq} is already voided (void at seq "
                f"{entry.get('seq')}); a sale is voided at most once"
            )
        if entry.get("kind") == "refund":
            raise DomainError(
                f"sale {terminal}#{original_seq} has a refund (seq {entry.get('seq')}); "
                f"it cannot be voided, refund the rest instead"
            )
    return original
