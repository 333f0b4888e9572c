"""Every key in every language; no mixed-language screen; layouts at 1024x768 and 1920x1080;
the clerk window on screen 1 and the customer display on screen 2."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from uihelpers import login, ring_up, wait_idle

from ui.app import App
from ui.context import CLERK_LANGUAGES, CUSTOMER_LANGUAGES
from ui.i18n import CATALOGUES
from ui.qt import QAbstractButton, QGuiApplication, QLabel, QScrollArea, QWidget
from ui.theme import MIN_TOUCH_PX

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af]")


def test_every_key_exists_in_every_language() -> None:
    for scope, languages in (("clerk", CLERK_LANGUAGES), ("customer", CUSTOMER_LANGUAGES)):
        tables = CATALOGUES[scope]
        assert tuple(tables) == languages
        keys = set().union(*(set(t) for t in tables.values()))
        for lang in languages:
            assert keys - set(tables[lang]) == set(), f"{scope}/{lang} lacks keys"
            assert all(tables[lang][k].strip() for k in keys)


def visible_texts(root: QWidget) -> list[str]:
    texts = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) or widget.property("i18n_exempt"):
            continue
        if isinstance(widget, QLabel | QAbstractButton) and widget.text():
            texts.append(widget.text())
    return texts


def test_no_mixed_language_screen(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    app.session.set_language("en")
    for name in ("sale", "cash", "refund", "reports"):
        app.clerk.go(name)
        wait_idle(qtbot, app)
        texts = visible_texts(app.clerk)
        assert texts and not [t for t in texts if CJK.search(t)], name
    ring_up(qtbot, app, "ADM")
    assert not [t for t in visible_texts(app.clerk) if CJK.search(t)]
    for lang, foreign in (("en", CJK), ("zh", re.compile(f"{KANA.pattern}|{HANGUL.pattern}")),
                          ("ko", KANA)):
        app.customer.set_language(lang)
        texts = visible_texts(app.customer)
        assert texts and not [t for t in texts if foreign.search(t)], lang
    app.session.set_language("ja")
    assert any(CJK.search(t) for t in visible_texts(app.clerk))


def test_layouts_fit_1024x768_and_1920x1080(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    for width, height in ((1024, 768), (1920, 1080)):
        app.clerk.resize(width, height)
        for name in ("login", "sale", "payment", "done", "cash", "reports", "refund"):
            page: QScrollArea = app.clerk.pages[name]
            screen = app.clerk.screens[name]
            viewport = app.clerk.stack.size()
            hint = screen.minimumSizeHint()
            assert hint.width() <= viewport.width(), (name, width)
            assert hint.height() <= viewport.height(), (name, width, hint, viewport)
            assert page.widgetResizable()
    app.clerk.resize(1024, 768)
    app.clerk.go("sale")
    qtbot.waitUntil(lambda: app.clerk.screens["sale"].isVisible())
    buttons = [b for b in app.clerk.findChildren(QAbstractButton) if b.isVisible()]
    assert buttons and min(b.height() for b in buttons) >= 48 >= MIN_TOUCH_PX - 8
    amount = app.clerk.screens["sale"].total  # type: ignore[attr-defined]
    assert amount.font().pointSizeF() >= 18 or amount.fontInfo().pointSizeF() >= 18


def test_two_screens_clerk_on_first_customer_on_second(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    screens = QGuiApplication.screens()
    assert [s.name() for s in screens][:2] == ["0-clerk", "1-customer"]
    app = make_app()
    qtbot.waitUntil(lambda: app.customer.isVisible() and app.clerk.isVisible())
    assert app.clerk.screen().name() == "0-clerk"
    assert app.customer.screen().name() == "1-customer"
    assert app.customer.geometry().size() == screens[1].availableGeometry().size()


def test_one_screen_customer_display_is_a_window(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    app = make_app(screens=1)
    qtbot.waitUntil(lambda: app.customer.isVisible())
    assert app.customer.screen().name() == "0-clerk"
    assert app.customer.isWindow()
