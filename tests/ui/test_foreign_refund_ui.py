"""The refund screen's receipt-number search: this counter's journal first, then the server
(a fake ``lookup_receipt``, called off the GUI thread) for another counter's sale, refunded in
cash with a supervisor PIN; offline and unknown numbers say so."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from uihelpers import approve, login, wait_idle

from terminal.counter import Counter, CounterSettings
from terminal.errors import MadoguchiError
from terminal.journal import Entry, Journal, TerminalKey, canonical
from ui.app import App
from ui.demo import DEMO_CLERKS, WallClock, demo_catalogue
from ui.screens.refund import RefundScreen

OTHER = "demo-museum-02"


class FakeLookup:
    """``lookup_receipt`` over a dict of receipt number -> server answer; records threads."""

    def __init__(self, answers: Mapping[str, Mapping[str, Any]],
                 error: Exception | None = None) -> None:
        self.answers = dict(answers)
        self.error = error
        self.calls: list[str] = []
        self.threads: set[str] = set()

    def __call__(self, receipt_no: str) -> Mapping[str, Any] | None:
        self.calls.append(receipt_no)
        self.threads.add(threading.current_thread().name)
        if self.error is not None:
            raise self.error
        return self.answers.get(receipt_no)


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Counter]:
    """Another counter of the museum, with a clerk logged in."""
    folder = tmp_path / "other"
    folder.mkdir()
    journal = Journal.open(folder / "journal.db", OTHER,
                           TerminalKey.load_or_create(folder / "terminal.key"))
    counter = Counter(journal, demo_catalogue(), CounterSettings(OTHER), DEMO_CLERKS,
                      WallClock())
    assert counter.login("c1", "1111").ok
    yield counter
    journal.close()


@pytest.fixture
def other_sale(other: Counter) -> Entry:
    """A cash sale at the other counter: 2 x ADM (250) + SPECIAL (800)."""
    other.add_item("ADM", qty=2)
    other.add_item("SPECIAL")
    other.begin_payment()
    return other.pay_cash(2000)


def answer(sale: Entry, *refunds: str) -> dict[str, Any]:
    return {"terminal": sale.terminal, "seq": sale.seq, "line": sale.line(),
            "refunds": list(refunds)}


def refund_screen(qtbot: Any, app: App) -> RefundScreen:
    login(qtbot, app)
    app.clerk.nav_buttons["refund"].click()
    wait_idle(qtbot, app)
    screen = app.clerk.screens["refund"]
    assert isinstance(screen, RefundScreen)
    return screen


def search(qtbot: Any, app: App, screen: RefundScreen, receipt_no: str) -> None:
    screen.receipt_input.setText(receipt_no)
    screen.receipt_button.click()
    wait_idle(qtbot, app)


def test_refund_of_another_counters_sale_found_on_the_server(
    qtbot: Any, make_app: Callable[..., App], other_sale: Entry,
) -> None:
    receipt_no = str(other_sale.body["receipt_no"])
    lookup = FakeLookup({receipt_no: answer(other_sale)})
    app = make_app(lookup_receipt=lookup)
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, receipt_no)
    assert lookup.calls == [receipt_no]
    assert threading.main_thread().name not in lookup.threads  # looked up in a worker
    assert screen.foreign is not None and screen.foreign.terminal == OTHER
    assert screen.left == {0: 2, 1: 1}
    assert OTHER in screen.summary.text() and receipt_no in screen.summary.text()
    assert "他の窓口" in app.clerk.message.text()
    assert not screen.void_button.isEnabled() and not screen.original_button.isEnabled()
    screen.qty_buttons[0][1].click()  # one admission
    screen.qty_buttons[1][1].click()  # the special exhibition
    screen.refund_button.click()
    assert app.clerk.current() == "approval"
    approve(qtbot, app)
    assert app.clerk.current() == "done"
    entry = app.context.counter.journal.head()
    assert entry is not None and entry.kind == "refund"
    body = entry.body
    assert (body["original_terminal"], body["original_seq"]) == (OTHER, other_sale.seq)
    assert body["total"] == 1050 and body["approved_by"] == "sup1"
    assert body["receipt_no"] == f"{receipt_no}-R"
    assert body["tenders"] == [{"kind": "cash", "amount": 1050, "given": 1050, "change": 0}]

    # called up again: this counter's own refund counts, even before the server has it
    app.clerk.go("refund")
    search(qtbot, app, screen, receipt_no)
    assert screen.left == {0: 1, 1: 0}
    screen.qty_buttons[0][1].click()
    screen.qty_buttons[0][1].click()  # capped at what is left
    assert screen.chosen[0] == 1


def test_server_refunds_lower_what_is_left_and_tampered_lines_are_refused(
    qtbot: Any, make_app: Callable[..., App], other: Counter, other_sale: Entry,
) -> None:
    receipt_no = str(other_sale.body["receipt_no"])
    at_origin = other.refund(other_sale.seq, {0: 1}, "sup1")  # refunded there already
    lookup = FakeLookup({receipt_no: answer(other_sale, at_origin.line())})
    app = make_app(lookup_receipt=lookup)
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, receipt_no)
    assert screen.foreign is not None and screen.left == {0: 1, 1: 1}

    forged = at_origin.as_dict()
    forged["body"] = dict(forged["body"], lines=[dict(forged["body"]["lines"][0], qty=0)])
    lookup.answers[receipt_no] = answer(other_sale, canonical(forged).decode("utf-8"))
    app.clerk.go("refund")
    search(qtbot, app, screen, receipt_no)
    assert screen.original is None and screen.foreign is None
    assert "サーバーの取引データが不正です" in app.clerk.message.text()


def test_offline_or_unknown_receipt_says_so(
    qtbot: Any, make_app: Callable[..., App], other_sale: Entry,
) -> None:
    lookup = FakeLookup({}, error=ConnectionError("no route to host"))
    app = make_app(lookup_receipt=lookup)
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, str(other_sale.body["receipt_no"]))
    assert screen.original is None
    assert "サーバーに接続できないため他の窓口の取引は検索できません" in app.clerk.message.text()
    app.session.set_language("en")
    assert "server cannot be reached" in app.clerk.message.text()
    app.session.set_language("ja")
    lookup.error = MadoguchiError("サーバーが応答できません (server busy)")
    search(qtbot, app, screen, "X-9")
    assert "サーバーに接続できないため" in app.clerk.message.text()
    lookup.error = None
    search(qtbot, app, screen, "X-9")
    assert "レシート番号 X-9 の取引は見つかりません" in app.clerk.message.text()
    assert screen.original is None


def test_no_server_configured_is_offline(
    qtbot: Any, make_app: Callable[..., App], other_sale: Entry,
) -> None:
    app = make_app()  # lookup_receipt None: a counter without a server
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, str(other_sale.body["receipt_no"]))
    assert "サーバーに接続できないため" in app.clerk.message.text()


def test_own_receipt_number_is_found_locally_without_the_server(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    lookup = FakeLookup({})
    app = make_app(lookup_receipt=lookup)
    counter = app.context.counter
    login(qtbot, app)
    counter.add_item("TEA", qty=2)
    counter.begin_payment()
    sale = counter.pay_cash(300)
    app.clerk.go("refund")
    wait_idle(qtbot, app)
    screen = app.clerk.screens["refund"]
    assert isinstance(screen, RefundScreen)
    search(qtbot, app, screen, str(sale.body["receipt_no"]))
    assert lookup.calls == []
    assert screen.original is not None and screen.original.seq == sale.seq
    assert screen.foreign is None and screen.left == {0: 2}
    assert screen.void_button.isEnabled()
