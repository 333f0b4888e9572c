"""``madoguchi devices`` (what is plugged in, and self tests) and ``madoguchi qr emv``."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

DEVICE_TESTS = ("card", "payment", "printer")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devices = sub.add_parser("devices", help="list card readers, serial ports and printers; "
                             "self-test a configured device")
    devices.add_argument("--config", help="terminal config (.toml), to show its devices")
    dsub = devices.add_subparsers(dest="devices_command", metavar="COMMAND")
    test = dsub.add_parser("test", help="a real self test through the configured driver")
    test.add_argument("device", choices=DEVICE_TESTS)
    test.add_argument("--config", required=True, help="terminal config (.toml)")
    test.add_argument("--amount", type=int, default=1, help="payment test amount (yen)")
    test.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a tap")
    test.set_defaults(handler=devices_test)
    devices.set_defaults(handler=devices_list)
    qr = sub.add_parser("qr", help="QR codes")
    qsub = qr.add_subparsers(dest="qr_command", required=True, metavar="COMMAND")
    emv = qsub.add_parser("emv", help="print the EMVCo merchant-presented payload")
    emv.add_argument("--config", required=True, help="terminal config (.toml)")
    emv.add_argument("--amount", type=int, help="amount in yen (a dynamic code)")
    emv.add_argument("--png", help="also write the QR image to this PNG file")
    emv.set_defaults(handler=qr_emv)


def devices_list(args: argparse.Namespace) -> int:
    from drivers.cards.tools import list_readers
    from drivers.printer import list_printers
    from drivers.zvt import list_serial_ports

    sections = {
        "カードリーダー (card readers)": list_readers(),
        "シリアルポート (serial ports)": list_serial_ports(),
        "プリンター (USB printers)": list_printers(),
    }
    for title, found in sections.items():
        print(title)
        for name in found or ["(なし / none found)"]:
            print(f"  {name}")
    if args.config:
        from kiosk_config.loader import load_config

        config = load_config(Path(args.config))
        print(f"設定 (configured in {args.config})")
        for kind, device in sorted(config.devices.items()):
            params = ", ".join(f"{k}={v}" for k, v in sorted(device.params.items()))
            print(f"  {kind}: {device.driver}" + (f" ({params})" if params else ""))
    return 0


def devices_test(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config
    from madoguchi.devices import build_devices

    config = load_config(Path(args.config))
    with ExitStack() as stack:
        devices = build_devices(config, config.data_dir)
        stack.callback(devices.close)
        print(_run_test(args, devices))
    return 0


def _run_test(args: argparse.Namespace, devices: object) -> str:
    from madoguchi.devices import Devices
    from terminal.errors import DeviceUnavailable

    assert isinstance(devices, Devices)
    if args.device == "card":
        from drivers.cards.tools import self_test as card_test

        if devices.card_reader is None:
            raise DeviceUnavailable("no card_reader in the config")
        card = devices.simulators.get("card")
        if card is not None:  # the simulated reader: tap its virtual card for the test
            card.tap()  # type: ignore[attr-defined]
        print(f"カードをタッチしてください (tap a card within {args.timeout:.0f} s)",
              file=sys.stderr)
        return card_test(devices.card_reader, args.timeout)
    if args.device == "payment":
        from drivers.zvt import ZvtPaymentTerminal
        from drivers.zvt import self_test as payment_test

        if not isinstance(devices.payment_terminal, ZvtPaymentTerminal):
            raise DeviceUnavailable("no ZVT payment_terminal in the config")
        return payment_test(devices.payment_terminal, args.amount)
    from drivers.printer import EscposPrinter
    from drivers.printer import self_test as printer_test

    if not isinstance(devices.printer, EscposPrinter):
        raise DeviceUnavailable("no printer in the config")
    return printer_test(devices.printer)


def qr_emv(args: argparse.Namespace) -> int:
    from drivers.qr import emv_payload_for, render_png
    from kiosk_config.loader import load_config
    from madoguchi.qr_merchant import merchant_for

    if args.amount is not None and args.amount < 0:
        print("madoguchi: --amount must be >= 0 yen", file=sys.stderr)
        return 2
    config = load_config(Path(args.config))
    payload = emv_payload_for(merchant_for(config), args.amount)
    print(payload)
    if args.png:
        Path(args.png).write_bytes(render_png(payload))
        print(f"wrote {args.png}", file=sys.stderr)
    return 0
