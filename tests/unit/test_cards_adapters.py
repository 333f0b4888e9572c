"""Adapter logic with scripted fakes: one tap per presence, debounced removal, recovery after
an unplugged reader, MultiReader merging, self_test, and error translation."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from card_peers import collect, wait_event
from smartcard import scard  # type: ignore[import-untyped]

from drivers.cards.felica import UNKNOWN_SYSTEM_CODE
from drivers.cards.multi import MultiReader
from drivers.cards.nfcpy_reader import POLLING_REQUEST, NfcpyReader
from drivers.cards.pcsc import scard_error
from drivers.cards.tools import self_test
from terminal.errors import (
    CardRemoved,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnavailable,
)
from terminal.ports import CardEvent, CardRemovedEvent, CardTapped

IDM = bytes.fromhex("0123456789ABCDEF")
PMM = bytes.fromhex("0011223344556677")


@dataclass
class Target:
    sensf_res: bytearray


@dataclass
class FakeFrontend:
    """Answers ``sense`` from a shared script: a Target, None (no card) or an exception."""

    script: list[Any]
    lock: threading.Lock
    targets: list[Any] = field(default_factory=list)
    closed: bool = False

    def sense(self, target: Any) -> Any:
        self.targets.append(target)
        with self.lock:
            item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


def card(idm: bytes = IDM, system_code: int = 3) -> Target:
    return Target(bytearray(b"\x01" + idm + PMM + system_code.to_bytes(2, "big")))


@pytest.fixture
def frontends() -> list[FakeFrontend]:
    return []


def make_reader(script: list[Any], frontends: list[FakeFrontend], opens: list[Any] | None = None,
                miss_limit: int = 2) -> NfcpyReader:
    lock = threading.Lock()
    pending = list(opens or [])

    def factory(path: str) -> FakeFrontend:
        if pending:
            error = pending.pop(0)
            raise error
        frontends.append(FakeFrontend(script, lock))
        return frontends[-1]

    return NfcpyReader("usb:054c:06c3", "fake", interval=0.005, miss_limit=miss_limit,
                       retry_interval=0.01, frontend_factory=factory)


def test_one_tap_per_presence_and_debounced_removal(frontends: list[FakeFrontend]) -> None:
    script: list[Any] = [None, card(), None, card(), card(), None, None, None]
    with make_reader(script, frontends) as reader:
        events = collect(reader, 0.3)
    assert events == [CardTapped(IDM, PMM, 3, "fake"), CardRemovedEvent("fake")]
    target = frontends[0].targets[0]
    assert (target.brty, bytes(target.sensf_req)) == ("212F", POLLING_REQUEST)


def test_a_different_card_without_a_gap_is_removal_and_tap(frontends: list[FakeFrontend]
                                                            ) -> None:
    other = bytes.fromhex("0123FFFFFFFFFFFF")
    with make_reader([card(), card(other), card(other)], frontends) as reader:
        assert collect(reader, 0.2) == [CardTapped(IDM, PMM, 3, "fake"),
                                        CardRemovedEvent("fake"),
                                        CardTapped(other, PMM, 3, "fake")]


def test_unplugged_then_replugged(frontends: list[FakeFrontend]) -> None:
    gone = OSError(19, "No such device")
    opens = [DeviceUnavailable("cannot open NFC reader 'usb:054c:06c3': no such reader")] * 3
    script: list[Any] = [card(), card(), gone, card()]
    with make_reader(script, frontends, opens=opens) as reader:
        first = wait_event(reader, 1)
        assert isinstance(first, DeviceUnavailable) and "no such reader" in str(first)
        assert wait_event(reader, 1) == CardTapped(IDM, PMM, 3, "fake")
        assert reader.status is None
        assert wait_event(reader, 1) == CardRemovedEvent("fake")  # the reader went away
        lost = wait_event(reader, 1)
        assert isinstance(lost, DeviceUnavailable) and "stopped answering" in str(lost)
        assert isinstance(lost.__cause__, OSError)
        assert wait_event(reader, 1) == CardTapped(IDM, PMM, 3, "fake")  # resumed
    assert frontends[0].closed and len(frontends) == 2


def test_protocol_error_is_reported_once(frontends: list[FakeFrontend]) -> None:
    bad = Target(bytearray(b"\x01" + IDM + PMM))  # request code 01 but no system code
    with make_reader([bad], frontends) as reader:
        events = collect(reader, 0.1)
    assert len(events) == 1 and isinstance(events[0], DeviceProtocolError)


def test_logs_never_hold_a_full_idm(frontends: list[FakeFrontend],
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with make_reader([card(), None, None], frontends) as reader:
        collect(reader, 0.1)
    assert "0123…" in caplog.text
    assert IDM.hex() not in caplog.text.lower()


@dataclass
class ScriptedReader:
    name: str
    items: list[CardEvent | DeviceError | None]
    closed: bool = False

    def poll(self, timeout: float) -> CardEvent | None:
        item = self.items.pop(0) if self.items else None
        if isinstance(item, DeviceError):
            raise item
        return item

    def close(self) -> None:
        self.closed = True


def test_multireader_merges_fairly_and_passes_errors() -> None:
    a = ScriptedReader("a", [CardTapped(IDM, PMM, 3, "a"), CardRemovedEvent("a")])
    b = ScriptedReader("b", [DeviceUnavailable("reader b unplugged"),
                             CardTapped(IDM, PMM, 3, "b")])
    merged = MultiReader([a, b])
    got: list[object] = []
    for _ in range(4):
        try:
            got.append(merged.poll(0.05))
        except DeviceUnavailable as exc:
            got.append(str(exc))
    assert got == [CardTapped(IDM, PMM, 3, "a"), "reader b unplugged",
                   CardRemovedEvent("a"), CardTapped(IDM, PMM, 3, "b")]
    assert merged.poll(0.02) is None
    merged.close()
    assert a.closed and b.closed


def test_multireader_needs_unique_names() -> None:
    with pytest.raises(ValueError, match="unique"):
        MultiReader([ScriptedReader("x", []), ScriptedReader("x", [])])
    with pytest.raises(ValueError):
        MultiReader([])


def test_self_test_describes_the_card_without_the_full_idm() -> None:
    reader = ScriptedReader("front", [DeviceUnavailable("flaky"), None,
                                      CardTapped(IDM, b"", UNKNOWN_SYSTEM_CODE, "front")])
    text = self_test(reader, 1.0)
    assert text.startswith("IDm 0123… PMm not available")
    assert "system code unknown" in text and IDM.hex().upper() not in text
    reader = ScriptedReader("front", [CardTapped(IDM, PMM, 3, "front")])
    assert "PMm 0011223344556677 system code 0003" in self_test(reader, 1.0)


def test_self_test_times_out_with_advice() -> None:
    with pytest.raises(DeviceTimeout, match=r"within 0\.1 s .*last error: flaky.*tap a card"):
        self_test(ScriptedReader("front", [DeviceUnavailable("flaky")]), 0.1)


@pytest.mark.parametrize(("code", "kind", "text"), [
    (scard.SCARD_E_NO_SERVICE, DeviceUnavailable, "start pcscd"),
    (scard.SCARD_E_UNKNOWN_READER, DeviceUnavailable, "plug it in"),
    (scard.SCARD_W_REMOVED_CARD, CardRemoved, "tap again"),
    (scard.SCARD_E_PROTO_MISMATCH, DeviceProtocolError, "0x8010000F"),
])
def test_scard_errors_translate(code: int, kind: type[Exception], text: str) -> None:
    error = scard_error(code, "GET DATA")
    assert isinstance(error, kind) and text in str(error) and str(error).startswith("GET DATA")




def test_a_reader_that_opens_but_fails_is_reported_once(frontends: list[FakeFrontend]) -> None:
    with make_reader([OSError(5, "Input/output error")], frontends) as reader:
        events = collect(reader, 0.2)
        assert len(events) == 1 and isinstance(events[0], DeviceUnavailable)
        assert isinstance(reader.status, DeviceUnavailable)
    assert len(frontends) > 2 and all(f.closed for f in frontends)  # kept retrying
