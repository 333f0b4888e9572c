"""No secret leaks into what a full flow leaves on disk.

The flow: ``madoguchi simulate`` (subprocess), ``journal export``, a real server on SQLite
(``server init``, ``create-admin`` with a password on stdin, ``enroll-code``), ``enroll`` and
``sync`` through the CLI, plus a short simulation whose card payments go over the wire to the
ZVT simulator (its ledger), はちのへポイント awards (simulate --cards), and what an
administrator downloads from the web console (CSV in UTF-8 and cp932, the journal export).
Every file left behind (journals with their WAL, exports,
ledgers, the server database, pinned keys, configs) and every log (each command's stdout and
stderr, the server's log records) is scanned for: Luhn-valid PAN-like digit runs, the demo
card IDm 012E4CD8A1B2C3D4, the terminal's private key outside its key file, the server's
private key outside its table, the admin password anywhere, the enrollment code in any log.
A control test plants a test card number to prove the scanner can fail.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pytest
import requests
from console.console_seed import csrf_of, login
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from madoguchi_testing import ROOT, SAMPLES, cli_command
from scanners import (
    Hit,
    describe,
    encodings,
    find_needles,
    find_pans,
    luhn_valid,
    merge,
    pem_body_lines,
    scan,
)
from server_harness import running_server, sqlite_url

from kiosk_config.loader import load_config
from terminal.day import TOKYO

IDM = bytes.fromhex("012E4CD8A1B2C3D4")  # madoguchi/devices.py DEMO_IDM, the demo card
ADMIN_PASSWORD = "Kur0-Hachi!nohe-2026-pw"
FACILITY, TERMINAL = "hachinohe-museum", "hachinohe-museum-01"
# The levels of ``madoguchi server run`` (root WARNING, uvicorn INFO with access log) and our
# own code at every level. Not SQLAlchemy's echo (INFO/DEBUG): it logs statement parameters
# and rows, the server key's PEM among them, by design of echo.
SERVER_LOGGERS = {
    "": logging.WARNING,
    "uvicorn": logging.INFO,
    "uvicorn.error": logging.INFO,
    "uvicorn.access": logging.INFO,
    "sync": logging.DEBUG,
    "madoguchi": logging.DEBUG,
    "terminal": logging.DEBUG,
    "drivers": logging.DEBUG,
}


@dataclass(frozen=True)
class Flow:
    root: Path
    logs: Path
    server_db: Path
    terminal_key: Path
    enrollment_code: str


def _key_material(pem: bytes, name: str) -> dict[str, bytes]:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    lines = {f"{name} PEM line {i}": line for i, line in enumerate(pem_body_lines(pem))}
    return merge(lines, encodings(f"{name} private bytes", raw))


class _Run:
    """Runs CLI commands, each one's stdout and stderr kept as log files."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.count = 0

    def __call__(self, *args: str, stdin: str = "", log_stdout: bool = True) -> str:
        self.count += 1
        result = subprocess.run(
            cli_command(*args), input=stdin, capture_output=True, text=True, timeout=300, cwd=ROOT
        )
        name = f"{self.count:02d}-{args[0]}-{args[1] if len(args) > 1 else ''}"
        (self.logs / f"{name}.stderr.log").write_text(result.stderr, "utf-8")
        if log_stdout:
            (self.logs / f"{name}.stdout.log").write_text(result.stdout, "utf-8")
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout


def _counter_config(root: Path) -> Path:
    """museum-01 with its storage under ``root/counter`` (catalogue path made absolute)."""
    text = (SAMPLES / "museum-01.toml").read_text("utf-8")
    catalogue = (SAMPLES / "catalogues" / "museum.toml").as_posix()
    assert 'catalogue = "catalogues/museum.toml"' in text
    text = text.replace('catalogue = "catalogues/museum.toml"', f'catalogue = "{catalogue}"')
    text += (
        '\n[storage]\ndata_dir = "counter"\njournal_path = "counter/museum.db"\n'
        'key_path = "counter/museum.key"\n'
    )
    path = root / "museum-01.toml"
    path.write_text(text, "utf-8")
    return path


