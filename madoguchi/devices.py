"""Build the configured device drivers from a kiosk config (part of the composition root).

``driver = "simulator"`` gives a wire-level simulator wired to the real driver: the ZVT
simulator over TCP behind ZvtPaymentTerminal, a network ESC/POS printer simulator behind
EscposPrinter, an emulated FeliCa tag on nfcpy's udp transport behind NfcpyReader, the local
PayPay-OPA-shaped gateway (HTTP, HMAC-signed, with credentials made up at start) behind
PayPayGateway. A real gateway's secret comes from an environment variable named in the
config (``secret_env``), never from the TOML file.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk_config.schema import DeviceConfig, KioskConfig
from terminal.errors import ConfigError
from terminal.ports import CardReader, PaymentTerminal, QrGateway

if TYPE_CHECKING:
    from drivers.qr.paypay import PayPayConfig

DEMO_IDM = bytes.fromhex("012E4CD8A1B2C3D4")  # a sample Hachica-like IDm (not a real card)


@dataclass
class Devices:
    """The drivers of one counter, and the simulators behind them (for the demo panel)."""

    payment_terminal: PaymentTerminal | None = None
    printer: Any | None = None
    card_reader: CardReader | None = None
    qr_gateway: QrGateway | None = None
    simulators: dict[str, object] = field(default_factory=dict)
    stack: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        self.stack.close()


class SimulatedTerminalSwitch:
    """The demo panel's approve/decline switch for the ZVT simulator."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator

    def set_decline_rate(self, rate: float) -> None:
        self.simulator.set_fault("decline" if rate >= 0.5 else None)


class SimulatedCard:
    """The demo panel's virtual Hachica: tap / remove on the emulated FeliCa tag."""

    def __init__(self, tag: Any) -> None:
        self.tag = tag

    def tap(self, idm: bytes | None = None) -> None:
        self.tag.tap()

    def remove(self) -> None:
        self.tag.remove()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _payment_terminal(device: DeviceConfig, data_dir: Path, devices: Devices) -> None:
    from drivers.zvt import ZvtPaymentTerminal
    from drivers.zvt.simulator import ZvtSimulator

    params: dict[str, Any] = dict(device.params)
    if device.driver == "simulator":
        simulator = ZvtSimulator(data_dir / "zvt-simulator-ledger.jsonl", card_wait=0.3)
        devices.stack.callback(simulator.stop)
        port = simulator.serve_tcp()
        devices.simulators["payment"] = SimulatedTerminalSwitch(simulator)
        terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", port)
    elif "host" in params:
        terminal = ZvtPaymentTerminal.over_tcp(str(params["host"]), int(params.get("port", 20007)))
    elif "port" in params:
        terminal = ZvtPaymentTerminal.over_serial(str(params["port"]),
                                                  baudrate=int(params.get("baudrate", 9600)))
    else:
        raise ConfigError("devices.payment_terminal: zvt needs host (TCP) or port (serial)")
    devices.stack.callback(terminal.close)
    devices.payment_terminal = terminal


def _printer(device: DeviceConfig, devices: Devices) -> None:
    from drivers.printer import EscposPrinter
    from drivers.printer.simulator import NetworkPrinterSimulator

    params: dict[str, Any] = dict(device.params)
    if device.driver == "simulator":
        simulator = NetworkPrinterSimulator(port=0).start()
        devices.stack.callback(simulator.close)
        devices.simulators["printer"] = simulator
        params = {"connection": "network", "host": simulator.host, "port": simulator.port,
                  "mode": params.get("mode", "kanji")}
    else:
        params.setdefault("connection", device.driver.removeprefix("escpos_"))
    printer = EscposPrinter.from_config(params)
    devices.stack.callback(printer.close)
    devices.printer = printer


