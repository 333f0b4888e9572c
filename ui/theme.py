"""Colours, fonts and sizes: high contrast, touch targets >= 48 px, amounts >= 18 pt.

No signal is colour-only: every coloured state also carries a text label (正常, エラー...).
"""

from __future__ import annotations

from typing import Final

from ui.qt import QApplication, QFont, QFontDatabase

MIN_TOUCH_PX: Final = 56  # outer button size; the issue asks for at least 48
_BOX: Final = 12  # padding 4+4 and border 2+2: CSS min-height is the content box
AMOUNT_PT: Final = 28
BIG_AMOUNT_PT: Final = 40
BASE_PT: Final = 14

INK: Final = "#000000"
PAPER: Final = "#FFFFFF"
PRIMARY: Final = "#003A8C"
DANGER: Final = "#A4001D"
OK: Final = "#00612A"
WARN: Final = "#7A4A00"
TRAINING: Final = "#5B2A86"
MUTED: Final = "#404040"

FONT_BY_LANGUAGE: Final[dict[str, str]] = {
    "ja": "Noto Sans CJK JP",
    "en": "Noto Sans CJK JP",
    "zh": "Noto Sans CJK SC",
    "ko": "Noto Sans CJK KR",
}

STATE_COLOURS: Final[dict[str, str]] = {"ok": OK, "warn": WARN, "error": DANGER, "off": MUTED,
                                        "info": PRIMARY}

STYLESHEET: Final = f"""
QWidget {{ background: {PAPER}; color: {INK}; font-size: {BASE_PT}pt; }}
QPushButton {{
    min-height: {MIN_TOUCH_PX - _BOX}px; min-width: {MIN_TOUCH_PX - _BOX}px; padding: 4px 10px;
    border: 2px solid {INK}; border-radius: 6px; background: #F2F2F2; color: {INK};
}}
QPushButton[dense="true"] {{ min-height: 40px; min-width: 40px; padding: 2px 6px; }}
QPushButton:checked {{ background: {PRIMARY}; color: {PAPER}; border-color: {PRIMARY}; }}
QPushButton:disabled {{ background: #D9D9D9; color: #4D4D4D; border: 2px dashed #4D4D4D; }}
QPushButton[tone="primary"] {{ background: {PRIMARY}; color: {PAPER}; }}
QPushButton[tone="danger"] {{ background: {DANGER}; color: {PAPER}; }}
QPushButton[tone="ok"] {{ background: {OK}; color: {PAPER}; }}
QLabel[role="amount"] {{ font-size: {AMOUNT_PT}pt; font-weight: bold; }}
QLabel[role="big-amount"] {{ font-size: {BIG_AMOUNT_PT}pt; font-weight: bold; }}
QLabel[role="title"] {{ font-size: 20pt; font-weight: bold; }}
QLabel[role="points-line"] {{
    font-size: 26pt; font-weight: bold; color: {OK}; border: 3px solid {OK}; padding: 8px;
}}
QLabel[role="banner-training"] {{
    background: {TRAINING}; color: {PAPER}; font-size: 18pt; font-weight: bold; padding: 4px;
}}
QLabel[role="banner-offline"] {{
    background: {WARN}; color: {PAPER}; font-size: 15pt; font-weight: bold; padding: 4px;
}}
QLabel[level="error"] {{ background: {DANGER}; color: {PAPER}; padding: 6px; font-size: 15pt; }}
QLabel[level="info"] {{ background: {PRIMARY}; color: {PAPER}; padding: 6px; font-size: 15pt; }}
QLabel[level="ok"] {{ background: {OK}; color: {PAPER}; padding: 6px; font-size: 15pt; }}
QLineEdit {{ min-height: 44px; font-size: 18pt; border: 2px solid {INK}; }}
QPlainTextEdit {{ font-family: "Noto Sans Mono CJK JP"; font-size: 13pt; }}
"""


def font_for(lang: str, point_size: int = BASE_PT) -> QFont:
    family = FONT_BY_LANGUAGE.get(lang, FONT_BY_LANGUAGE["ja"])
    font = QFont(family, point_size)
    if family not in QFontDatabase.families():
        font = QFont()
        font.setPointSize(point_size)
    return font


def apply(app: QApplication) -> None:
    app.setFont(font_for("ja"))
    app.setStyleSheet(STYLESHEET)


def restyle(widget: object) -> None:
    """Re-apply the style after a dynamic property (tone, level, role) changed."""
    style = getattr(widget, "style", None)
    if style is None:
        return
    style().unpolish(widget)
    style().polish(widget)
