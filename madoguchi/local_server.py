"""A central server in a background thread of this process (the demo's "local server")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from sync.server.app import create_app
from sync.server.db import make_engine, migrate
from sync.server.enroll import create_code, enroll
from sync.server.keys import ensure_server_key
from terminal.journal import TerminalKey


def prepare_database(database_url: str) -> str:
    """Migrate and make sure the server has its key; the server public key."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            public_key, _ = ensure_server_key(conn)
        return public_key
    finally:
        engine.dispose()


DEMO_ADMIN = ("admin", "madoguchi-demo")
"""The demo console's administrator (user, password): a local demo server only, never a real
one (``madoguchi server create-admin`` sets a real administrator's password)."""


def create_demo_admin(database_url: str) -> tuple[str, str]:
    """Create (or reset) the demo administrator; returns (user, password)."""
    from sync.server.admin import create_admin

    engine = make_engine(database_url)
    try:
        create_admin(engine, *DEMO_ADMIN, replace=True)
    finally:
        engine.dispose()
    return DEMO_ADMIN


def enroll_locally(database_url: str, facility: str, terminal: str, key: TerminalKey) -> None:
    """Enroll a terminal straight through the server's API (the demo has no installer)."""
    engine = make_engine(database_url)
    try:
        code, _expires = create_code(engine, facility, terminal, 1)
        enroll(engine, "local-demo", {"code": code, "terminal": terminal,
                                      "facility": facility, "public_key": key.public_key_b64})
    finally:
        engine.dispose()


@contextmanager
def local_server(database_url: str) -> Iterator[str]:
    """Serve the API on 127.0.0.1 (a free port) until the block ends; yields the base URL."""
    prepare_database(database_url)
    config = uvicorn.Config(create_app(database_url), host="127.0.0.1", port=0,
                            log_level="warning", access_log=False, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="madoguchi-local-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local central server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
