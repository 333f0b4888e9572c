"""Test peers for the card readers: the shared pcscd (with vsmartcard-vpcd), virtual FeliCa
cards on vpcd, emulated FeliCa tags on nfcpy's udp transport, and event helpers.

pcscd: one per machine, shared by every test. If none runs, the session fixture starts
``pcscd -f`` in the background and leaves it running; it records the pid in ``PID_FILE`` so
a later session knows the suite started it. Only such a pcscd is ever restarted by a test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers.cards.simulator import (
    DEFAULT_PMM,
    TRANSIT_SYSTEM_CODE,
    VPCD_PORTS,
    EmulatedFelicaTag,
    VirtualFelicaCard,
)
from drivers.cards.tools import pcsc_readers
from terminal.errors import DeviceError
from terminal.ports import CardEvent, CardReader

VPCD_READERS = ("Virtual PCD 00 00", "Virtual PCD 00 01")
PID_FILE = Path("/tmp/madoguchi-tests-pcscd.pid")

__all__ = [
    "DEFAULT_PMM",
    "FIXTURES",
    "PID_FILE",
    "TRANSIT_SYSTEM_CODE",
    "VPCD_PORTS",
    "VPCD_READERS",
    "EmulatedFelicaTag",
    "Pcscd",
    "VirtualFelicaCard",
    "collect",
    "free_udp_port",
    "pcscd_fixture",
    "udp_tag_fixture",
    "vpcd_card_fixture",
    "vpcd_cards",
    "wait_event",
]


def _pcscd_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
        if name == "pcscd" and state != "Z":
            pids.append(int(entry.name))
    return pids


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.05)


@dataclass
class Pcscd:
    """The machine's pcscd; ``owned`` when this test suite started it."""

    pid: int
    owned: bool
    binary: str = field(default="pcscd")

    @classmethod
    def ensure(cls) -> Pcscd:
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        running = _pcscd_pids()
        if running:
            recorded = PID_FILE.read_text().strip() if PID_FILE.exists() else ""
            return cls(pid=running[0], owned=recorded == str(running[0]), binary=binary)
        if not Path(binary).exists() or not Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
                                                 ).exists():
            pytest.skip("PC/SC peers need Debian packages pcscd and vsmartcard-vpcd")
        daemon = cls(pid=0, owned=True, binary=binary)
        daemon.start()
        return daemon

    def start(self) -> None:
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        # A shell starts pcscd in the background and exits: pcscd outlives the test session.
        out = subprocess.run(["sh", "-c", f"{self.binary} -f >/dev/null 2>&1 & echo $!"],
                             check=True, capture_output=True, text=True)
        self.pid = int(out.stdout.strip())
        PID_FILE.write_text(str(self.pid))
        _wait_for(lambda: all(r in pcsc_readers() for r in VPCD_READERS), 10,
                  "pcscd to list the vpcd readers")

    def restart(self) -> None:
        """Stop and start pcscd (only one this suite started)."""
        assert self.owned, "never restart a pcscd the test suite did not start"
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 15)
        _wait_for(lambda: self.pid not in _pcscd_pids(), 10, "pcscd to stop")
        self.start()


@pytest.fixture(scope="session", name="pcscd")
def pcscd_fixture() -> Pcscd:
    return Pcscd.ensure()


def free_udp_port() -> int:
    """A UDP port nobody uses right now (each test gets its own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reader_empty(reader: str, timeout: float = 3.0) -> None:
    """Wait until pcscd sees no card on ``reader`` (flush between tests)."""
    from smartcard import scard  # type: ignore[import-untyped]

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return
    try:
        def empty() -> bool:
            _, states = scard.SCardGetStatusChange(context, 0,
                                                   [(reader, scard.SCARD_STATE_UNAWARE)])
            return bool(states and states[0][1] & scard.SCARD_STATE_EMPTY)

        _wait_for(empty, timeout, f"{reader} to be empty")
    finally:
        scard.SCardReleaseContext(context)


@contextlib.contextmanager
def vpcd_cards() -> Iterator[Callable[..., VirtualFelicaCard]]:
    """Make virtual cards; all are removed (and the readers flushed) at the end."""
    made: list[VirtualFelicaCard] = []

    def make(idm: bytes, **options: object) -> VirtualFelicaCard:
        card = VirtualFelicaCard(idm, **options)  # type: ignore[arg-type]
        made.append(card)
        return card

    try:
        yield make
    finally:
        for card in made:
            card.remove()
        for port in {c.port for c in made}:
            reader_empty(VPCD_READERS[VPCD_PORTS.index(port)])


def collect(reader: CardReader, seconds: float) -> list[CardEvent | DeviceError]:
    """Every event and error ``reader`` gives within ``seconds``."""
    out: list[CardEvent | DeviceError] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = reader.poll(left)
        except DeviceError as exc:
            out.append(exc)
            continue
        if event is not None:
            out.append(event)
    return out


def wait_event(reader: CardReader, timeout: float,
               want: Callable[[CardEvent | DeviceError], bool] = lambda _: True
               ) -> CardEvent | DeviceError:
    """The first event or error accepted by ``want`` within ``timeout`` (others skipped)."""
    deadline = time.monotonic() + timeout
    seen: list[object] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            item: CardEvent | DeviceError | None = reader.poll(left)
        except DeviceError as exc:
            item = exc
        if item is not None:
            if want(item):
                return item
            seen.append(item)
    raise AssertionError(f"no matching event from {reader.name} within {timeout} s; "
                         f"saw {seen!r}")


@pytest.fixture(name="vpcd_card")
def vpcd_card_fixture(pcscd: Pcscd) -> Iterator[Callable[..., VirtualFelicaCard]]:
    """A factory of virtual cards on vpcd (removed, readers flushed, after the test)."""
    with vpcd_cards() as make:
        yield make


@pytest.fixture(name="udp_tag")
def udp_tag_fixture() -> Iterator[Callable[..., EmulatedFelicaTag]]:
    """A factory of emulated tags, each on a fresh UDP port (removed after the test)."""
    made: list[EmulatedFelicaTag] = []

    def make(idm: bytes, **options: object) -> EmulatedFelicaTag:
        tag = EmulatedFelicaTag(free_udp_port(), idm, **options)  # type: ignore[arg-type]
        made.append(tag)
        return tag

    yield make
    for tag in made:
        tag.remove()


FIXTURES = (pcscd_fixture, vpcd_card_fixture, udp_tag_fixture)