@contextmanager
def _server_log(path: Path) -> Iterator[None]:
    """Every log record of the in-process server (any level) written to ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg, level in zip(loggers, SERVER_LOGGERS.values(), strict=True):
        lg.addHandler(handler)
        lg.setLevel(level)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        handler.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _cli_server(database_url: str, log: Path) -> Iterator[str]:
    """``madoguchi server run`` (its own log levels, access log on), stderr kept as a log."""
    port = _free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cli_command("server", "--database", database_url, "--port", str(port), "run"),
            stdout=err,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            yield base_url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _zvt_flow(root: Path) -> None:
    """A short business day whose card payments go over TCP to the ZVT simulator."""
    from drivers.zvt import ZvtPaymentTerminal
    from drivers.zvt.simulator import ZvtSimulator
    from madoguchi.bootstrap import build_counter, open_journal
    from madoguchi.simulate import SeededIds, SimClock, Simulation, sim_clerks

    zvt = root / "zvt"
    zvt.mkdir()
    config = load_config(SAMPLES / "museum-01.toml")
    config = replace(
        config, data_dir=zvt, journal_path=zvt / "journal.db", key_path=zvt / "terminal.key"
    )
    simulator = ZvtSimulator(zvt / "zvt-simulator-ledger.jsonl")
    port = simulator.serve_tcp()
    terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", port)
    try:
        with open_journal(
            config.journal_path, config.key_path, config.terminal_id, SeededIds(3)
        ) as journal:
            clock = SimClock(datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO))
            counter = build_counter(config, journal, clock, sim_clerks(), terminal)
            Simulation(counter, clock, random.Random(3)).run_day(12, close=True)
    finally:
        terminal.close()
        simulator.stop()
    assert (zvt / "zvt-simulator-ledger.jsonl").stat().st_size > 0


def _console_exports(base_url: str, folder: Path) -> None:
    """What an administrator downloads from the web console: the month's CSV in both
    encodings and the auditor's journal export."""
    session = login(base_url, "admin", ADMIN_PASSWORD)
    for encoding in ("utf-8-bom", "cp932-replace"):
        token = csrf_of(session.get(f"{base_url}/console/exports", timeout=30).text)
        csv = session.post(f"{base_url}/console/exports/csv", timeout=60, data={
            "csrf": token, "span": "month", "month": "2026-11", "encoding": encoding})
        assert csv.status_code == 200 and len(csv.content) > 200, csv.text[:300]
        (folder / f"console-{encoding}.csv").write_bytes(csv.content)
    token = csrf_of(session.get(f"{base_url}/console/exports", timeout=30).text)
    journal = session.post(f"{base_url}/console/exports/journal", timeout=60,
                           data={"csrf": token, "terminal": TERMINAL})
    assert journal.status_code == 200 and journal.content.count(b"\n") > 100
    (folder / "console-journal.jsonl").write_bytes(journal.content)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    root = tmp_path_factory.mktemp("secrets-flow")
    logs = root / "logs"
    logs.mkdir()
    run = _Run(logs)
    config = _counter_config(root)
    journal = root / "counter" / "museum.db"
    run(
        "simulate",
        "--config",
        str(config),
        "--journal",
        str(journal),
        "--sales",
        "40",
        "--days",
        "2",
        "--seed",
        "5",
        "--cards",
        "6",
    )
    run("journal", "export", str(journal), "-o", str(root / "export" / "museum.jsonl"))
    run("journal", "verify", str(journal))
    database_url = sqlite_url(root)
    server_db = root / "server.db"
    run("server", "--database", database_url, "init")
    run(
        "server",
        "--database",
        database_url,
        "create-admin",
        "--user",
        "admin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    out = run(
        "server",
        "--database",
        database_url,
        "enroll-code",
        "--facility",
        FACILITY,
        "--terminal",
        TERMINAL,
        log_stdout=False,
    )  # the code is the command's output
    code = out.split()[-1] if out.split() else ""
    assert len(code) >= 6, out
    # uvicorn configures its loggers when it starts: attach the log file after that
    with running_server(database_url) as base_url, _server_log(logs / "server.log"):
        run("enroll", "--server", base_url, "--code", code, "--config", str(config))
        run("sync", "--journal", str(journal), "--server", base_url)
    with _cli_server(database_url, logs / "server-run.stderr.log") as base_url:
        run("sync", "--journal", str(journal), "--server", base_url)  # nothing left to send
        seq1 = json.loads((root / "export" / "museum.jsonl").read_text("utf-8").split("\n")[1])
        page = requests.get(f"{base_url}/r/{TERMINAL}/1/{seq1['hash'][:16]}", timeout=30)
        assert page.status_code == 200  # the receipt QR page: genuine
        _console_exports(base_url, root / "export")
    run("server", "--database", database_url, "report", "--day", "2026-11-26")
    run("server", "--database", database_url, "points-report", "--from-day", "2026-11-01",
        "--to-day", "2026-11-30")
    _zvt_flow(root)
    run(
        "journal",
        "export",
        str(root / "zvt" / "journal.db"),
        "-o",
        str(root / "export" / "zvt.jsonl"),
    )
    assert server_db.stat().st_size > 0
    return Flow(root, logs, server_db, root / "counter" / "museum.key", code)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_the_flow_left_what_it_should(flow: Flow) -> None:
    """The scan covers real artifacts (not an empty folder)."""
    names = {p.name for p in _files(flow.root)}
    for expected in (
        "museum.db",
        "museum.key",
        "museum.payterm.jsonl",
        "museum.jsonl",
        "zvt.jsonl",
        "zvt-simulator-ledger.jsonl",
        "console-utf-8-bom.csv",
        "console-cp932-replace.csv",
        "console-journal.jsonl",
        "server.db",
        "server.log",
    ):
        assert expected in names, sorted(names)
    with sqlite3.connect(flow.server_db) as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone()[0] > 100
        assert db.execute("SELECT count(*) FROM admins").fetchone()[0] == 1
        # はちのへポイント reached the server too (cards named by keyed hash only)
        assert db.execute("SELECT count(*) FROM entries WHERE kind = 'points.award'"
                          ).fetchone()[0] > 0
    assert len(list(flow.logs.glob("*.log"))) >= 10


