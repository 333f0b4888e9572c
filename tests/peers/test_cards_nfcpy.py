"""NfcpyReader against an emulated FeliCa tag on nfcpy's own udp driver (listen mode)."""

from __future__ import annotations

from collections.abc import Callable

from card_peers import (  # noqa: F401  (fixtures)
    DEFAULT_PMM,
    TRANSIT_SYSTEM_CODE,
    EmulatedFelicaTag,
    collect,
    udp_tag_fixture,
    wait_event,
)

from drivers.cards.multi import MultiReader
from drivers.cards.nfcpy_reader import NfcpyReader
from terminal.errors import DeviceUnavailable
from terminal.ports import CardRemovedEvent, CardTapped

IDM = bytes.fromhex("0116041200A1B2C3")
IDM2 = bytes.fromhex("01160412FFEEDDCC")
Tags = Callable[..., EmulatedFelicaTag]


def test_tap_gives_idm_pmm_system_code_once_then_removed(udp_tag: Tags) -> None:
    tag = udp_tag(IDM, system_code=0x88B4)
    with NfcpyReader(tag.path, "nfc") as reader:
        tag.tap()
        assert wait_event(reader, 3) == CardTapped(IDM, DEFAULT_PMM, 0x88B4, "nfc")
        assert collect(reader, 1.2) == []  # left on: one tap
        tag.remove()
        assert wait_event(reader, 4) == CardRemovedEvent("nfc")


def test_two_nfc_readers_merged(udp_tag: Tags) -> None:
    left, right = udp_tag(IDM), udp_tag(IDM2)
    readers = [NfcpyReader(left.path, "left"), NfcpyReader(right.path, "right")]
    both = MultiReader(readers)
    try:
        left.tap()
        right.tap()
        first = wait_event(both, 3)
        second = wait_event(both, 3)
        assert {(e.reader, e.idm) for e in (first, second) if isinstance(e, CardTapped)} == {
            ("left", IDM), ("right", IDM2)}
    finally:
        both.close()


def test_missing_device_is_unavailable_and_reported_once() -> None:
    with NfcpyReader("tty:madoguchi-none:pn532", "ghost", retry_interval=0.05) as ghost:
        error = wait_event(ghost, 3)
        assert isinstance(error, DeviceUnavailable)
        assert "tty:madoguchi-none:pn532" in str(error)
        assert collect(ghost, 0.3) == []
        assert isinstance(ghost.status, DeviceUnavailable)
    assert TRANSIT_SYSTEM_CODE == 3