def _card_reader(device: DeviceConfig, devices: Devices) -> None:
    from drivers.cards.nfcpy_reader import NfcpyReader
    from drivers.cards.pcsc import PcscReader
    from drivers.cards.simulator import EmulatedFelicaTag

    logging.getLogger("nfc").setLevel(logging.WARNING)  # nfcpy sets INFO when imported
    params = dict(device.params)
    reader: CardReader
    if device.driver == "simulator":
        tag = EmulatedFelicaTag(_free_udp_port(), DEMO_IDM)
        devices.stack.callback(tag.remove)
        devices.simulators["card"] = SimulatedCard(tag)
        reader = NfcpyReader(tag.path, "simulated Hachica reader")
    elif device.driver == "nfcpy":
        reader = NfcpyReader(str(params.get("path", "usb")), "nfcpy")
    else:
        prefix = params.get("reader")
        reader = PcscReader(None if prefix is None else str(prefix), "pcsc")
    devices.stack.callback(reader.close)
    devices.card_reader = reader


def _qr_gateway(device: DeviceConfig, devices: Devices) -> None:
    from drivers.qr.paypay import PayPayConfig, PayPayGateway

    params: dict[str, Any] = dict(device.params)
    if device.driver == "simulator":
        from drivers.qr.paypay_sim import PayPaySimulator

        # Test credentials made up for this run: the simulator and the adapter share them.
        key, secret = f"sim-{secrets.token_hex(8)}", secrets.token_urlsafe(32)
        simulator = PayPaySimulator(api_key=key, api_secret=secret)
        simulator.code_polls = int(params.get("code_polls", 0))  # 0: the (simulated)
        simulator.start()  # visitor pays a shown code as soon as the counter asks
        devices.stack.callback(simulator.stop)
        devices.simulators["qr_gateway"] = simulator
        config = PayPayConfig(base_url=simulator.url, api_key=key, api_secret=secret,
                              timeout=float(params.get("timeout", 5.0)),
                              poll_interval=0.2, settle_timeout=5.0)
    else:
        config = _http_gateway_config(params)
    gateway = PayPayGateway(config)
    devices.stack.callback(gateway.close)
    devices.qr_gateway = gateway


def _http_gateway_config(params: dict[str, Any]) -> PayPayConfig:
    from drivers.qr.paypay import PayPayConfig

    where = "devices.qr_gateway"
    if "api_secret" in params:
        raise ConfigError(f"{where}: api_secret must not be in the config file; put it in an "
                          "environment variable and name it with secret_env")
    missing = [k for k in ("base_url", "api_key", "secret_env") if not params.get(k)]
    if missing:
        raise ConfigError(f"{where}: http needs {', '.join(missing)} (e.g. secret_env = "
                          '"MADOGUCHI_PAYPAY_SECRET")')
    secret_env = str(params["secret_env"])
    secret = os.environ.get(secret_env, "")
    if not secret:
        raise ConfigError(f"QR決済の秘密鍵がありません (environment variable {secret_env} is "
                          f"not set): set it to the gateway's API secret ({where}.secret_env)")
    return PayPayConfig(
        base_url=str(params["base_url"]), api_key=str(params["api_key"]), api_secret=secret,
        merchant_id=str(params.get("merchant_id", "")), store_id=str(params.get("store_id", "")),
        terminal_id=str(params.get("terminal_id", "")),
        timeout=float(params.get("timeout", 15.0)),
    )


def build_devices(config: KioskConfig, data_dir: Path) -> Devices:
    """Open every configured device (closing what was opened if one fails)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    devices = Devices()
    builders: dict[str, Callable[[DeviceConfig], None]] = {
        "payment_terminal": lambda d: _payment_terminal(d, data_dir, devices),
        "printer": lambda d: _printer(d, devices),
        "card_reader": lambda d: _card_reader(d, devices),
        "qr_gateway": lambda d: _qr_gateway(d, devices),
    }
    try:
        for kind, build in builders.items():
            device = config.devices.get(kind)
            if device is not None:
                build(device)
    except BaseException:
        devices.close()
        raise
    return devices
