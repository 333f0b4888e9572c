"""Ringing up: fee catalogue by category as big buttons, visitor types, the cart, the total."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from terminal.catalogue import DEFAULT_VISITOR_TYPE, Catalogue, FeeItem
from terminal.errors import DomainError
from terminal.money import format_yen
from terminal.sale import SaleLine
from ui.i18n import tr
from ui.qt import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    Qt,
    QVBoxLayout,
    QWidget,
)
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import AmountLabel, BigButton, title_label
from ui.widgets.points import PointsStatus

COLUMNS = 3


def categories_of(catalogue: Catalogue) -> list[str]:
    declared = [c.id for c in catalogue.categories]
    used = list(dict.fromkeys(item.category for item in catalogue.items))
    return [c for c in declared if c in used] + [c for c in used if c not in declared]


def visitor_types_of(catalogue: Catalogue) -> list[str]:
    offered = {vt for item in catalogue.items for vt in item.visitor_types()}
    declared = [vt.id for vt in catalogue.visitor_types]
    ordered = dict.fromkeys([*declared, *sorted(offered)])
    others = [v for v in ordered if v in offered and v != DEFAULT_VISITOR_TYPE]
    return [DEFAULT_VISITOR_TYPE, *others[:6]]


class SaleScreen(Screen):
    name = "sale"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.catalogue = session.counter.catalogue
        self.category = ""
        self.visitor_type = DEFAULT_VISITOR_TYPE
        self.category_buttons: dict[str, BigButton] = {}
        self.visitor_buttons: dict[str, BigButton] = {}
        self.item_buttons: dict[str, BigButton] = {}
        self.cart_rows: list[dict[str, BigButton]] = []
        self.title = title_label()
        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addLayout(self._choice_row(categories_of(self.catalogue), self.category_buttons,
                                        self.set_category))
        left.addLayout(self._choice_row(visitor_types_of(self.catalogue), self.visitor_buttons,
                                        self.set_visitor_type))
        self.items_host = QWidget()
        self.items_grid = QGridLayout(self.items_host)
        self.items_grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.items_host)
        left.addWidget(scroll, 1)
        left.addWidget(self._cart_column_placeholder())
        row = QHBoxLayout(self)
        row.addLayout(left, 3)
        row.addLayout(self._cart_column(), 2)
        cats = categories_of(self.catalogue)
        self.set_category(cats[0] if cats else "")
        self.retranslate()

    def _cart_column_placeholder(self) -> QWidget:
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        return self.hint

    def _choice_row(self, ids: list[str], buttons: dict[str, BigButton],
                    choose: Callable[[str], None]) -> QHBoxLayout:
        row = QHBoxLayout()
        group = QButtonGroup(self)
        for ident in ids:
            button = BigButton(ident, checkable=True, on_click=partial(choose, ident))
            group.addButton(button)
            buttons[ident] = button
            row.addWidget(button)
        return row

    def _cart_column(self) -> QVBoxLayout:
        column = QVBoxLayout()
        self.cart_title = title_label()
        self.cart_host = QWidget()
        self.cart_layout = QVBoxLayout(self.cart_host)
        self.cart_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cart_host)
        self.total_caption = QLabel()
        self.total = AmountLabel(big=True)
        self.pay_button = BigButton(tone="primary", on_click=self.pay)
        self.clear_button = BigButton(tone="danger", on_click=self.clear_cart)
        self.points = PointsStatus(self.session, with_check=True)
        column.addWidget(self.cart_title)
        column.addWidget(scroll, 1)
        column.addWidget(self.points)
        column.addWidget(self.total_caption)
        column.addWidget(self.total)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button, 1)
        buttons.addWidget(self.pay_button, 2)
        column.addLayout(buttons)
        return column

    # -- labels ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        lang = self.session.lang
        self.title.setText(self.t("sale.title"))
        self.hint.setText(self.t("sale.hint"))
        self.cart_title.setText(self.t("sale.cart"))
        self.total_caption.setText(self.t("sale.total"))
        self.pay_button.setText(self.t("sale.pay"))
        self.clear_button.setText(self.t("sale.clear"))
        names = {c.id: c.names.get(lang) for c in self.catalogue.categories}
        for ident, button in self.category_buttons.items():
            button.setText(names.get(ident, ident))
            button.setProperty("i18n_exempt", ident not in names or lang != "ja")
        for ident, button in self.visitor_buttons.items():
            if ident == DEFAULT_VISITOR_TYPE:
                button.setText(self.t("sale.visitor_general"))
            else:
                button.setText(self.catalogue.visitor_type(ident).names.get(lang))
                button.setProperty("i18n_exempt", True)  # catalogue data
        self._fill_items()
        self.refresh_cart()

    def item_text(self, item: FeeItem) -> str:
        lang = self.session.lang
        name = item.names.get(lang)
        if item.time_slot is not None:
            name += f"\n{item.time_slot.label}"
        try:
            price = format_yen(item.price_for(self.visitor_type))
        except DomainError:
            price = "—"
        return f"{name}\n{price}"

    def _fill_items(self) -> None:
        while self.items_grid.count():
            taken = self.items_grid.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        self.item_buttons = {}
        for i, item in enumerate(self.catalogue.in_category(self.category)):
            button = BigButton(self.item_text(item), on_click=partial(self.add, item.code))
            button.setFixedHeight(96)
            button.setProperty("i18n_exempt", True)  # fee names are catalogue data
            button.setEnabled(self.visitor_type in item.visitor_types())
            self.item_buttons[item.code] = button
            self.items_grid.addWidget(button, i // COLUMNS, i % COLUMNS)

    # -- actions --------------------------------------------------------------------------
    def set_category(self, category: str) -> None:
        self.category = category
        if category in self.category_buttons:
            self.category_buttons[category].setChecked(True)
        self._fill_items()

    def set_visitor_type(self, visitor_type: str) -> None:
        self.visitor_type = visitor_type
        if visitor_type in self.visitor_buttons:
            self.visitor_buttons[visitor_type].setChecked(True)
        self._fill_items()

    def enter(self, arg: object = None) -> None:
        self.set_visitor_type(DEFAULT_VISITOR_TYPE)
        self.refresh_cart()

    def add(self, code: str) -> None:
        self._edit(lambda: self.session.counter.add_item(code, self.visitor_type))
        names = self.catalogue.item(code).names
        self.session.say("info", lambda lang: tr("clerk", lang, "sale.added",
                                                 name=names.get(lang)))

    def _edit(self, change: Callable[[], object]) -> None:
        """Cart edits are pure and instant: done on the GUI thread, never during a job."""
        if self.session.runner.busy:
            return
        try:
            change()
        except DomainError as exc:
            self.session.fail(exc)
        self.refresh_cart()

    def line_text(self, line: SaleLine) -> str:
        lang = self.session.lang
        try:
            item = self.catalogue.item(line.code)
        except DomainError:
            return line.name
        name = item.names.get(lang)
        if line.visitor_type != DEFAULT_VISITOR_TYPE:
            name += f" ({self.catalogue.visitor_type(line.visitor_type).names.get(lang)})"
        if item.time_slot is not None:
            name += f" {item.time_slot.label}"
        return f"{name}\n{format_yen(line.unit_price)} x {line.qty} = {format_yen(line.amount)}"

    def refresh_cart(self) -> None:
        while self.cart_layout.count() > 1:
            taken = self.cart_layout.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cart_rows = []
        cart = self.session.counter.cart
        for index, line in enumerate(cart.lines):
            self.cart_layout.insertWidget(index, self._cart_row(index, line))
        self.total.set_amount(cart.total)
        self.pay_button.setEnabled(not cart.is_empty)
        self.clear_button.setEnabled(not cart.is_empty)
        self._cart_points(cart.is_empty)
        if not self.isVisible():
            return
        mode = self.session.customer.mode
        if cart.lines and mode in ("welcome", "cart", "thanks", "points_check"):
            self.session.show_customer(mode="cart", total=cart.total)
        elif not cart.lines and mode == "cart":
            self.session.show_customer(mode="welcome")

    def _cart_points(self, empty: bool) -> None:
        """An emptied cart drops the card tapped for it; a new cart ends a balance check."""
        desk = self.session.hachica
        if empty and self.session.counter.state.open_sale is None and desk.status is not None \
                and desk.status.purchase:
            desk.sale_ended()
        elif not empty:
            desk.cancel_check(announce=False)
        self.points.refresh()

    def _cart_row(self, index: int, line: SaleLine) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        label = QLabel(self.line_text(line))
        label.setProperty("i18n_exempt", True)
        label.setWordWrap(True)
        counter = self.session.counter
        minus = BigButton("−", on_click=lambda: self._edit(
            lambda: counter.set_cart(counter.cart.decrement(index))))
        plus = BigButton("+", on_click=lambda: self._edit(
            lambda: counter.set_cart(counter.cart.increment(index))))
        remove = BigButton(self.t("sale.remove"), tone="danger", on_click=lambda: self._edit(
            lambda: counter.set_cart(counter.cart.remove(index))))
        layout.addWidget(label, 1)
        for button in (minus, plus, remove):
            button.setMaximumWidth(96)
            layout.addWidget(button)
        self.cart_rows.append({"minus": minus, "plus": plus, "remove": remove})
        return row

    def clear_cart(self) -> None:
        self._edit(lambda: self.session.counter.set_cart(self.session.counter.cart.clear()))

    def pay(self) -> None:
        counter = self.session.counter
        if counter.cart.is_empty or self.session.runner.busy:
            return
        self.session.run(counter.begin_payment, lambda _r: self.session.go("payment"),
                         name="begin_payment")
