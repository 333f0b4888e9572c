"""Byte transports for ZVT: serial (DLE framing, ACK/NAK, retries) and TCP (plain APDUs).

Both move whole APDUs: ``send_apdu`` returns once the peer took the APDU (serial: its ACK
byte), ``receive_apdu(timeout)`` returns the next APDU or ``None`` when none *started* within
``timeout``. Library errors are translated here: ``serial.SerialException`` and socket errors
become ``DeviceUnavailable``, silence becomes ``DeviceTimeout`` (or ``None``), protocol
violations ``ZvtProtocolError``.

Timeouts (spec names): T3 = 5 s, the wait for the ACK byte and for the PT's application
acknowledgement (80 00); T4 = 180 s, the wait for the PT's next message while a command runs
(intermediate status restarts it). The inter-byte gap inside a frame is not given in the
sources we found: 1 s here, configurable. A NAK (or a bad CRC we receive) is retried 3 times;
a missing ACK is *not* resent blindly: the PT may have taken the command and only its ACK got
lost, and a resent authorization could charge twice. It is reported as a timeout instead.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import serial  # type: ignore[import-untyped]
import serial.tools.list_ports  # type: ignore[import-untyped]

from drivers.zvt.codec import (
    ACK,
    NAK,
    Apdu,
    FrameReader,
    ZvtProtocolError,
    apdu_lengths,
    decode_apdu,
    encode_apdu,
    frame,
)
from terminal.errors import DeviceTimeout, DeviceUnavailable

Policy = Literal["ack", "nak", "ignore"]
ZVT_TCP_PORT = 20007


@dataclass(frozen=True, slots=True)
class ZvtTimeouts:
    ack: float = 5.0  # T3
    completion: float = 180.0  # T4
    char: float = 1.0  # inter-byte gap inside a serial frame (our choice)
    connect: float = 10.0  # TCP connect


class ApduTransport(Protocol):
    name: str

    def send_apdu(self, apdu: Apdu) -> None: ...

    def receive_apdu(self, timeout: float) -> Apdu | None: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


def list_serial_ports() -> list[str]:
    """Serial ports present on this machine (for ``madoguchi devices``)."""
    return sorted(port.device for port in serial.tools.list_ports.comports())


def _always_ack() -> Policy:
    return "ack"


def _never_corrupt(attempt: int) -> bool:
    return False


class SerialTransport:
    """ZVT over RS-232 (9600 8N2 by default): DLE STX ... DLE ETX CRC, ACK/NAK, 3 retries."""

    def __init__(self, port: str, *, baudrate: int = 9600, timeouts: ZvtTimeouts | None = None,
                 retries: int = 3, pace_baud: int | None = None) -> None:
        self.name = port
        self._t = timeouts or ZvtTimeouts()
        self._retries = retries
        self._pace = pace_baud
        self._pending = bytearray()
        self.bytes_moved = 0
        # Hooks for the simulator's fault injection; the driver leaves them alone.
        self.incoming_policy: Callable[[], Policy] = _always_ack
        self.corrupt_outgoing: Callable[[int], bool] = _never_corrupt
        try:
            # pyserial sets DTR/RTS on open and already ignores ENOTTY (ptys) there.
            self._port = serial.Serial(port, baudrate=baudrate, bytesize=serial.EIGHTBITS,
                                       parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_TWO,
                                       timeout=0.02, write_timeout=self._t.ack)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(
                f"決済端末のポート {port} を開けません (cannot open ZVT port {port}: {exc}); "
                "check the cable and the port name (madoguchi devices)") from exc

    def _lost(self, exc: BaseException) -> DeviceUnavailable:
        return DeviceUnavailable(
            f"決済端末との接続が切れました (ZVT serial link {self.name} failed: {exc}); "
            "check the cable, then resolve the pending payment")

    def _write(self, data: bytes) -> None:
        if self._pace:  # emulate the line: the bytes arrive after their transmit time
            time.sleep(len(data) * 10 / self._pace)
        try:
            self._port.write(data)
        except serial.SerialTimeoutException as exc:
            raise DeviceTimeout(f"ZVT port {self.name} did not take our bytes: {exc}") from exc
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc
        self.bytes_moved += len(data)

    def _next_byte(self, deadline: float) -> int | None:
        while not self._pending:
            try:
                chunk = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                raise self._lost(exc) from exc
            if chunk:
                self._pending += chunk
                self.bytes_moved += len(chunk)
            elif time.monotonic() >= deadline:
                return None
        return self._pending.pop(0)

    def discard_input(self) -> None:
        self._pending.clear()
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise self._lost(exc) from exc

    def close(self) -> None:
        # closing a port whose device vanished: nothing left to release
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()

    def send_apdu(self, apdu: Apdu) -> None:
        payload = encode_apdu(apdu)
        for attempt in range(self._retries + 1):
            data = frame(payload)
            if self.corrupt_outgoing(attempt):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            self._write(data)
            answer = self._await_ack(time.monotonic() + self._t.ack)
            if answer == ACK:
                return
            if answer is None:
                raise DeviceTimeout(
                    f"決済端末が応答しません (ZVT terminal on {self.name} did not acknowledge "
                    f"{apdu} within T3 = {self._t.ack}s): check that it is on and connected")
        raise ZvtProtocolError(
            f"決済端末が受信を拒否しました (ZVT terminal on {self.name} refused {apdu} "
            f"{self._retries + 1} times with NAK): check the cable, baud rate and noise")

    def _await_ack(self, deadline: float) -> int | None:
        while True:
            byte = self._next_byte(deadline)
            if byte is None or byte in (ACK, NAK):
                return byte

    def receive_apdu(self, timeout: float) -> Apdu | None:
        reader = FrameReader()
        first_deadline = deadline = time.monotonic() + timeout
        bad = 0
        while True:
            byte = self._next_byte(deadline)
            if byte is None and not reader.in_frame:
                return None
            try:
                if byte is None:
                    reader.reset()
                    raise ZvtProtocolError(f"ZVT frame cut off (gap over {self._t.char}s)")
                payload = reader.feed(byte)
                if payload is None:
                    if reader.in_frame:
                        deadline = time.monotonic() + self._t.char
                    continue
                apdu = decode_apdu(payload)
            except ZvtProtocolError as exc:
                bad += 1
                self._write(bytes([NAK]))
                if bad > self._retries:
                    raise ZvtProtocolError(
                        f"決済端末からの電文が壊れています (ZVT frames from {self.name} failed "
                        f"{bad} times, last: {exc}): check the cable and baud rate") from exc
                deadline = time.monotonic() + self._t.ack  # the peer resends within its T3
                continue
            policy = self.incoming_policy()
            if policy == "ignore":
                deadline = first_deadline
                continue
            self._write(bytes([ACK if policy == "ack" else NAK]))
            if policy == "ack":
                return apdu
            deadline = time.monotonic() + self._t.ack


class TcpTransport:
    """ZVT over TCP (port 20007): APDUs back to back, no DLE framing, no ACK bytes."""

    def __init__(self, sock: socket.socket, name: str, timeouts: ZvtTimeouts | None = None) -> None:
        self.name = name
        self._sock = sock
        self._t = timeouts or ZvtTimeouts()
        self._buf = bytearray()
        self.bytes_moved = 0
        self.incoming_policy: Callable[[], Policy] = _always_ack

    @classmethod
    def connect(cls, host: str, port: int = ZVT_TCP_PORT,
                timeouts: ZvtTimeouts | None = None) -> TcpTransport:
        t = timeouts or ZvtTimeouts()
        try:
            sock = socket.create_connection((host, port), timeout=t.connect)
        except OSError as exc:
            raise DeviceUnavailable(
                f"決済端末に接続できません (cannot connect to ZVT terminal {host}:{port}: {exc}); "
                "check its address and that it is on") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, f"{host}:{port}", t)

    def _lost(self, exc: BaseException | str) -> DeviceUnavailable:
        return DeviceUnavailable(
            f"決済端末との接続が切れました (ZVT link {self.name}: {exc}); "
            "check the network, then resolve the pending payment")

    def send_apdu(self, apdu: Apdu) -> None:
        data = encode_apdu(apdu)
        try:
            self._sock.settimeout(self._t.ack)
            self._sock.sendall(data)
        except TimeoutError as exc:
            raise DeviceTimeout(f"ZVT terminal {self.name} did not take {apdu}") from exc
        except OSError as exc:
            raise self._lost(exc) from exc
        self.bytes_moved += len(data)

    def _fill(self, n: int, deadline: float) -> bool:
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                self._sock.settimeout(remaining)
                chunk = self._sock.recv(4096)
            except TimeoutError:
                return False
            except OSError as exc:
                raise self._lost(exc) from exc
            if not chunk:
                raise self._lost("the terminal closed the connection")
            self._buf += chunk
            self.bytes_moved += len(chunk)
        return True

    def _take(self, n: int, deadline: float) -> bytes:
        if not self._fill(n, deadline):
            raise ZvtProtocolError(f"APDU from {self.name} cut off (gap over {self._t.char}s)")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def receive_apdu(self, timeout: float) -> Apdu | None:
        while True:
            if not self._fill(1, time.monotonic() + timeout):
                return None
            rest = time.monotonic() + self._t.char
            head = self._take(3, rest)
            header, length = apdu_lengths(head)
            if header == 5:
                head += self._take(2, rest)
                header, length = apdu_lengths(head)
            apdu = decode_apdu(head + self._take(length, rest))
            if self.incoming_policy() == "ack":
                return apdu

    def discard_input(self) -> None:
        self._buf.clear()
        try:
            self._sock.setblocking(False)
            while self._sock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            raise self._lost(exc) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
