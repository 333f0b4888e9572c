"""run_app's tour (a PNG per window, step and language) and glyphs that really render."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from uihelpers import FakeCardReader, emv_like, network_printer

from drivers.inprocess import InProcessPaymentTerminal
from drivers.printer.simulator import NetworkPrinterSimulator
from ui.app import run_app
from ui.demo import demo_context, demo_counter
from ui.i18n import CATALOGUES, LANGUAGE_NAMES
from ui.qt import QFontMetrics, QImage, QLabel
from ui.theme import font_for


def test_tour_saves_every_window_in_every_language(
    qtbot: Any, tmp_path: Path, printer_sim: NetworkPrinterSimulator,
) -> None:
    payment = InProcessPaymentTerminal(random.Random(3))
    context = demo_context(
        tmp_path, counter=demo_counter(tmp_path, payment), printer=network_printer(printer_sim),
        card_reader=FakeCardReader(), qr_payload=emv_like, auto_lock_seconds=0,
        simulators={"payment": payment, "printer": printer_sim},
    )
    out = tmp_path / "tour"
    assert run_app(context, tour_dir=out) == 0
    context.counter.journal.close()
    names = {p.name for p in out.glob("*.png")}
    for clerk in ("01-login-ja.png", "01-login-en.png", "07-cash-change-en.png",
                  "22-reprint-ja.png", "37-z-closed-ja.png"):
        assert clerk in names
    for lang in ("ja", "en", "zh", "ko"):
        assert f"08-customer-customer-rating-{lang}.png" in names
        assert f"16-customer-qr-shown-{lang}.png" in names
    assert len(names) == 38 * 6 + 1  # 38 steps x (2 clerk + 4 customer) + simulator panel
    thanks = QImage(str(out / "07-customer-cash-change-ko.png"))
    assert thanks.width() >= 1024 and ink(thanks, 4) > 500
    assert len(printer_sim.pages) >= 6


def ink(image: QImage, step: int = 1) -> int:
    """Dark pixels (every ``step``-th in each direction)."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    return sum(
        1 for y in range(0, image.height(), step) for x in range(0, image.width(), step)
        if image.pixelColor(x, y).lightness() < 128
    )


def render(text: str, lang: str) -> QImage:
    label = QLabel(text)
    label.setFont(font_for(lang, 28))
    label.setStyleSheet("background: white; color: black;")
    label.resize(label.sizeHint())
    return label.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def test_cjk_glyphs_render_and_are_not_tofu(qtbot: Any) -> None:
    missing = "\U000f0000\U000f0001\U000f0002"  # private use: no font has these glyphs
    other_missing = "\U000f0010\U000f0011\U000f0012"
    tofu = render(missing, "ja")
    assert render(other_missing, "ja") == tofu  # missing glyphs all draw the same box
    samples = {"ja": ("日本語", "窓口"), "zh": ("中文", "谢谢"), "ko": ("한국어", "감사")}
    for lang, (first, second) in samples.items():
        image = render(first, lang)
        assert ink(image) > 60, lang
        assert image != tofu and image != render(second, lang), lang
        metrics = QFontMetrics(font_for(lang, 28))
        assert not metrics.inFontUcs4(ord("\U000f0000"))


def test_every_customer_string_is_in_its_font(qtbot: Any) -> None:
    for lang, table in CATALOGUES["customer"].items():
        metrics = QFontMetrics(font_for(lang))
        text = "".join(table.values()) + LANGUAGE_NAMES[lang]
        absent = {c for c in text if not c.isspace() and not metrics.inFontUcs4(ord(c))}
        assert absent == set(), (lang, absent)
