"""A refund at another counter of the same facility, against the real server (SQLite):
counter A sells and pushes; counter B finds the sale through ``ServerClient.lookup_receipt``,
refunds part of it and pushes; a second refund beyond what is left is refused."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from server_harness import FACILITY, OTHER_FACILITY, enroll_terminal, running_server, sqlite_url

from drivers.inprocess import InProcessPaymentTerminal
from sync.client import ServerClient, ServerRefused
from sync.uploader import Uploader
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import DomainError
from terminal.foreign_refund import foreign_sale, refund_foreign, remaining
from terminal.journal import Journal, TerminalKey

A, B, ELSEWHERE = "hachinohe-museum-01", "hachinohe-museum-02", "aomori-library-01"
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


def counter_at(tmp_path: Path, terminal: str) -> tuple[Counter, TerminalKey, Path]:
    key = TerminalKey.load_or_create(tmp_path / f"{terminal}.key")
    path = tmp_path / f"{terminal}.db"
    counter = Counter(Journal.open(path, terminal, key), CATALOGUE, CounterSettings(terminal),
                      CLERKS, Clock(), InProcessPaymentTerminal(random.Random(1)))
    assert counter.login("c1", "1111").ok
    return counter, key, path


def test_refund_at_another_counter_through_the_server(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path)
    a, key_a, path_a = counter_at(tmp_path, A)
    b, key_b, path_b = counter_at(tmp_path, B)
    elsewhere, key_x, _ = counter_at(tmp_path, ELSEWHERE)
    try:
        with running_server(database) as base_url:
            enroll_terminal(base_url, database, FACILITY, A, key_a)
            enroll_terminal(base_url, database, FACILITY, B, key_b)
            enroll_terminal(base_url, database, OTHER_FACILITY, ELSEWHERE, key_x)
            with ServerClient(base_url, A, key_a) as client_a, \
                    ServerClient(base_url, B, key_b) as client_b, \
                    ServerClient(base_url, ELSEWHERE, key_x) as client_x:
                # A sells (3 admissions + a coffee) and pushes its journal
                a.add_item("ADM", qty=3)
                a.add_item("CAFE")
                a.begin_payment()
                sale = a.pay_cash(2000)
                receipt_no = str(sale.body["receipt_no"])
                assert Uploader(path_a, client_a).push_once().complete

                # B, same facility, finds it on the server and refunds two admissions
                answer = client_b.lookup_receipt(FACILITY, receipt_no)
                assert answer is not None and answer["line"] == sale.line()
                found = foreign_sale(b, answer)
                assert remaining(b, found.original, found.server_refunds) == {0: 3, 1: 1}
                refund = refund_foreign(b, found.original, found.server_refunds, {0: 2}, "sup")
                assert refund.terminal == B
                assert refund.body["original_terminal"] == A
                assert refund.body["original_seq"] == sale.seq
                assert refund.body["total"] == 500
                assert Uploader(path_b, client_b).push_once().complete

                # the server now lists B's refund against A's sale
                again = client_b.lookup_receipt(FACILITY, receipt_no)
                assert again is not None and again["refunds"] == [refund.line()]
                found = foreign_sale(b, again)
                assert remaining(b, found.original, found.server_refunds) == {0: 1, 1: 1}
                with pytest.raises(DomainError, match="only 1 of 3 left"):
                    refund_foreign(b, found.original, found.server_refunds, {0: 2}, "sup")
                assert b.journal.last_seq == refund.seq  # nothing journaled

                # A (the original counter) sees B's refund through the server as well
                for_a = client_a.lookup_receipt(FACILITY, receipt_no)
                assert for_a is not None and for_a["refunds"] == [refund.line()]

                # another facility's terminal may not look it up; unknown numbers are None
                with pytest.raises(ServerRefused) as refused:
                    client_x.lookup_receipt(FACILITY, receipt_no)
                assert refused.value.status == 403
                assert client_b.lookup_receipt(FACILITY, "no-such-receipt") is None
    finally:
        for counter in (a, b, elsewhere):
            counter.journal.close()
