"""Fixtures for the sync client tests: a small fake server (http.server in a thread) speaking
``madoguchi-sync/1``, and journals built with the real journal code."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sync import protocol
from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey

TERMINAL = "hachinohe-museum-01"
FACILITY = "hachinohe-museum"
START = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeState:
    """What the fake server holds and how it misbehaves (tests tweak these)."""

    keys: dict[str, str] = field(default_factory=dict)  # terminal -> public key
    lines: dict[str, list[str]] = field(default_factory=dict)
    max_store: int | None = None  # store at most this many entries per request
    fail: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # queued errors
    config: dict[str, Any] | None = None
    server_key: TerminalKey = field(default_factory=TerminalKey.generate)
    codes: set[str] = field(default_factory=lambda: {"CODE-1"})
    requests: list[Recorded] = field(default_factory=list)
    status_posts: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _FakeHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, data: object | None = None,
               headers: dict[str, str] | None = None) -> None:
        body = b"" if data is None else json.dumps(data).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        state = self.server.state
        headers = {k: v for k, v in self.headers.items()}
        state.requests.append(Recorded(self.command, self.path, headers, body))
        if state.fail:
            status, extra = state.fail.pop(0)
            self._reply(status, {"error": "fake", "message": "queued failure"}, extra)
            return
        url = urlsplit(self.path)
        if url.path == protocol.enroll_path():
            self._enroll(json.loads(body))
            return
        terminal = headers.get(protocol.HEADER_TERMINAL, "")
        key = state.keys.get(terminal)
        if key is None or not protocol.check_request_signature(
                key, headers, self.command, self.path, body):
            self._reply(401, {"error": "unauthenticated", "message": "bad signature"})
            return
        self._route(terminal, url.path, parse_qs(url.query), body)

    def _enroll(self, data: dict[str, Any]) -> None:
        state = self.server.state
        if data.get("code") not in state.codes:
            self._reply(403, {"error": "code", "message": "unknown or used code"})
            return
        state.codes.discard(data["code"])
        state.keys[data["terminal"]] = data["public_key"]
        self._reply(200, {"terminal": data["terminal"], "facility": data["facility"],
                          "server_public_key": state.server_key.public_key_b64})

    def _route(self, terminal: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        state = self.server.state
        stored = state.lines.setdefault(terminal, [])
        if path == protocol.head_path(terminal):
            self._reply(200, {"ack": len(stored), "head_hash": None, "server_time": ""})
        elif path == protocol.entries_path(terminal) and self.command == "POST":
            self._push(stored, json.loads(body)["entries"])
        elif path == protocol.entries_path(terminal):
            start, limit = int(query["from_seq"][0]), int(query["limit"][0])
            self._reply(200, {"entries": stored[start - 1:start - 1 + limit],
                              "ack": len(stored)})
        elif path == protocol.config_path(terminal):
            self._reply(204) if state.config is None else self._reply(200, state.config)
        elif path == protocol.status_path(terminal):
            state.status_posts.append(json.loads(body))
            self._reply(204)
        else:
            self._reply(404, {"error": "not_found", "message": path})

    def _push(self, stored: list[str], lines: list[str]) -> None:
        state = self.server.state
        counts = {"stored": 0, "duplicates": 0}
        gap = None
        for line in lines:
            seq = json.loads(line)["seq"]
            if seq <= len(stored):
                if stored[seq - 1] != line:
                    self._reply(409, {"error": "fork", "seq": seq, "ack": len(stored),
                                      "message": "different entry"})
                    return
                counts["duplicates"] += 1
            elif seq == len(stored) + 1:
                if state.max_store is not None and counts["stored"] >= state.max_store:
                    break
                stored.append(line)
                counts["stored"] += 1
            else:
                gap = {"expected": len(stored) + 1, "found": seq}
                break
        self._reply(200, {"ack": len(stored), "gap": gap, "server_time": "", **counts})

    do_GET = do_POST = _handle


class _FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class FakeServer:
    url: str
    state: FakeState


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    httpd = _FakeHTTPServer(FakeState())
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield FakeServer(f"http://127.0.0.1:{httpd.server_address[1]}", httpd.state)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def make_journal(path: Path, key: TerminalKey, count: int, terminal: str = TERMINAL,
                 kind: str = "cash.in",
                 body: Callable[[int], dict[str, Any]] | None = None) -> None:
    """Append ``count`` simple entries to the journal at ``path``."""
    with Journal.open(path, terminal, key) as journal:
        base = journal.last_seq
        journal.append_many(
            (kind, body(i) if body else {"amount": 100, "clerk": "c1", "reason": f"r{base + i}"},
             START + timedelta(seconds=base + i))
            for i in range(count)
        )


@pytest.fixture
def key() -> TerminalKey:
    return TerminalKey.generate()


@pytest.fixture
def journal_maker() -> Callable[..., None]:
    return make_journal


@pytest.fixture
def kiosk_config(tmp_path: Path) -> Any:
    """The museum sample config with its storage in ``tmp_path/data``."""
    import dataclasses

    from kiosk_config.loader import load_config

    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "kiosk_config" / "samples" / "museum-01.toml")
    data = tmp_path / "data"
    return dataclasses.replace(config, data_dir=data, journal_path=data / "journal.db",
                               key_path=data / "terminal.key", clerks_path=data / "clerks.toml")
