"""The CardReader contract, run against every reader driver and its wire-level peer:
PC/SC (pcscd + vsmartcard-vpcd, virtual card) and nfcpy (udp driver, emulated tag)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pytest
from card_peers import (  # noqa: F401  (fixtures)
    DEFAULT_PMM,
    VPCD_READERS,
    EmulatedFelicaTag,
    Pcscd,
    VirtualFelicaCard,
    collect,
    free_udp_port,
    pcscd_fixture,
    vpcd_cards,
    wait_event,
)

from drivers.cards.multi import MultiReader
from drivers.cards.nfcpy_reader import NfcpyReader
from drivers.cards.pcsc import PcscReader
from terminal.errors import DeviceUnavailable
from terminal.ports import CardReader, CardRemovedEvent, CardTapped

A = bytes.fromhex("0101020304050607")
B = bytes.fromhex("01010A0B0C0D0E0F")
SYSTEM = 0x0003


class Card(Protocol):
    def tap(self) -> None: ...

    def remove(self) -> None: ...


@dataclass
class Rig:
    reader: CardReader
    card: Callable[[bytes], Card]
    removal: float  # seconds the driver may take to notice a removal
    made: list[Card] = field(default_factory=list)


def _pcsc_rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    request.getfixturevalue("pcscd")
    with vpcd_cards() as make, PcscReader(VPCD_READERS[0], "counter",
                                          felica_polling=True) as reader:
        yield Rig(reader, lambda idm: make(idm, answers_polling=True, system_code=SYSTEM),
                  removal=2.0)


def _nfcpy_rig() -> Iterator[Rig]:
    port = free_udp_port()
    tags: list[EmulatedFelicaTag] = []

    def make(idm: bytes) -> EmulatedFelicaTag:
        tags.append(EmulatedFelicaTag(port, idm, system_code=SYSTEM))
        return tags[-1]

    reader = NfcpyReader(f"udp:localhost:{port}", "counter")
    try:
        yield Rig(reader, make, removal=4.0)
    finally:
        reader.close()  # first: with a tag still answering, its last polling is quick
        for tag in tags:
            tag.remove()


@pytest.fixture(params=["pcsc-vpcd", "nfcpy-udp"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "pcsc-vpcd":
        yield from _pcsc_rig(request)
    else:
        yield from _nfcpy_rig()


def test_a_tap_reports_idm_pmm_system_code_and_reader(rig: Rig) -> None:
    rig.card(A).tap()
    assert wait_event(rig.reader, 3) == CardTapped(A, DEFAULT_PMM, SYSTEM, "counter")


def test_a_card_left_on_the_reader_is_one_tap(rig: Rig) -> None:
    rig.card(A).tap()
    assert isinstance(wait_event(rig.reader, 3), CardTapped)
    assert collect(rig.reader, 1.2) == []


def test_removal_then_another_card(rig: Rig) -> None:
    first = rig.card(A)
    first.tap()
    assert wait_event(rig.reader, 3) == CardTapped(A, DEFAULT_PMM, SYSTEM, "counter")
    first.remove()
    assert wait_event(rig.reader, rig.removal) == CardRemovedEvent("counter")
    rig.card(B).tap()
    assert wait_event(rig.reader, 3) == CardTapped(B, DEFAULT_PMM, SYSTEM, "counter")


def test_poll_returns_within_its_timeout(rig: Rig) -> None:
    for timeout in (0.0, 0.2):
        started = time.monotonic()
        assert rig.reader.poll(timeout) is None
        assert time.monotonic() - started < timeout + 0.2


def test_through_a_multireader_events_keep_their_reader(rig: Rig) -> None:
    merged = MultiReader([rig.reader], name="all")
    rig.card(B).tap()
    event = wait_event(merged, 3)
    assert isinstance(event, CardTapped) and event.reader == "counter"


def test_a_closed_reader_refuses_to_poll(rig: Rig) -> None:
    rig.reader.close()
    rig.reader.close()  # twice is fine
    with pytest.raises(DeviceUnavailable, match="closed"):
        rig.reader.poll(0.1)
