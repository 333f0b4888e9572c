"""Benchmark: tap-to-event latency of the card readers against the raw limit of each path.

PC/SC: a virtual FeliCa card connects to vpcd (pcscd's "Virtual PCD 00 00"); ours is
``PcscReader`` until ``CardTapped``; raw is a bare pyscard loop of SCardConnect + transmit
``FF CA 00 00 00`` until the IDm comes back. nfcpy: an emulated tag on nfcpy's udp driver;
ours is ``NfcpyReader``; raw is a bare ``clf.sense`` loop. Both are measured in the same
run, one block after the other (so they do not see each other's taps), each tap after a
random pause (the card arrives at any phase of the polling). Needs pcscd + vsmartcard-vpcd
(started here when pcscd is not running).

    python bench/tap_latency.py [--n 20] [--n-nfc 16]
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nfc  # type: ignore[import-untyped]
import nfc.clf  # type: ignore[import-untyped]
from smartcard import scard  # type: ignore[import-untyped]

from drivers.cards.felica import GET_DATA_UID
from drivers.cards.nfcpy_reader import POLLING_REQUEST, NfcpyReader
from drivers.cards.pcsc import PcscReader
from drivers.cards.simulator import EmulatedFelicaTag, VirtualFelicaCard
from drivers.cards.tools import pcsc_readers
from terminal.errors import DeviceError
from terminal.ports import CardReader, CardRemovedEvent, CardTapped

READER = "Virtual PCD 00 00"
IDM = bytes.fromhex("0101BE0C00000001")
PCSC_PERIOD = 0.4  # pcscd polls a reader without interrupt support (vpcd) every ~400 ms
UDP_PERIOD = 1.05  # nfcpy udp: a polling without answer waits 1 s

def ensure_pcscd() -> None:
    if READER in pcsc_readers():
        return
    Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
    subprocess.run(["sh", "-c", "pcscd -f >/dev/null 2>&1 &"], check=True)
    deadline = time.monotonic() + 10
    while READER not in pcsc_readers():
        if time.monotonic() > deadline:
            raise SystemExit("pcscd with vsmartcard-vpcd did not come up: install pcscd and "
                             "vsmartcard-vpcd")
        time.sleep(0.1)


def wait_for(reader: CardReader, kind: type, timeout: float = 10.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = reader.poll(deadline - time.monotonic())
        except DeviceError as exc:
            raise SystemExit(f"reader failed during the bench: {exc}") from exc
        if isinstance(event, kind):
            return time.monotonic()
    raise SystemExit(f"no {kind.__name__} from {reader.name} within {timeout} s")


def ours_tap(reader: CardReader, tap: Callable[[], None], remove: Callable[[], None],
             pause: float) -> float:
    time.sleep(random.uniform(0, pause))
    started = time.monotonic()
    tap()
    latency = wait_for(reader, CardTapped) - started
    remove()
    wait_for(reader, CardRemovedEvent)
    return latency


def _connect_get_data(context: object) -> bytes | None:
    """One bare connect + GET DATA + disconnect; the IDm, or None when there is no card."""
    hresult, handle, _ = scard.SCardConnect(context, READER, scard.SCARD_SHARE_SHARED,
                                            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    hresult, response = scard.SCardTransmit(handle, scard.SCARD_PCI_T1, list(GET_DATA_UID))
    scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
    return bytes(response[:8]) if hresult == scard.SCARD_S_SUCCESS else None


def raw_pcsc_tap(context: object, card: VirtualFelicaCard) -> float:
    time.sleep(random.uniform(0, PCSC_PERIOD))
    started = time.monotonic()
    card.tap()
    while _connect_get_data(context) != IDM:
        if time.monotonic() - started > 10:
            raise SystemExit("raw PC/SC loop: the card never answered")
        time.sleep(0.001)
    latency = time.monotonic() - started
    card.remove()
    while _connect_get_data(context) is not None:
        if time.monotonic() - started > 20:
            raise SystemExit("raw PC/SC loop: the card never left")
        time.sleep(0.01)
    return latency


class RawSenseLoop:
    """A bare nfcpy sense loop in a thread, noting when a card appears and disappears."""

    def __init__(self, path: str) -> None:
        self.clf = nfc.ContactlessFrontend(path)
        self.seen: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        target = nfc.clf.RemoteTarget("212F", sensf_req=bytearray(POLLING_REQUEST))
        present = False
        while not self._stop.is_set():
            found = self.clf.sense(target) is not None
            if found != present:
                present = found
                self.seen.append((time.monotonic(), found))

    def wait(self, since: float, present: bool) -> float:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for at, state in self.seen:
                if at >= since and state == present:
                    return at
            time.sleep(0.001)
        raise SystemExit("raw nfcpy sense loop: no change within 10 s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.clf.close()


def raw_nfc_tap(loop: RawSenseLoop, tag: EmulatedFelicaTag) -> float:
    time.sleep(random.uniform(0, UDP_PERIOD))
    started = time.monotonic()
    tag.tap()
    latency = loop.wait(started, True) - started
    removed = time.monotonic()
    tag.remove()
    loop.wait(removed, False)
    return latency


def summary(path: str, ours: list[float], raw: list[float], raw_what: str) -> str:
    def p99(xs: list[float]) -> float:
        return statistics.quantiles(xs, n=100, method="inclusive")[98]

    med, raw_med = statistics.median(ours), statistics.median(raw)
    return (f"{path}: tap->event median {med * 1000:.0f} ms, p99 {p99(ours) * 1000:.0f} ms "
            f"over {len(ours)} taps; raw {raw_what} median {raw_med * 1000:.0f} ms, p99 "
            f"{p99(raw) * 1000:.0f} ms; ratio {med / raw_med:.2f} (median), "
            f"{p99(ours) / p99(raw):.2f} (p99)")


def bench_pcsc(n: int) -> tuple[str, float]:
    ensure_pcscd()
    card = VirtualFelicaCard(IDM)
    _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    ours: list[float] = []
    raw: list[float] = []
    with PcscReader(READER, "bench") as reader:
        for _ in range(n):
            ours.append(ours_tap(reader, card.tap, card.remove, PCSC_PERIOD))
    for _ in range(n):
        raw.append(raw_pcsc_tap(context, card))
    scard.SCardReleaseContext(context)
    return summary("pcsc (vpcd)", ours, raw, "connect+GET DATA loop"), (
        statistics.median(ours) / statistics.median(raw))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_nfc(n: int) -> tuple[str, float]:
    port = free_port()
    tag = EmulatedFelicaTag(port, IDM)
    ours: list[float] = []
    raw: list[float] = []
    with NfcpyReader(tag.path, "bench") as reader:
        for _ in range(n):
            ours.append(ours_tap(reader, tag.tap, tag.remove, UDP_PERIOD))
    loop = RawSenseLoop(tag.path)
    try:
        for _ in range(n):
            raw.append(raw_nfc_tap(loop, tag))
    finally:
        loop.close()
    return summary("nfcpy (udp)", ours, raw, "sense loop"), (
        statistics.median(ours) / statistics.median(raw))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="taps per PC/SC measurement")
    parser.add_argument("--n-nfc", type=int, default=16, help="taps per nfcpy measurement")
    args = parser.parse_args()
    pcsc_line, pcsc_ratio = bench_pcsc(max(2, args.n))
    print(pcsc_line, flush=True)
    nfc_line, nfc_ratio = bench_nfc(max(2, args.n_nfc))
    print(nfc_line, flush=True)
    print(f"tap latency vs raw (median): pcsc x{pcsc_ratio:.2f}, nfcpy x{nfc_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
