"""Two server processes on one PostgreSQL (as behind a load balancer), concurrent uploads of
the same journals through both: every entry stored exactly once, every ack complete."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
from madoguchi_testing import ROOT, cli_command
from server_harness import FACILITY, enroll_terminal, fill, pg_database, prepare
from sqlalchemy import func, select

from sync.client import ServerClient, ServerUnavailable
from sync.server.db import make_engine
from sync.server.models import Alarm, StoredEntry
from sync.uploader import Uploader
from terminal.journal import Journal, TerminalKey


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(database_url: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        cli_command("server", "run", "--database", database_url, "--port", str(port)),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _push(base: str, journal: Path, terminal: str, key: TerminalKey, batch: int,
          errors: list[str]) -> None:
    client = ServerClient(base, terminal, key, timeout=30)
    try:
        uploader = Uploader(journal, client, batch_size=batch)
        for _ in range(100):
            try:
                if uploader.push_once().complete:
                    return
            except ServerUnavailable:
                time.sleep(0.05)
        errors.append(f"{terminal} via {base}: never complete")
    except Exception as exc:  # collected for the assertion below
        errors.append(f"{terminal} via {base}: {exc!r}")
    finally:
        client.close()


def test_two_server_processes_one_postgresql(tmp_path: Path) -> None:
    with pg_database() as url, ExitStack() as stack:
        prepare(url)
        bases = [stack.enter_context(server_process(url)) for _ in range(2)]
        journals = []
        for n in range(3):
            terminal = f"lb-{n}"
            key = TerminalKey.load_or_create(tmp_path / f"{terminal}.key")
            path = tmp_path / f"{terminal}.db"
            with Journal.open(path, terminal, key) as journal:
                fill(journal, sales=60)
                expected = journal.last_seq
            enroll_terminal(bases[0], url, FACILITY, terminal, key)
            journals.append((terminal, key, path, expected))
        errors: list[str] = []
        threads = [
            threading.Thread(target=_push, args=(base, path, terminal, key, batch, errors))
            for terminal, key, path, _ in journals
            for base, batch in zip(bases, (7, 11), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                for terminal, _key, _path, expected in journals:
                    count = conn.execute(select(func.count()).select_from(StoredEntry)
                                         .where(StoredEntry.terminal == terminal)).scalar_one()
                    assert count == expected
                assert conn.execute(select(func.count()).select_from(Alarm)).scalar_one() == 0
        finally:
            engine.dispose()
