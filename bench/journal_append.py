"""Benchmark: durable journal append vs a raw single-row SQLite insert.

Both commit one row per transaction with the journal's pragmas (WAL, synchronous=FULL, URI
psow=0), in the same run, on the same disk, interleaved in blocks of 25 so both see the same
disk weather. Ours also builds the envelope, serializes it canonically, hashes, signs with
Ed25519 and passes the append-only triggers.

    python bench/journal_append.py [--n 300] [--runs 5] [--json] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ratio_report import report_ratio

from terminal.day import TOKYO
from terminal.journal import (
    Journal,
    TerminalKey,
    schema,
)

TARGET = 0.5
BODY: dict[str, object] = {
    "receipt_no": "bench-1",
    "lines": [
        {
            "code": "ADM-G",
            "name": "一般入館料",
            "qty": 2,
            "unit_price": 250,
            "tax_class": "std10",
            "amount": 500,
            "account": "14-01-01",
        }
    ],
    "total": 500,
    "rounding": "floor",
    "taxes": [{"tax_class": "std10", "base": 500, "tax": 45}],
    "tenders": [{"kind": "cash", "amount": 500, "given": 1000, "change": 500}],
    "clerk": "c1",
}


BLOCK = 25


class Raw:
    """The raw limit: one row per transaction into a comparable table, same pragmas."""

    def __init__(self, path: Path, line: str) -> None:
        self.conn = sqlite3.connect(schema.uri(str(path)), uri=True, isolation_level=None)
        schema.apply_pragmas(self.conn)
        self.conn.execute(
            "CREATE TABLE entries (seq INTEGER PRIMARY KEY, id TEXT, kind TEXT, "
            "day TEXT, hash TEXT, line TEXT) STRICT"
        )
        self.line, self.seq = line, 0

    def insert(self, count: int) -> float:
        t0 = time.perf_counter()
        for _ in range(count):
            self.seq += 1
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                (self.seq, f"id-{self.seq}", "sale", "2026-11-26", "0" * 64, self.line),
            )
            self.conn.execute("COMMIT")
        return time.perf_counter() - t0


def append(journal: Journal, count: int, start: datetime) -> float:
    t0 = time.perf_counter()
    for i in range(count):
        journal.append("sale", BODY, start + timedelta(seconds=i))
    return time.perf_counter() - t0


def one_run(directory: Path, n: int) -> tuple[float, float]:
    """Seconds for n appends (ours) and n inserts (raw), interleaved in blocks so that both
    see the same disk weather."""
    start = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
    key = TerminalKey.generate()
    with Journal.open(directory / "ours.db", "bench-01", key) as journal:
        line = journal.append("login", {"clerk": "c1"}, start).line()  # also warms up
        raw = Raw(directory / "raw.db", line)
        try:
            raw.insert(1)
            ours_s = raw_s = 0.0
            for first in range(0, n, BLOCK):
                count = min(BLOCK, n - first)
                raw_s += raw.insert(count)
                ours_s += append(journal, count, start)
        finally:
            raw.conn.close()
    return ours_s, raw_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="appends per run (default 300)")
    parser.add_argument("--runs", type=int, default=5, help="runs; the median counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (same disk!)")
    args = parser.parse_args(argv)
    ours, raw = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            ours_s, raw_s = one_run(Path(tmp), args.n)
        ours.append(ours_s)
        raw.append(raw_s)
    return report_ratio("journal_append", args.n, ours, raw, TARGET, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
