"""What the CLI needs: a Japanese self-test receipt, and the USB printers attached."""

from __future__ import annotations

import logging
from typing import Final

from drivers.printer.printer import EscposPrinter
from terminal.catalogue import Account, Catalogue
from terminal.receipt import Receipt, ReceiptHeader, build_receipt

log = logging.getLogger(__name__)
USB_PRINTER_CLASS: Final = 7
SELF_TEST_URL: Final = "https://madoguchi.invalid/r/self-test/1/0000000000000000"


def self_test_receipt() -> Receipt:
    """A training-marked receipt with kanji, kana, half-width kana, ※ and ￥ on it."""
    accounts = (Account("test", "テスト会計", "madoguchi 印字テスト", "T0000000000000"),)
    lines = [
        ("漢字ひらがなカタカナ", 1, 110, "std10"),
        ("ﾊﾝｶｸｶﾅ 半角カナ", 2, 108, "red8"),
        ("証明手数料（非課税）", 1, 300, "exempt"),
    ]
    body = {
        "receipt_no": "TEST-1",
        "lines": [
            {"code": f"T{i}", "name": n, "qty": q, "unit_price": p, "tax_class": c}
            | {"amount": q * p, "account": "test"}
            for i, (n, q, p, c) in enumerate(lines)
        ],
        "total": 626,
        "rounding": "floor",
        "taxes": [
            {"tax_class": "std10", "base": 110, "tax": 10},
            {"tax_class": "red8", "base": 216, "tax": 16},
            {"tax_class": "exempt", "base": 300, "tax": 0},
        ],
        "tenders": [{"kind": "cash", "amount": 626, "given": 1000, "change": 374}],
        "clerk": "test",
    }
    footer = "この印字は領収書ではありません"
    header = ReceiptHeader("印字テスト", title="テスト印字", footer=footer)
    return build_receipt(
        body, "training.sale", "2026-01-01T09:00:00+09:00", "self-test", 1, header,
        Catalogue(items=(), accounts=accounts), addressee="テスト", purpose="印字確認",
        qr_url=SELF_TEST_URL,
    )  # fmt: skip


def self_test(printer: EscposPrinter) -> str:
    """Print the test receipt; a one-line report (raises ``DeviceError`` when it cannot)."""
    before = printer.status()
    report = printer.print_receipt(self_test_receipt(), copies=["customer"])
    cfg = printer.config
    replaced = f"; not in cp932: {''.join(report.replaced)}" if report.replaced else ""
    return (
        f"printed a test receipt on the {printer.where} ({cfg.mode} mode, {cfg.columns} "
        f"columns, {report.size} bytes); status before: {before.describe()}, after: "
        f"{report.status.describe()}{replaced}"
    )


def list_printers() -> list[str]:
    """USB printers (interface class 7) as ``usb:VVVV:PPPP name``; [] without pyusb/libusb."""
    try:
        import usb.core  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return []
    try:
        devices = list(usb.core.find(find_all=True))
    except (usb.core.NoBackendError, usb.core.USBError, OSError) as exc:
        log.info("cannot list USB devices: %s", exc)
        return []
    found = []
    for device in devices:
        classes = {i.bInterfaceClass for cfg in device for i in cfg}
        if USB_PRINTER_CLASS in classes:
            found.append(f"usb:{device.idVendor:04x}:{device.idProduct:04x} {_name(device)}")
    return found


def _name(device: object) -> str:
    import usb.util  # type: ignore[import-not-found, unused-ignore]

    parts = []
    for attr in ("iManufacturer", "iProduct"):
        try:
            index = getattr(device, attr)
            parts.append(str(usb.util.get_string(device, index)) if index else "")
        except (ValueError, OSError, usb.core.USBError):
            parts.append("")  # no permission to read strings: ids only
    return " ".join(p for p in parts if p).strip()
