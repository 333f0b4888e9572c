"""A receipt printer simulator that speaks ESC/POS on the wire.

:class:`NetworkPrinterSimulator` listens on TCP (port 9100 like a network printer);
:class:`PtyPrinterSimulator` sits behind a pseudo-terminal (for ``file`` and ``serial``
connections). Both decode the stream with :class:`~drivers.printer.parser.EscposParser`
into pages of text, QR payloads, raster images, cuts and drawer kicks, and answer DLE EOT
status queries from a settable :class:`SimulatedState` (paper out, cover open...). While
the printer is not ready, print data is dropped (nothing prints) but status is answered.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from drivers.printer.escpos_bytes import PrinterStatus, status_bytes
from drivers.printer.parser import EscposParser, Page, Printout

Reply = Callable[[bytes], None]


@dataclass
class SimulatedState:
    online: bool = True
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False

    def status(self) -> PrinterStatus:
        return PrinterStatus(
            self.online, self.cover_open, self.paper_out, self.paper_near_end, self.error
        )


class PrinterSimulator:
    """The printer itself, whatever the transport: state, decoder, status answers."""

    def __init__(self, on_page: Callable[[Page], None] | None = None) -> None:
        self.state = SimulatedState()
        self.rejected_bytes = 0
        self.received = bytearray()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._reply: Reply | None = None
        self.on_page = on_page  # called with each page as it is cut (the demo panel)
        self._parser = EscposParser(on_status=self._answer, on_cut=self._cut)

    @property
    def printout(self) -> Printout:
        return self._parser.printout

    @property
    def pages(self) -> list[Page]:
        """Pages printed and cut so far."""
        with self._lock:
            return list(self._parser.printout.pages)

    def _cut(self, page: Page) -> None:
        if self.on_page is not None:
            self.on_page(page)

    def _answer(self, n: int) -> None:
        value = status_bytes(self.state.status()).get(n)
        if value is not None and self._reply is not None:
            self._reply(bytes([value]))

    def handle(self, data: bytes, reply: Reply) -> None:
        """Bytes from the host; ``reply`` sends status bytes back on the same link."""
        with self._lock:
            self.received += data
            self._reply = reply
            if self.state.status().ready:
                self._parser.feed(data)
            else:
                self._offline(data)
            self._changed.notify_all()

    def wait_pages(self, count: int, timeout: float = 5.0) -> list[Page]:
        """Wait until ``count`` pages were cut (tests, demo); returns the pages so far."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._parser.printout.pages) >= count, timeout)
            return list(self._parser.printout.pages)

    def wait_received(self, size: int, timeout: float = 5.0) -> bytes:
        """Wait until ``size`` bytes arrived; returns everything received."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= size, timeout)
            return bytes(self.received)

    def _offline(self, data: bytes) -> None:
        # Offline: only real-time commands (DLE EOT n) are executed; the rest never prints.
        pos = 0
        while (found := data.find(b"\x10\x04", pos)) != -1 and found + 2 < len(data):
            self.rejected_bytes += found - pos
            self.printout.status_queries.append(data[found + 2])
            self._answer(data[found + 2])
            pos = found + 3
        self.rejected_bytes += len(data) - pos


class NetworkPrinterSimulator(PrinterSimulator):
    """A network printer: TCP, raw ESC/POS (port 9100; pass ``port=0`` for a free one)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9100,
        on_page: Callable[[Page], None] | None = None,
    ) -> None:
        super().__init__(on_page)
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []

    def start(self) -> Self:
        self._spawn(self._accept)
        return self

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        self._clients = [c for c in self._clients if c.fileno() != -1]

    def _accept(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._server], [], [], 0.05)
            if not ready:
                continue
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._clients.append(client)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        with client:
            while not self._stop.is_set():
                ready, _, _ = select.select([client], [], [], 0.05)
                if not ready:
                    continue
                try:
                    data = client.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                self.handle(data, client.sendall)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._server.close()
        for client in self._clients:
            client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PtyPrinterSimulator(PrinterSimulator):
    """A printer behind a pseudo-terminal: open :attr:`path` as a file or serial port."""

    def __init__(self, on_page: Callable[[Page], None] | None = None) -> None:
        super().__init__(on_page)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no newline translation: a byte pipe
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def _write(self, data: bytes) -> None:
        os.write(self._master, data)

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: no slave side open at the moment
                continue
            if data:
                self.handle(data, self._write)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
