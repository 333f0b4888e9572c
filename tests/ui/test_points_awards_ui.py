"""はちのへポイント awards through the widgets: a Hachica tapped during a sale shows its balance
and what the visit earns on both screens, offline as pending; a balance check without a
purchase; after payment the award on the done screen, the thanks page and in the journal; the
visitor's languages. No screen and no journal entry ever holds the raw IDm."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uihelpers import TIMEOUT_MS, FakeCardReader, approve, login, wait_idle

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.counter import Counter, CounterSettings
from terminal.journal import Journal, TerminalKey
from terminal.points import PointsRules, card_token
from terminal.ports import TenderKind
from ui.app import App
from ui.demo import DEMO_CLERKS, TERMINAL, WallClock, demo_catalogue
from ui.qt import QFontMetrics, QImage
from ui.theme import font_for
from ui.widgets.points import PointsStatus

KEY = b"test points key, 32 bytes long!!"
IDM = bytes.fromhex("0102030405060708")  # FakeCardReader.tap's default card
CARD = card_token(KEY, IDM)
RAW_FORMS = (IDM.hex(), IDM.hex().upper(), IDM.hex(" "), IDM.hex(" ").upper(), str(IDM))
TENDERS: tuple[TenderKind, ...] = ("cash", "transit_ic", "emoney", "credit", "qr", "points")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af]")


def points_app(make_app: Callable[..., App], tmp_path: Path, balance: int = 1000,
               rules: PointsRules | None = None, **sim_options: Any,
               ) -> tuple[App, FakeCardReader, PointsSimulator]:
    """A counter with the points tender and the award quota the simulated service granted
    (the sync asks for quota, not the UI)."""
    sim = PointsSimulator({CARD: balance}, **sim_options)
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    settings = CounterSettings(TERMINAL, tenders=TENDERS, facility="museum")
    counter = Counter(journal, demo_catalogue(), settings, DEMO_CLERKS, WallClock(),
                      InProcessPaymentTerminal(random.Random(1)), points=sim,
                      points_rules=rules or PointsRules())
    counter.refresh_points_quota()
    reader = FakeCardReader()
    app = make_app(counter=counter, card_reader=reader, points=sim, points_key=KEY)
    return app, reader, sim


def add_to_cart(app: App, *codes: str) -> None:
    app.clerk.go("sale")
    sale = app.clerk.screens["sale"]
    catalogue = app.context.counter.catalogue
    for code in codes:
        sale.set_category(catalogue.item(code).category)  # type: ignore[attr-defined]
        sale.item_buttons[code].click()  # type: ignore[attr-defined]


def status_widget(app: App, screen: str) -> PointsStatus:
    widget = getattr(app.clerk.screens[screen], "points" if screen == "sale" else "points_status")
    assert isinstance(widget, PointsStatus)
    return widget


def tap(qtbot: Any, app: App, reader: FakeCardReader) -> None:
    desk = app.session.hachica
    desk.status = None
    reader.tap(IDM)
    qtbot.waitUntil(lambda: desk.status is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)


def pay_exact_cash(qtbot: Any, app: App) -> None:
    app.clerk.screens["sale"].pay_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "payment"
    app.clerk.screens["payment"].quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done"


def award_texts(qtbot: Any, app: App) -> tuple[str, str]:
    """The done screen's award line and the thanks page's points line, once known."""
    done = app.clerk.screens["done"].points_award  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: done.isVisibleTo(app.clerk), timeout=TIMEOUT_MS)
    assert app.session.customer.mode == "thanks" and app.customer.points_line.isVisible()
    return done.text(), app.customer.points_line.text()


def journal_awards(app: App) -> list[dict[str, Any]]:
    return [e.body for e in app.context.counter.journal.entries() if e.kind == "points.award"]


def assert_no_raw_idm(app: App) -> None:
    texts = [w.text() for w in (*app.clerk.findChildren(type(app.customer.points_line)),
                                *app.customer.findChildren(type(app.customer.points_line)))]
    journal = "\n".join(str(e.as_dict()) for e in app.context.counter.journal.entries())
    for form in RAW_FORMS:
        assert form not in journal
        assert not [t for t in texts if form in t]


def test_tap_during_sale_shows_balance_and_earn_then_award(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, _sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    add_to_cart(app, "ADM")
    tap(qtbot, app, reader)
    clerk = status_widget(app, "sale").label
    assert clerk.isVisible()
    for word in ("はちのへポイント", "0102…", "残高 1,000 ポイント",
                 "このお会計で 200 ポイント付与"):
        assert word in clerk.text()
    for name in ("sale", "payment"):  # the points line still fits a 1024x768 clerk screen
        hint, viewport = app.clerk.screens[name].minimumSizeHint(), app.clerk.stack.size()
        assert hint.width() <= viewport.width() and hint.height() <= viewport.height(), name
    line = app.customer.points_line
    assert line.isVisible() and app.session.customer.mode == "cart"
    assert "ポイント残高 1,000 ポイント" in line.text()
    assert "今回のご利用で 200 ポイントたまります" in line.text()
    assert line.font().pointSizeF() >= 24 or line.fontInfo().pointSizeF() >= 24
    pay_exact_cash(qtbot, app)
    done, thanks = award_texts(qtbot, app)
    assert "200 ポイントを付与しました" in done and "0102…" in done
    assert thanks == "200ポイント付与しました"
    sale = next(e for e in app.context.counter.journal.entries() if e.kind == "sale")
    [award] = journal_awards(app)
    assert award["card"] == CARD and award["points"] == 200 and award["online"] is True
    assert award["sale_seq"] == sale.seq
    assert app.session.hachica.status is None  # the next visitor starts with no card
    assert_no_raw_idm(app)


def test_offline_tap_shows_pending_and_the_award_is_recorded_offline(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    add_to_cart(app, "ADM", "TEA")
    sim.offline = True
    tap(qtbot, app, reader)
    clerk = status_widget(app, "sale").label.text()
    assert "付与はオフラインで記録; 残高は後日反映" in clerk and "1,000" not in clerk
    line = app.customer.points_line.text()
    assert "ポイントは通信回復後に反映されます" in line and "200" in line and "残高" not in line
    app.clerk.screens["sale"].pay_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    payment_line = status_widget(app, "payment").label
    assert payment_line.isVisible() and "付与はオフラインで記録" in payment_line.text()
    assert app.session.customer.mode == "due" and app.customer.points_line.isVisible()
    app.clerk.screens["payment"].quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    done, thanks = award_texts(qtbot, app)
    assert "オフライン" in done and "200" in done
    assert thanks == "200ポイントは通信回復後に反映されます"
    [award] = journal_awards(app)
    assert award["online"] is False and award["points"] == 200
    assert_no_raw_idm(app)


def test_training_tap_says_no_real_points_move(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    app.clerk.go("sale")
    app.clerk.training_button.click()
    approve(qtbot, app)
    assert app.context.counter.state.training
    add_to_cart(app, "ADM")
    calls = len(sim.calls)
    tap(qtbot, app, reader)
    assert len(sim.calls) == calls  # training never reaches the points service
    clerk = status_widget(app, "sale").label.text()
    assert "練習: 200 ポイント付与" in clerk and "オフライン" not in clerk
    line = app.customer.points_line.text()
    assert "200 ポイントたまります" in line and "通信回復" not in line
    pay_exact_cash(qtbot, app)
    done, thanks = award_texts(qtbot, app)
    assert done.startswith("練習: 200 ポイント付与") and thanks == "200ポイント付与しました"
    kinds = [e.kind for e in app.context.counter.journal.entries()]
    assert "training.points.award" in kinds and "points.award" not in kinds


def test_why_no_points_not_eligible_cap_and_quota(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    cases: tuple[tuple[dict[str, Any], str, str], ...] = (
        ({"rules": PointsRules(eligible_items=("ADM",))}, "対象の料金がないため付与なし",
         "今回のご利用はポイントの対象外です"),
        ({"per_person_cap": 0}, "上限に達したため付与なし", "ポイントの上限に達しています"),
        ({"quota_chunk": 0}, "付与枠を使い切ったため付与なし", "ポイントの付与は終了しました"),
    )
    for index, (options, clerk_words, customer_words) in enumerate(cases):
        directory = tmp_path / str(index)
        directory.mkdir()
        app, reader, _sim = points_app(make_app, directory, **options)
        login(qtbot, app)
        add_to_cart(app, "CAT")
        tap(qtbot, app, reader)
        assert clerk_words in status_widget(app, "sale").label.text(), options
        assert customer_words in app.customer.points_line.text(), options
        pay_exact_cash(qtbot, app)
        wait_idle(qtbot, app)
        assert journal_awards(app) == [], options
        assert not app.clerk.screens["done"].points_award.isVisibleTo(app.clerk)  # type: ignore[attr-defined]
        app.close()


def test_balance_check_without_a_purchase(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, _sim = points_app(make_app, tmp_path, balance=1200)
    login(qtbot, app)
    app.clerk.go("sale")
    widget, desk = status_widget(app, "sale"), app.session.hachica
    assert widget.check_button.isVisible() and widget.check_button.isEnabled()
    before = len(list(app.context.counter.journal.entries()))
    widget.check_button.click()
    assert desk.checking and widget.cancel_button.isVisible()
    assert app.session.customer.mode == "points_check"
    assert app.customer.detail.text() == "カードをタッチしてください"
    assert "ポイント残高照会" in app.clerk.message.text()
    tap(qtbot, app, reader)
    assert not desk.checking and desk.status is not None and not desk.status.purchase
    assert "残高 1,200 ポイント" in widget.label.text() and "0102…" in widget.label.text()
    assert app.customer.heading.text() == "はちのへポイント残高"
    assert app.customer.amount.text() == "1,200 ポイント"
    assert "3,000" in app.customer.detail.text()  # what the card may still earn
    assert not app.customer.points_line.isVisible()
    assert len(list(app.context.counter.journal.entries())) == before  # nothing journaled
    widget.cancel_button.click()  # the clerk closes the result
    assert desk.status is None and app.session.customer.mode == "welcome"
    assert not widget.label.isVisible()
    widget.check_button.click()  # the visitor never taps: the check gives up by itself
    desk.timer.start(50)
    qtbot.waitUntil(lambda: not desk.checking, timeout=TIMEOUT_MS)
    assert app.session.customer.mode == "welcome"
    assert "タッチされなかった" in app.clerk.message.text()
    add_to_cart(app, "ADM")  # the check is for an empty cart only
    assert not widget.check_button.isEnabled()
    assert_no_raw_idm(app)


def test_a_tap_outside_a_sale_is_a_balance_check_and_an_emptied_cart_forgets_the_card(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    app.clerk.go("sale")
    tap(qtbot, app, reader)
    status = app.session.hachica.status
    assert status is not None and not status.purchase and status.balance == 1000
    assert ("card_points", CARD) in sim.calls
    assert app.session.customer.mode == "points_check"
    add_to_cart(app, "ADM")
    tap(qtbot, app, reader)
    assert app.session.hachica.status is not None and app.session.hachica.status.purchase
    app.clerk.screens["sale"].clear_button.click()  # type: ignore[attr-defined]
    assert app.session.hachica.status is None
    add_to_cart(app, "ADM")  # a new cart without a tap earns nothing
    pay_exact_cash(qtbot, app)
    wait_idle(qtbot, app)
    assert journal_awards(app) == []


def test_customer_languages_render_points(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, _sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    add_to_cart(app, "ADM")
    tap(qtbot, app, reader)
    line, customer = app.customer.points_line, app.customer
    expected = {"en": ("Points balance 1,000 points", "This visit earns 200 points"),
                "zh": ("积分余额 1,000 积分", "本次消费可获得 200 积分"),
                "ko": ("포인트 잔액 1,000 포인트", "이번 이용으로 200 포인트가 적립됩니다")}
    for lang, words in expected.items():
        customer.set_language(lang)
        assert all(w in line.text() for w in words), lang
        assert not KANA.search(line.text()), lang
        assert lang == "ko" or not HANGUL.search(line.text()), lang
        metrics = QFontMetrics(font_for(lang))
        assert all(metrics.inFontUcs4(ord(c)) for c in line.text() if not c.isspace()), lang
        image = line.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        assert image.width() > 200 and image.height() > 40
    app.session.set_language("en")
    clerk = status_widget(app, "sale").label.text()
    assert "Hachinohe points" in clerk and "balance 1,000 points" in clerk
    assert "this sale earns 200 points" in clerk
    customer.set_language("ko")
    pay_exact_cash(qtbot, app)
    done, _thanks = award_texts(qtbot, app)
    assert done.startswith("Awarded 200 Hachinohe points")
    for lang, text in (("ja", "200ポイント付与しました"), ("en", "200 points added"),
                       ("zh", "已获得 200 积分"), ("ko", "200 포인트가 적립되었습니다")):
        customer.set_language(lang)
        assert line.text() == text, lang