def test_no_pan_idm_or_key_material_in_any_file(flow: Flow) -> None:
    terminal_secrets = _key_material(flow.terminal_key.read_bytes(), "terminal key")
    with sqlite3.connect(flow.server_db) as db:
        (server_pem,) = db.execute("SELECT private_pem FROM server_keys").fetchone()
    server_secrets = _key_material(server_pem.encode("ascii"), "server key")
    everywhere = merge(
        encodings("card IDm", IDM), {"admin password": ADMIN_PASSWORD.encode("utf-8")}
    )
    hits: list[tuple[str, Hit]] = []
    scanned = 0
    for path in _files(flow.root):
        data = path.read_bytes()
        needles = dict(everywhere)
        if path != flow.terminal_key:
            needles.update(terminal_secrets)
        if not path.name.startswith("server.db"):  # its table: checked by SQL below
            needles.update(server_secrets)
        hits += [(str(path.relative_to(flow.root)), hit) for hit in scan(data, needles)]
        scanned += len(data)
    print(f"\nscanned {len(_files(flow.root))} files, {scanned:,} bytes")
    assert not hits, "secrets found:\n" + describe(hits)


def test_server_key_lives_only_in_its_table(flow: Flow) -> None:
    with sqlite3.connect(flow.server_db) as db:
        (pem,) = db.execute("SELECT private_pem FROM server_keys").fetchone()
        needles = _key_material(pem.encode("ascii"), "server key")
        needles.update(encodings("enrollment code", flow.enrollment_code.encode("ascii")))
        found = []
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str | bytes):
                        data = value.encode("utf-8") if isinstance(value, str) else value
                        found += [
                            (table, hit)
                            for hit in find_needles(data, needles)
                            if table != "server_keys" or "server key" not in hit.what
                        ]
    assert not found, "found in the server database:\n" + describe(found)


def test_no_admin_password_or_enrollment_code_in_logs(flow: Flow) -> None:
    code = flow.enrollment_code
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    needles = {
        "admin password": ADMIN_PASSWORD.encode("utf-8"),
        "enrollment code": code.encode("utf-8"),
        "enrollment code (normalized)": normalized.encode("utf-8"),
    }
    logs = sorted(flow.logs.glob("*.log"))
    hits = [(p.name, hit) for p in logs for hit in find_needles(p.read_bytes(), needles)]
    assert not hits, "secrets in logs:\n" + describe(hits)


# -- the scanner can fail ------------------------------------------------------------------
def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


def test_control_planted_secrets_are_found(tmp_path: Path) -> None:
    planted = tmp_path / "planted.log"
    planted.write_bytes(
        b'{"note":"card 4111111111111111 approved"}\n'
        b"amex 378282246310005, grouped 4111 1111 1111 1111; idm 012e4cd8a1b2c3d4\n"
        b"not a PAN: 4111111111111112, x4111111111111111, 4111111111111111a, 12345\n"
    )
    data = planted.read_bytes()
    pans = sorted(hit.text for hit in find_pans(data))
    assert pans == ["378282246310005", "4111 1111 1111 1111", "4111111111111111"], pans
    idm = find_needles(data, encodings("card IDm", IDM))
    assert [hit.what for hit in idm] == ["card IDm (hex)"]
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    leaked = tmp_path / "leak.txt"
    leaked.write_bytes(b"log: loaded key " + pem_body_lines(pem)[0] + b"\n")
    assert scan(leaked.read_bytes(), _key_material(pem, "planted key"))
