"""A seeded fault-injection HTTP proxy for sync tests.

It sits between the uploader and the server and, request by request, passes, delays, drops the
request, drops the response after the server committed, resets the connection, answers 5xx
without forwarding, duplicates a request, or replays an older request late (reordering).
Every decision comes from a seeded ``random.Random``, so a failing schedule can be replayed.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("pass", "delay", "drop_request", "drop_response", "reset", "error_5xx",
          "duplicate", "replay_late")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class FaultProxy:
    """``with FaultProxy(target, seed, fault_rate) as proxy: proxy.url ...``"""

    def __init__(self, target: str, seed: int, fault_rate: float = 0.4) -> None:
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.held: tuple[str, str, dict[str, str], bytes] | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.timeout = 0.02
        self.stopping = threading.Event()
        # Our own accept loop rather than serve_forever/shutdown, whose handshake was seen to
        # hang once in a few thousand schedules: the loop checks the event every 20 ms.
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            self.server.handle_request()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.server.server_close()

    def choose(self) -> str:
        with self.lock:
            fault = "pass" if self.rng.random() >= self.fault_rate else self.rng.choice(FAULTS[1:])
            self.counts[fault] += 1
            return fault

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.target_host, self.target_port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test prints the fault counts."""

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                request = (self.command, self.path, headers, body)
                fault = proxy.choose()
                if fault == "drop_request":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "reset":
                    self._reset()
                    return
                if fault == "error_5xx":
                    self._reply(proxy.rng.choice((500, 502, 503, 504)), [], b"injected fault")
                    return
                if fault == "delay":
                    time.sleep(proxy.rng.uniform(0.0, 0.05))
                if fault == "replay_late":
                    with proxy.lock:
                        late, proxy.held = proxy.held, request
                    if late is not None:  # an older request arrives after newer ones
                        proxy.forward(*late)
                status, response_headers, data = proxy.forward(*request)
                if fault == "duplicate":
                    proxy.forward(*request)
                if fault == "drop_response":  # the server committed; the client never hears
                    self._reset()
                    return
                self._reply(status, response_headers, data)

            def _reset(self) -> None:
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return Handler
