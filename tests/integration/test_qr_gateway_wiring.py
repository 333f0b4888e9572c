"""QR through the gateway, wired by the composition root: a counter built with
``madoguchi.devices`` + ``madoguchi.bootstrap`` from a copy of ``museum-01.toml``, whose
``qr_gateway`` driver "simulator" runs the PayPay-OPA-shaped simulator (real HTTP, HMAC-signed
with credentials made up at start) behind the real ``PayPayGateway``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from madoguchi_testing import SAMPLES

from drivers.qr.paypay import PayPayGateway
from drivers.qr.paypay_sim import PayPaySimulator
from kiosk_config.loader import load_config
from kiosk_config.schema import KioskConfig
from madoguchi.bootstrap import build_counter, open_journal
from madoguchi.devices import Devices, build_devices
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter
from terminal.day import TOKYO
from terminal.errors import ConfigError
from terminal.ports import QrGateway

CUSTOMER_CODE = "281234567890123456"


class Clock:
    def now(self) -> datetime:
        return datetime.now(TOKYO)


@dataclass
class Rig:
    config: KioskConfig
    devices: Devices
    sim: PayPaySimulator
    directory: Path
    clerks: dict[str, Clerk]

    def counter(self, gateway: QrGateway | None = None) -> Counter:
        journal = open_journal(self.directory / "journal.db", self.directory / "terminal.key",
                               self.config.terminal_id)
        counter = build_counter(self.config, journal, Clock(), self.clerks,
                                self.devices.payment_terminal,
                                qr_gateway=gateway or self.devices.qr_gateway)
        if counter.state.clerk is None:
            assert counter.login("c1", "1111").ok
        return counter

    def fresh_gateway(self) -> PayPayGateway:
        """A new adapter on the same gateway: what the counter has after a restart."""
        assert isinstance(self.devices.qr_gateway, PayPayGateway)
        return PayPayGateway(self.devices.qr_gateway.config)


@pytest.fixture(scope="module")
def clerks() -> dict[str, Clerk]:
    return {"c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111")),
            "sup": Clerk("sup", "係長", "supervisor", hash_pin("9999"))}


@pytest.fixture
def rig(tmp_path: Path, clerks: dict[str, Clerk]) -> Iterator[Rig]:
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    config = load_config(copy / "museum-01.toml")
    assert config.devices["qr_gateway"].driver == "simulator"
    devices = build_devices(config, tmp_path / "data")
    try:
        sim = devices.simulators["qr_gateway"]
        assert isinstance(sim, PayPaySimulator)
        yield Rig(config, devices, sim, tmp_path, clerks)
    finally:
        devices.close()


def test_shown_code_paid_by_the_visitor_completes_the_sale(rig: Rig) -> None:
    rig.sim.code_polls = 1  # the visitor pays after the counter's first look
    counter = rig.counter()
    counter.add_item(counter.catalogue.items[0].code, qty=2)
    total = counter.cart.total
    ref, code = counter.show_qr(None)
    assert code.startswith("https://")  # the text the customer display renders as a QR
    assert rig.sim.ledger.payments[ref].kind == "code"
    assert counter.poll_qr(ref) is None  # not paid yet
    tender = counter.poll_qr(ref)  # the visitor paid with their app
    assert tender is not None and (tender.kind, tender.amount, tender.ref) == ("qr", total, ref)
    assert tender.brand == "PayPay" and tender.approval_code
    assert rig.sim.ledger.payments[ref].status == "COMPLETED" and rig.sim.charges_taken == 1
    sale = counter.complete_sale(counter.payment())
    assert sale.kind == "sale" and sale.body["tenders"][0]["ref"] == ref
    refund = counter.refund(sale.seq, {0: 1}, "sup", tender_kind="qr")
    assert refund.body["tenders"][0]["kind"] == "qr"
    (stored,) = rig.sim.ledger.refunds.values()
    assert stored.payment_id == tender.approval_code and stored.amount == refund.body["total"]
    counter.journal.close()


def test_customer_code_charged_then_voided_at_the_gateway(rig: Rig) -> None:
    counter = rig.counter()
    counter.add_item(counter.catalogue.items[0].code)
    tender = counter.pay_by_terminal("qr", customer_code=CUSTOMER_CODE)
    payment = rig.sim.ledger.payments[tender.ref]
    assert (payment.kind, payment.status) == ("cpm", "COMPLETED")
    sale = counter.complete_sale(counter.payment())
    assert rig.sim.charges_taken == 1
    void = counter.void(sale.seq, "sup")
    assert void.kind == "void"
    assert payment.status == "CANCELED" and rig.sim.charges_taken == 0
    results = [e.body for e in counter.journal.entries() if e.kind == "payment.result"]
    assert results[-1]["approved"] is True and results[-1]["ref"] == f"{tender.ref}-V"
    counter.journal.close()


def test_shown_code_is_resolved_after_a_restart(rig: Rig) -> None:
    rig.sim.code_polls = 10**6  # this visitor never pays
    counter = rig.counter()
    code = counter.catalogue.items[0].code
    counter.add_item(code)
    unpaid, _ = counter.show_qr(None)
    counter.journal.close()  # the counter goes down with the code on the display
    again = rig.counter(rig.fresh_gateway())
    assert again.state.open_sale is not None and again.state.open_sale.pending
    (result,) = again.payments.resolve_pending()
    assert result.body["approved"] is False  # never paid: withdrawn at the gateway
    assert rig.sim.ledger.payments[unpaid].status == "CANCELED"
    rig.sim.code_polls = 0  # the next visitor pays at once
    paid, _ = again.show_qr(None)
    again.journal.close()  # down again; the visitor paid meanwhile
    third = rig.counter(rig.fresh_gateway())
    (result,) = third.payments.resolve_pending()
    assert result.body["approved"] is True and result.body["ref"] == paid
    sale = third.complete_sale(third.payment())
    assert [t["ref"] for t in sale.body["tenders"]] == [paid]
    assert rig.sim.charges_taken == 1
    third.journal.close()


def test_http_gateway_secret_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kiosk_config.schema import DeviceConfig
    from madoguchi.devices import _qr_gateway

    params = {"base_url": "https://gateway.example", "api_key": "k",
              "secret_env": "MADOGUCHI_TEST_PAYPAY_SECRET"}
    monkeypatch.delenv("MADOGUCHI_TEST_PAYPAY_SECRET", raising=False)
    with pytest.raises(ConfigError, match="MADOGUCHI_TEST_PAYPAY_SECRET"):
        _qr_gateway(DeviceConfig("qr_gateway", "http", params), Devices())
    with pytest.raises(ConfigError, match="api_secret"):
        _qr_gateway(DeviceConfig("qr_gateway", "http", params | {"api_secret": "x"}),
                    Devices())
    monkeypatch.setenv("MADOGUCHI_TEST_PAYPAY_SECRET", "from-the-environment")
    devices = Devices()
    _qr_gateway(DeviceConfig("qr_gateway", "http", params), devices)
    assert isinstance(devices.qr_gateway, PayPayGateway)
    assert devices.qr_gateway.config.api_secret == "from-the-environment"
    devices.close()
