"""Wire-level simulators for the card port (for tests, benches and the demo).

- ``VirtualFelicaCard``: a FeliCa card on a vsmartcard ``vpcd`` reader (pcscd's
  "Virtual PCD 00 00" listens on TCP 35963, "Virtual PCD 00 01" on 35964). It speaks the
  vpcd socket protocol: every message is a 2-byte big-endian length + payload; a 1-byte
  payload is control (0 power off, 1 power on, 2 reset, 4 send the ATR), anything else an
  APDU to answer. ``tap()`` connects (the card enters the field), ``remove()`` disconnects.
- ``EmulatedFelicaTag``: a FeliCa (Type 3) tag emulated by nfcpy's own ``udp`` driver in
  listen mode, read by ``NfcpyReader("udp:localhost:PORT")``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

import nfc  # type: ignore[import-untyped]
import nfc.clf  # type: ignore[import-untyped]

from drivers.cards.felica import (
    GET_DATA_UID,
    INLIST_FELICA_212,
    WILDCARD_SYSTEM_CODE,
)
from terminal.errors import DeviceUnavailable

FELICA_ATR = bytes.fromhex("3B8F8001804F0CA0000003061100 3B 0000000042".replace(" ", ""))
DEFAULT_PMM = bytes.fromhex("0120220427674EFF")  # a transit-card style PMm
TRANSIT_SYSTEM_CODE = 0x0003
VPCD_PORTS = (35963, 35964)
SW_OK = b"\x90\x00"
SW_NOT_SUPPORTED = b"\x6a\x81"


def _check_card(idm: bytes, pmm: bytes, system_code: int) -> None:
    if len(idm) != 8 or len(pmm) != 8 or not 0 <= system_code <= 0xFFFF:
        raise ValueError("a FeliCa card has an 8-byte IDm, an 8-byte PMm and a 16-bit system code")


def polling_response(idm: bytes, pmm: bytes, system_code: int) -> bytes:
    """A Polling response with request code 01: ``14 01 IDm PMm SC``."""
    return bytes([20, 1]) + idm + pmm + system_code.to_bytes(2, "big")


class VirtualFelicaCard:
    """A FeliCa card for vpcd. ``script`` overrides answers: APDU -> response bytes, or
    None to drop the connection when that APDU arrives (the card pulled mid-read)."""

    def __init__(self, idm: bytes, pmm: bytes = DEFAULT_PMM,
                 system_code: int = TRANSIT_SYSTEM_CODE, *, port: int = VPCD_PORTS[0],
                 host: str = "127.0.0.1", atr: bytes = FELICA_ATR,
                 script: dict[bytes, bytes | None] | None = None,
                 answers_polling: bool = False) -> None:
        _check_card(idm, pmm, system_code)
        self.idm, self.pmm, self.system_code = idm, pmm, system_code
        self.port, self.host, self.atr = port, host, atr
        self.script = dict(script or {})
        self.answers_polling = answers_polling
        self.apdus: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def present(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tap(self, timeout: float = 5.0) -> None:
        """Put the card on the reader (connect to vpcd; retried until ``timeout``)."""
        self.remove()
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise DeviceUnavailable(
                        f"vpcd does not listen on {self.host}:{self.port} ({exc}): is pcscd "
                        "running with vsmartcard-vpcd installed?") from exc
                time.sleep(0.1)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                        name=f"vpcd-card:{self.port}")
        self._thread.start()

    def remove(self) -> None:
        """Take the card off the reader (disconnect from vpcd)."""
        sock, thread = self._sock, self._thread
        self._sock = self._thread = None
        if sock is not None:
            with contextlib.suppress(OSError):  # already disconnected (vpcd went away)
                sock.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join()

    close = remove

    def __enter__(self) -> VirtualFelicaCard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def answer(self, apdu: bytes) -> bytes | None:
        """The response to one APDU (None: drop the connection)."""
        if apdu in self.script:
            return self.script[apdu]
        if apdu == GET_DATA_UID:
            return self.idm + SW_OK
        if self.answers_polling and apdu[:4] == b"\xff\x00\x00\x00" and apdu[5:9] == (
            INLIST_FELICA_212
        ):
            wanted = int.from_bytes(apdu[10:12], "big")
            if wanted not in (WILDCARD_SYSTEM_CODE, self.system_code):
                return b"\xd5\x4b\x00" + SW_OK
            pol = polling_response(self.idm, self.pmm, self.system_code)
            return b"\xd5\x4b\x01\x01" + pol + SW_OK
        return SW_NOT_SUPPORTED

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = _recv_exact(sock, 2)
                payload = _recv_exact(sock, struct.unpack(">H", header)[0])
                if len(payload) == 1:
                    if payload[0] == 4:
                        _send(sock, self.atr)
                    continue
                self.apdus.append(payload)
                response = self.answer(payload)
                if response is None:
                    return
                _send(sock, response)
        except (EOFError, OSError):
            return
        finally:
            sock.close()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("vpcd closed the connection")
        data += chunk
    return data


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


class EmulatedFelicaTag:
    """A FeliCa tag on nfcpy's udp transport: answers Polling while tapped."""

    def __init__(self, port: int, idm: bytes, pmm: bytes = DEFAULT_PMM,
                 system_code: int = TRANSIT_SYSTEM_CODE, *, host: str = "localhost",
                 slice_seconds: float = 0.25) -> None:
        _check_card(idm, pmm, system_code)
        self.port, self.host = port, host
        self.idm, self.pmm, self.system_code = idm, pmm, system_code
        self._slice = slice_seconds
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def path(self) -> str:
        """The nfcpy path a reader uses to reach this tag."""
        return f"udp:{self.host}:{self.port}"

    @property
    def present(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tap(self) -> None:
        """Bring the tag into the field (start listening)."""
        self.remove()
        self._stop.clear()
        self._ready.clear()
        self._thread = threading.Thread(target=self._listen, daemon=True,
                                        name=f"udp-tag:{self.port}")
        self._thread.start()
        self._ready.wait(5.0)
        if self._error is not None:
            raise DeviceUnavailable(f"emulated tag on {self.path} failed: {self._error}")

    def remove(self) -> None:
        """Take the tag out of the field (stop listening, close the socket)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    close = remove

    def __enter__(self) -> EmulatedFelicaTag:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _listen(self) -> None:
        self._error = None
        try:
            clf = nfc.ContactlessFrontend(self.path)
        except (OSError, nfc.clf.Error) as exc:
            self._error = exc
            self._ready.set()
            return
        target = nfc.clf.LocalTarget("212F")
        target.sensf_res = bytearray(polling_response(self.idm, self.pmm, self.system_code)[1:])
        try:
            self._ready.set()
            while not self._stop.is_set():
                clf.listen(target, self._slice)
        except (OSError, nfc.clf.Error) as exc:
            self._error = exc
        finally:
            clf.close()


__all__ = [
    "DEFAULT_PMM",
    "FELICA_ATR",
    "TRANSIT_SYSTEM_CODE",
    "VPCD_PORTS",
    "EmulatedFelicaTag",
    "VirtualFelicaCard",
    "polling_response",
]
