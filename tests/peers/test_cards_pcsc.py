"""PcscReader against the real pcscd + vsmartcard-vpcd, with virtual FeliCa cards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from card_peers import (  # noqa: F401  (fixtures)
    DEFAULT_PMM,
    TRANSIT_SYSTEM_CODE,
    VPCD_PORTS,
    VPCD_READERS,
    Pcscd,
    VirtualFelicaCard,
    collect,
    pcscd_fixture,
    vpcd_card_fixture,
    wait_event,
)

from drivers.cards.felica import GET_DATA_UID, UNKNOWN_SYSTEM_CODE, ApduStatusError
from drivers.cards.multi import MultiReader
from drivers.cards.pcsc import PcscReader
from terminal.errors import CardRemoved, DeviceProtocolError, DeviceUnavailable
from terminal.ports import CardRemovedEvent, CardTapped

IDM = bytes.fromhex("012E4CD1A2B3C4D5")
IDM2 = bytes.fromhex("0114B0C0FFEE0001")
Cards = Callable[..., VirtualFelicaCard]


@pytest.fixture
def reader(pcscd: Pcscd) -> Iterator[PcscReader]:
    with PcscReader(VPCD_READERS[0], "front") as front:
        yield front


def test_tap_gives_idm_and_one_tap_while_left_on(reader: PcscReader, vpcd_card: Cards) -> None:
    card = vpcd_card(IDM)
    card.tap()
    event = wait_event(reader, 3)
    assert event == CardTapped(idm=IDM, pmm=b"", system_code=UNKNOWN_SYSTEM_CODE, reader="front")
    assert collect(reader, 1.0) == []  # left on the reader: no repeat
    assert card.apdus == [GET_DATA_UID]
    card.remove()
    assert wait_event(reader, 3) == CardRemovedEvent(reader="front")


def test_polling_reader_gives_pmm_and_system_code(pcscd: Pcscd, vpcd_card: Cards) -> None:
    with PcscReader(VPCD_READERS[0], "acr122", felica_polling=True) as acr:
        vpcd_card(IDM, answers_polling=True, system_code=0x8008).tap()
        assert wait_event(acr, 3) == CardTapped(idm=IDM, pmm=DEFAULT_PMM, system_code=0x8008,
                                                reader="acr122")


def test_polling_not_supported_falls_back(pcscd: Pcscd, vpcd_card: Cards) -> None:
    with PcscReader(VPCD_READERS[0], "rcs300", felica_polling=True) as rcs:
        vpcd_card(IDM).tap()  # answers 6A 81 to the ACR122U pseudo-APDU
        event = wait_event(rcs, 3)
        assert isinstance(event, CardTapped)
        assert (event.pmm, event.system_code) == (b"", UNKNOWN_SYSTEM_CODE)


def test_card_pulled_mid_read_is_card_removed(reader: PcscReader, vpcd_card: Cards) -> None:
    vpcd_card(IDM, script={GET_DATA_UID: None}).tap()
    error = wait_event(reader, 3)
    assert isinstance(error, CardRemoved)
    assert "tap again" in str(error)
    assert reader.status is None  # the reader itself is fine


@pytest.mark.parametrize(("response", "expected", "text"), [
    (b"\x63\x00", ApduStatusError, "6300"),
    (b"\x90", DeviceProtocolError, "1 byte"),
    (b"\x01\x02\x03\x04\x90\x00", DeviceProtocolError, "4-byte UID"),
])
def test_error_responses_are_protocol_errors(reader: PcscReader, vpcd_card: Cards,
                                             response: bytes, expected: type[Exception],
                                             text: str) -> None:
    vpcd_card(IDM, script={GET_DATA_UID: response}).tap()
    error = wait_event(reader, 3)
    assert isinstance(error, expected) and text in str(error)


def test_error_6a81_then_the_next_card_reads(reader: PcscReader, vpcd_card: Cards) -> None:
    card = vpcd_card(IDM, script={GET_DATA_UID: b"\x6a\x81"})
    card.tap()
    error = wait_event(reader, 3)
    assert isinstance(error, ApduStatusError) and error.sw == 0x6A81
    assert "not support" in str(error)
    # left on after the error: nothing more; removed: no CardRemovedEvent (never tapped)
    assert collect(reader, 0.5) == []
    card.remove()
    assert collect(reader, 0.8) == []
    vpcd_card(IDM2).tap()
    assert wait_event(reader, 3) == CardTapped(IDM2, b"", UNKNOWN_SYSTEM_CODE, "front")


def test_non_felica_card_is_refused(reader: PcscReader, vpcd_card: Cards) -> None:
    mifare = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
    vpcd_card(IDM, atr=mifare).tap()
    error = wait_event(reader, 3)
    assert isinstance(error, DeviceProtocolError) and "not FeliCa" in str(error)


def test_two_readers_at_once(pcscd: Pcscd, vpcd_card: Cards) -> None:
    both = MultiReader([PcscReader(VPCD_READERS[0], "left"),
                        PcscReader(VPCD_READERS[1], "right")])
    try:
        vpcd_card(IDM, port=VPCD_PORTS[0]).tap()
        vpcd_card(IDM2, port=VPCD_PORTS[1]).tap()
        got = collect(both, 1.5)
        assert sorted((e.reader, e.idm) for e in got if isinstance(e, CardTapped)) == [
            ("left", IDM), ("right", IDM2)]
        assert len(got) == 2
    finally:
        both.close()


def test_missing_reader_is_unavailable_and_keeps_trying(pcscd: Pcscd) -> None:
    with PcscReader("No Such Reader", "ghost", retry_interval=0.05) as ghost:
        error = wait_event(ghost, 2)
        assert isinstance(error, DeviceUnavailable)
        assert "No Such Reader" in str(error) and "Virtual PCD 00 00" in str(error)
        assert collect(ghost, 0.3) == []  # reported once, not on every retry
        assert isinstance(ghost.status, DeviceUnavailable)


def test_pcscd_restart_is_unplug_and_replug(pcscd: Pcscd, vpcd_card: Cards) -> None:
    if not pcscd.owned:
        pytest.skip("pcscd was not started by this test suite: not restarting it")
    with PcscReader(VPCD_READERS[0], "front", retry_interval=0.1) as front:
        card = vpcd_card(IDM)
        card.tap()
        assert isinstance(wait_event(front, 3), CardTapped)
        pcscd.restart()
        error = wait_event(front, 5, lambda e: isinstance(e, DeviceUnavailable))
        assert "pcscd" in str(error)
        card.remove()
        deadline = time.monotonic() + 5
        while front.status is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert front.status is None
        card.tap()
        event = wait_event(front, 5, lambda e: isinstance(e, CardTapped))
        assert event == CardTapped(IDM, b"", UNKNOWN_SYSTEM_CODE, "front")


def test_poll_returns_within_timeout(reader: PcscReader) -> None:
    started = time.monotonic()
    assert reader.poll(0.2) is None
    assert time.monotonic() - started < 0.4
    assert TRANSIT_SYSTEM_CODE == 0x0003
