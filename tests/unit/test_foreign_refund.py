"""Refund of another counter's sale from the server's copy: what is left counts the server's
refunds and this counter's own (once each); tampered, own or non-sale lines are refused; only
cash or points go back at a counter other than the original."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drivers.inprocess import InProcessPaymentTerminal
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import DomainError
from terminal.foreign_refund import (
    already_refunded,
    foreign_sale,
    parse_server_line,
    refund_foreign,
    remaining,
)
from terminal.journal import Entry, Journal, TerminalKey, canonical, entry_hash

A, B = "museum-01", "museum-02"
CATALOGUE = Catalogue(
    items=(
        FeeItem("ADM", Names("一般入館料"), "admission", 250, "std10", "14-01-01", "general"),
        FeeItem("CAFE", Names("コーヒー"), "cafe", 450, "red8", "21-05-01", "general"),
    ),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
)
CLERKS = {
    "c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111")),
    "sup": Clerk("sup", "係長", "supervisor", hash_pin("9999")),
}


class Clock:
    def __init__(self) -> None:
        self.t = datetime.fromisoformat("2026-11-26T09:00:00+09:00")

    def now(self) -> datetime:
        self.t += timedelta(seconds=30)
        return self.t


def make_counter(tmp_path: Path, terminal: str) -> Counter:
    key = TerminalKey.load_or_create(tmp_path / f"{terminal}.key")
    journal = Journal.open(tmp_path / f"{terminal}.db", terminal, key)
    counter = Counter(journal, CATALOGUE, CounterSettings(terminal), CLERKS, Clock(),
                      InProcessPaymentTerminal(random.Random(1)))
    assert counter.login("c1", "1111").ok
    return counter


@pytest.fixture
def counters(tmp_path: Path) -> Any:
    a, b = make_counter(tmp_path, A), make_counter(tmp_path, B)
    yield a, b
    a.journal.close()
    b.journal.close()


def sell(counter: Counter, tender: str = "cash") -> Entry:
    counter.add_item("ADM", qty=3)
    counter.add_item("CAFE")
    counter.begin_payment()
    if tender == "credit":
        counter.pay_by_terminal("credit")
        return counter.complete_sale(counter.payment())
    return counter.pay_cash(2000)


def found(sale: Entry, *refunds: Entry) -> dict[str, Any]:
    return {"terminal": sale.terminal, "seq": sale.seq, "line": sale.line(),
            "refunds": [r.line() for r in refunds]}


def test_refund_of_another_counters_sale(counters: tuple[Counter, Counter]) -> None:
    a, b = counters
    sale = sell(a, "credit")
    foreign = foreign_sale(b, found(sale))
    assert (foreign.terminal, foreign.seq, foreign.receipt_no) == (A, sale.seq, f"{A}-1")
    assert remaining(b, foreign.original, foreign.server_refunds) == {0: 3, 1: 1}
    entry = refund_foreign(b, foreign.original, foreign.server_refunds, {0: 2}, "sup")
    body = entry.body
    assert entry.kind == "refund" and entry.terminal == B
    assert (body["original_terminal"], body["original_seq"]) == (A, sale.seq)
    assert body["receipt_no"] == f"{A}-1-R" and body["approved_by"] == "sup"
    assert body["total"] == 500 and body["clerk"] == "c1"
    assert body["tenders"] == [{"kind": "cash", "amount": 500, "given": 500, "change": 0}]
    assert body["lines"][0]["original_line"] == 0 and body["lines"][0]["qty"] == 2
    assert body["taxes"] == [{"tax_class": "std10", "base": 500, "tax": 45}]
    assert b.state.refunds_by_original[(A, sale.seq)] == [entry.seq]
    assert remaining(b, foreign.original, foreign.server_refunds) == {0: 1, 1: 1}


def test_over_refund_refused_across_server_and_local_refunds(
    counters: tuple[Counter, Counter],
) -> None:
    a, b = counters
    sale = sell(a)
    at_a = a.refund(sale.seq, {0: 1}, "sup")  # refunded at the original counter
    foreign = foreign_sale(b, found(sale, at_a))
    assert already_refunded(b, foreign.original, foreign.server_refunds) == {0: 1}
    first = refund_foreign(b, foreign.original, foreign.server_refunds, {0: 1}, "sup")
    assert first.body["receipt_no"] == f"{A}-1-R2"
    with pytest.raises(DomainError, match="only 1 of 3 left"):  # server 1 + local 1
        refund_foreign(b, foreign.original, foreign.server_refunds, {0: 2}, "sup")
    # once B's refund reached the server, it is counted once, not twice
    again = foreign_sale(b, found(sale, at_a, first))
    assert remaining(b, again.original, again.server_refunds) == {0: 1, 1: 1}
    last = refund_foreign(b, again.original, again.server_refunds, {0: 1, 1: 1}, "sup")
    assert last.body["receipt_no"] == f"{A}-1-R3" and last.body["total"] == 700
    assert remaining(b, again.original, again.server_refunds) == {0: 0, 1: 0}
    with pytest.raises(DomainError, match="only 0 of 1 left"):
        refund_foreign(b, again.original, again.server_refunds, {1: 1}, "sup")


def test_voided_sale_has_nothing_left(counters: tuple[Counter, Counter]) -> None:
    a, b = counters
    sale = sell(a)
    void = a.void(sale.seq, "sup")
    foreign = foreign_sale(b, found(sale, void))
    assert remaining(b, foreign.original, foreign.server_refunds) == {0: 0, 1: 0}
    with pytest.raises(DomainError, match="only 0"):
        refund_foreign(b, foreign.original, foreign.server_refunds, {0: 1}, "sup")


def test_tampered_lines_refused(counters: tuple[Counter, Counter]) -> None:
    a, b = counters
    sale = sell(a)
    entry = sale.as_dict()
    entry["body"] = dict(entry["body"], lines=[dict(entry["body"]["lines"][0], qty=30)])
    tampered = canonical(entry).decode("utf-8")
    with pytest.raises(DomainError, match="hash mismatch"):
        parse_server_line(tampered)
    with pytest.raises(DomainError, match="hash mismatch"):
        foreign_sale(b, {"terminal": A, "seq": sale.seq, "line": tampered, "refunds": []})
    with pytest.raises(DomainError, match="hash mismatch"):  # the dict handed over directly
        refund_foreign(b, entry, [], {0: 5}, "sup")
    spaced = json.dumps(sale.as_dict(), ensure_ascii=False, sort_keys=True)
    with pytest.raises(DomainError, match="exact canonical"):
        parse_server_line(spaced)
    with pytest.raises(DomainError, match="duplicate"):
        parse_server_line(sale.line()[:-1] + ',"seq":1}')
    with pytest.raises(DomainError, match="float"):
        parse_server_line(sale.line().replace(f'"seq":{sale.seq}', f'"seq":{sale.seq}.0'))
    with pytest.raises(DomainError, match="as answered"):
        foreign_sale(b, {"terminal": A, "seq": sale.seq + 1, "line": sale.line(), "refunds": []})
    # a tampered refund on the server (lowering what was taken back) is refused too
    refund = a.refund(sale.seq, {0: 3}, "sup").as_dict()
    refund["body"] = dict(refund["body"], lines=[dict(refund["body"]["lines"][0], qty=1)])
    forged = canonical(refund).decode("utf-8")
    with pytest.raises(DomainError, match="hash mismatch"):
        foreign_sale(b, {"terminal": A, "seq": sale.seq, "line": sale.line(),
                         "refunds": [forged]})
    with pytest.raises(DomainError, match="hash mismatch"):
        refund_foreign(b, sale.as_dict(), [refund], {0: 1}, "sup")


def test_refund_of_another_sale_or_not_a_refund_refused(
    counters: tuple[Counter, Counter],
) -> None:
    a, b = counters
    sale, other = sell(a), sell(a)
    stray = a.refund(other.seq, {0: 1}, "sup")
    with pytest.raises(DomainError, match="another sale"):
        foreign_sale(b, found(sale, stray))
    with pytest.raises(DomainError, match="not a refund or void"):
        foreign_sale(b, found(sale, other))
    with pytest.raises(DomainError, match="not a sale"):
        refund_foreign(b, stray.as_dict(), [], {0: 1}, "sup")


def test_own_terminal_sale_refused(counters: tuple[Counter, Counter]) -> None:
    _, b = counters
    own = sell(b)
    with pytest.raises(DomainError, match="this counter's own"):
        foreign_sale(b, found(own))
    with pytest.raises(DomainError, match="this counter's own"):
        refund_foreign(b, own.as_dict(), [], {0: 1}, "sup")


@pytest.mark.parametrize("kind", ["credit", "transit_ic", "emoney", "qr"])
def test_device_tender_refused_cash_or_points_taken(counters: tuple[Counter, Counter],
                                                    kind: Any) -> None:
    a, b = counters
    sale = sell(a, "credit")
    with pytest.raises(DomainError, match="refund it in cash or at the original counter") as info:
        refund_foreign(b, sale.as_dict(), [], {0: 1}, "sup", kind)
    assert "現金で返金する" in str(info.value) and A in str(info.value)
    assert b.journal.last_seq == 1  # only the login: nothing journaled, no device called
    # Points go back through the points service to the card that paid with points
    # (tests/points/test_foreign_refund_points.py); a sale paid by card has none to give back.
    with pytest.raises(DomainError, match="tap the card that paid"):
        refund_foreign(b, sale.as_dict(), [], {0: 1}, "sup", "points")
    assert b.journal.last_seq == 1


def test_refund_needs_approval_and_checks_quantities(counters: tuple[Counter, Counter]) -> None:
    a, b = counters
    sale = sell(a)
    with pytest.raises(DomainError, match="approval"):
        refund_foreign(b, sale.as_dict(), [], {0: 1}, "")
    with pytest.raises(DomainError, match="no line 5"):
        refund_foreign(b, sale.as_dict(), [], {5: 1}, "sup")
    with pytest.raises(DomainError, match="nothing to refund"):
        refund_foreign(b, sale.as_dict(), [], {0: 0}, "sup")
    assert entry_hash(sale.as_dict()) == sale.hash
    assert b.journal.last_seq == 1
