"""Card types (BMP 8A) and card names (BMP 8B) mapped to our tender kinds and brand names.

International credit brands use the IDs of the ZVT spec's "list of ZVT card-type IDs"
(Mastercard 6, American Express 8, VISA 10, Diners 12, JCB 14 — check against the spec
release of the terminal at installation). The spec's list has no Japanese domestic media, so
transit IC, e-money and QR brands use IDs from 0xE0 up: our choice, to be matched to the
terminal vendor's table. The 0xD0-0xD3 IDs are group hints the counter sends in BMP 8A of an
authorization ("any credit / transit IC / e-money / QR card") so a multi-payment terminal
opens the right reader; a terminal that does not know them may ignore the hint.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.ports import TenderKind


@dataclass(frozen=True, slots=True)
class Brand:
    card_type: int
    code: str  # ASCII name as carried in BMP 8B
    name: str  # the name on receipts and in the journal
    kind: TenderKind


BRANDS: tuple[Brand, ...] = (
    Brand(0x0A, "VISA", "VISA", "credit"),
    Brand(0x06, "MASTERCARD", "Mastercard", "credit"),
    Brand(0x0E, "JCB", "JCB", "credit"),
    Brand(0x08, "AMEX", "American Express", "credit"),
    Brand(0x0C, "DINERS", "Diners Club", "credit"),
    Brand(0xE0, "SUICA", "Suica", "transit_ic"),
    Brand(0xE1, "PASMO", "PASMO", "transit_ic"),
    Brand(0xE8, "ID", "iD", "emoney"),
    Brand(0xE9, "QUICPAY", "QUICPay", "emoney"),
    Brand(0xEA, "WAON", "WAON", "emoney"),
    Brand(0xEB, "NANACO", "nanaco", "emoney"),
    Brand(0xEC, "EDY", "楽天Edy", "emoney"),
    Brand(0xF0, "PAYPAY", "PayPay", "qr"),
    Brand(0xF1, "AUPAY", "au PAY", "qr"),
    Brand(0xF2, "DBARAI", "d払い", "qr"),
    Brand(0xF3, "RPAY", "楽天ペイ", "qr"),
)
KIND_HINTS: dict[TenderKind, int] = {"credit": 0xD0, "transit_ic": 0xD1, "emoney": 0xD2,
                                     "qr": 0xD3}
_BY_TYPE = {b.card_type: b for b in BRANDS}
_BY_CODE = {b.code: b for b in BRANDS}


def brand_for(card_type: int | None, card_name: str = "") -> Brand | None:
    """The brand named by BMP 8A (card type), else by BMP 8B (card name)."""
    if card_type is not None and card_type in _BY_TYPE:
        return _BY_TYPE[card_type]
    return _BY_CODE.get(card_name.strip().upper().replace(" ", ""))


def kind_for_hint(card_type: int) -> TenderKind | None:
    for kind, hint in KIND_HINTS.items():
        if hint == card_type:
            return kind
    return None


def first_brand(kind: TenderKind) -> Brand:
    """The brand a simulator presents for a kind (the first of that kind)."""
    return next(b for b in BRANDS if b.kind == kind)
