"""The customer display: amount due, prompts, the QR to scan, thanks and a one-tap rating,
in the visitor's language (ja, en, zh, ko); はちのへポイント: after a tap the balance and what
this visit earns, a balance check, and after the sale the points awarded."""

from __future__ import annotations

from functools import partial

from terminal.money import format_yen
from ui.i18n import LANGUAGE_NAMES, tr
from ui.points_text import customer_award, customer_check, customer_status
from ui.qt import QHBoxLayout, QLabel, QPixmap, Qt, QVBoxLayout, QWidget
from ui.session import CustomerView, Session
from ui.theme import font_for
from ui.widgets.buttons import BigButton

PAGES: tuple[str, ...] = ("welcome", "amount", "qr", "thanks")
POINTS_DURING_SALE: tuple[str, ...] = ("cart", "due", "prompt", "points", "qr")


def _label(role: str = "title") -> QLabel:
    label = QLabel()
    label.setProperty("role", role)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


class CustomerWindow(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.languages = session.context.languages
        self.lang = self.languages[0]
        self.view = CustomerView()
        self.rated = False
        self.training = _label("banner-training")
        self.heading = _label()
        self.amount = _label("big-amount")
        self.detail = _label()
        self.points_line = _label("points-line")  # はちのへポイント: balance, earned, awarded
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.rating_caption = _label()
        self.rating_buttons: dict[int, BigButton] = {}
        self.language_buttons: dict[str, BigButton] = {}
        self._build()
        session.customer_changed.connect(self.show_view)
        session.hachica.changed.connect(self.refresh_view)
        self.setWindowTitle("madoguchi")
        self.resize(1024, 768)
        self.refresh_view()

    def _build(self) -> None:
        languages = QHBoxLayout()
        for lang in self.languages:
            button = BigButton(LANGUAGE_NAMES[lang], checkable=True,
                               on_click=partial(self.set_language, lang))
            button.setProperty("i18n_exempt", True)  # each language named in itself
            button.setFont(font_for(lang))
            self.language_buttons[lang] = button
            languages.addWidget(button)
        ratings = QHBoxLayout()
        for score in range(1, 6):
            button = BigButton(str(score), on_click=partial(self.rate, score))
            button.setMinimumHeight(80)
            self.rating_buttons[score] = button
            ratings.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.training)
        layout.addStretch(1)
        for widget in (self.heading, self.amount, self.detail, self.points_line, self.qr):
            layout.addWidget(widget)
        layout.addWidget(self.rating_caption)
        layout.addLayout(ratings)
        layout.addStretch(1)
        layout.addLayout(languages)

    def t(self, key: str, **values: object) -> str:
        return tr("customer", self.lang, key, **values)

    def set_language(self, lang: str) -> None:
        if lang in self.languages:
            self.lang = lang
            self.refresh_view()

    def show_view(self, view: object) -> None:
        assert isinstance(view, CustomerView)
        if view.mode in ("welcome", "cart") and self.view.mode == "thanks":
            self.lang = self.languages[0]  # the next visitor starts in the first language
        if view.mode == "thanks" and view.sale_seq != self.view.sale_seq:
            self.rated = False
        self.view = view
        self.refresh_view()

    def refresh_view(self) -> None:
        view, t = self.view, self.t
        self.setFont(font_for(self.lang))
        for lang, button in self.language_buttons.items():
            button.setChecked(lang == self.lang)
        self.training.setText(t("training"))
        self.training.setVisible(view.training or self.session.counter.state.training)
        heading, amount, detail = t("welcome"), "", ""
        if view.mode == "cart":
            heading, amount = t("total"), format_yen(view.total)
        elif view.mode == "due":
            heading, amount = t("due"), format_yen(view.remaining)
            detail = t("choose_payment")
        elif view.mode == "prompt" and view.prompt == "tap_refund":  # nothing is due
            heading, amount, detail = t("points_back"), "", t(f"prompt.{view.prompt}")
        elif view.mode == "prompt":
            heading, amount = t("due"), format_yen(view.remaining)
            detail = t(f"prompt.{view.prompt}")
        elif view.mode == "points":
            heading = t("balance")
            amount = t("points", points=f"{view.points_balance:,}")
            detail = t("points_due", amount=format_yen(view.remaining))
        elif view.mode == "qr":
            heading, amount, detail = t("qr"), format_yen(view.remaining), t("qr_hint")
        elif view.mode == "points_check":
            desk = self.session.hachica
            heading, amount, detail = customer_check(desk.status, desk.checking, self.lang)
        elif view.mode == "thanks":
            heading = t("thanks")
            amount = format_yen(view.change) if view.change else ""
            detail = t("change") if view.change else ""
        self.heading.setText(heading)
        self.amount.setText(amount)
        self.amount.setVisible(bool(amount))
        self.detail.setText(detail)
        self._render_points()
        self._render_qr()
        self._render_rating()

    def _render_points(self) -> None:
        """The tapped card's balance and this visit's points during a sale; the points
        awarded on the thanks page (never the card's IDm)."""
        desk, view, text = self.session.hachica, self.view, ""
        status, award = desk.status, desk.award
        if view.mode in POINTS_DURING_SALE and status is not None and status.purchase:
            text = customer_status(status, self.lang)
        elif view.mode == "thanks" and award is not None and award.sale_seq == view.sale_seq:
            text = customer_award(award, self.lang)
        self.points_line.setText(text)
        self.points_line.setVisible(bool(text))

    def _render_qr(self) -> None:
        png = self.view.qr_png if self.view.mode == "qr" else None
        pixmap = QPixmap()
        if png and pixmap.loadFromData(png):
            self.qr.setPixmap(pixmap.scaledToHeight(320))
            self.qr.setVisible(True)
        else:
            self.qr.clear()
            self.qr.setVisible(False)

    def _render_rating(self) -> None:
        ask = self.view.mode == "thanks" and self.view.sale_seq is not None
        self.rating_caption.setVisible(ask)
        self.rating_caption.setText(self.t("rated") if self.rated else self.t("rate"))
        for button in self.rating_buttons.values():
            button.setVisible(ask and not self.rated)

    def rate(self, score: int) -> None:
        seq = self.view.sale_seq
        if seq is None or self.rated:
            return
        self.rated = True
        counter = self.session.counter
        self.session.run(lambda: counter.rate(seq, score), name="rate")
        self._render_rating()
