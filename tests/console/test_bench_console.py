"""bench/console.py runs end to end at a tiny scale (--scale 0.001, PostgreSQL): it seeds
valid signed journals with derived rows that equal a rebuild, and prints both ratios."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from server_harness import pg_database
from sqlalchemy import select

from sync.server import derived
from sync.server.db import make_engine
from sync.server.ingest import parse_line
from sync.server.models import StoredEntry, Terminal
from terminal.journal.keys import verify_hash_sig

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "console.py"


def _load_bench() -> ModuleType:
    """bench/console.py as a module (by path: "console" is also the tests' package name)."""
    spec = importlib.util.spec_from_file_location("bench_console", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_console = _load_bench()


def test_seeded_rows_are_valid_and_derived_rows_equal_a_rebuild() -> None:
    with pg_database() as url:
        bench_console.prepare(url)
        engine = make_engine(url)
        try:
            count = bench_console.seed_terminal(engine, 1, sales=2)
            assert count == bench_console.DAYS * 3
            with engine.begin() as conn:
                seeded = derived.derived_rows(conn)
                key = conn.execute(select(Terminal.public_key)).scalar_one()
                lines = conn.execute(select(StoredEntry.line).order_by(StoredEntry.seq)
                                     .limit(6)).scalars().all()
            with engine.begin() as conn:
                derived.rebuild(conn)
                rebuilt = derived.derived_rows(conn)
        finally:
            engine.dispose()
    assert seeded["day_totals"] == rebuilt["day_totals"]
    assert seeded["z_closings"] == rebuilt["z_closings"]
    for index, line in enumerate(lines):  # canonical, signed by the terminal's key
        parsed = parse_line(line, index)
        assert verify_hash_sig(key, parsed.value["hash"], parsed.value["sig"])


def test_bench_prints_both_pages_with_ratios() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--scale",
                           "0.001", "--repeat", "2", "--json"], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr  # 1: below the target, still measured
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["bench"] for r in results] == ["console_day_page (scale 0.001)",
                                             "console_month_page (scale 0.001)"]
    for result in results:
        assert result["ours_per_s"] > 0 and result["raw_per_s"] > 0
        assert result["ratio"] == result["ours_per_s"] / result["raw_per_s"]
