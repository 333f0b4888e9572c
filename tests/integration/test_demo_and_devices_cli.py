"""The composition root end to end: `madoguchi demo --offscreen --tour` with the wire-level
simulators (ZVT over TCP, network ESC/POS printer, FeliCa tag on nfcpy udp) and the local
central server; `madoguchi devices` and `madoguchi qr emv`."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from madoguchi_testing import SAMPLES, run_cli

from drivers.qr.emv import decode_payload
from terminal.journal import Journal


def _samples(tmp_path: Path) -> Path:
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    return copy / "museum-01.toml"


def test_demo_tour_through_the_composition_root(tmp_path: Path) -> None:
    tour, data = tmp_path / "tour", tmp_path / "data"
    result = run_cli("demo", "--offscreen", "--tour", str(tour), "--data", str(data),
                     timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    pngs = sorted(p.name for p in tour.glob("*.png"))
    assert len(pngs) > 100
    assert any(name.endswith("-ko.png") for name in pngs)
    assert run_cli("journal", "verify", str(data / "journal.db")).returncode == 0
    with Journal.open_readonly(data / "journal.db") as journal:
        kinds = [e.kind for e in journal.entries()]
        last = journal.last_seq
    assert "sale" in kinds and "payment.result" in kinds
    con = sqlite3.connect(data / "server.db")
    try:
        stored = con.execute("select count(*), max(seq) from entries").fetchone()
    finally:
        con.close()
    assert stored == (last, last)  # the local server received the whole journal
    ledger = (data / "zvt-simulator-ledger.jsonl").read_text("utf-8")
    assert ledger.strip()  # card payments went over the ZVT wire protocol


def test_devices_list_and_self_tests(tmp_path: Path) -> None:
    config = _samples(tmp_path)
    listing = run_cli("devices", "--config", str(config))
    assert listing.returncode == 0, listing.stderr
    assert "payment_terminal: simulator" in listing.stdout
    payment = run_cli("devices", "test", "payment", "--config", str(config), "--amount", "100")
    assert payment.returncode == 0, payment.stderr
    assert "¥100" in payment.stdout
    printer = run_cli("devices", "test", "printer", "--config", str(config))
    assert printer.returncode == 0, printer.stderr
    card = run_cli("devices", "test", "card", "--config", str(config), "--timeout", "15")
    assert card.returncode == 0, card.stderr
    assert "IDm 012E…" in card.stdout and "012E4CD8A1B2C3D4" not in card.stdout + card.stderr


def test_qr_emv_payload_decodes(tmp_path: Path) -> None:
    config = _samples(tmp_path)
    png = tmp_path / "code.png"
    result = run_cli("qr", "emv", "--config", str(config), "--amount", "500", "--png", str(png))
    assert result.returncode == 0, result.stderr
    payload = decode_payload(result.stdout.strip())
    assert payload.amount == 500 and payload.currency == "392" and payload.country == "JP"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run_cli("qr", "emv", "--config", str(config), "--amount", "-1").returncode == 2
