"""Benchmark: verifying a journal vs the raw limit (SHA-256 + Ed25519 verify per entry).

The raw loop gets every advantage: canonical bytes of each entry (without hash/sig) and the
decoded signatures are precomputed, so it only hashes and verifies in one process. Ours reads
the SQLite journal, parses, checks links, re-serializes, hashes and verifies signatures.

    python bench/journal_verify.py [--n 100000] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ratio_report import report_ratio

from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey, verify_path
from terminal.journal.canonical import canonical, loads_strict, unsigned_part
from terminal.journal.keys import load_public_key

TARGET = 0.7


def sale_body(n: int) -> dict[str, object]:
    """A realistic two-line sale with Japanese names and a split tender."""
    return {
        "receipt_no": f"bench-{n}",
        "lines": [
            {
                "code": "ADM-G",
                "name": "一般入館料",
                "qty": 2,
                "unit_price": 250,
                "tax_class": "std10",
                "amount": 500,
                "account": "14-01-01",
            },
            {
                "code": "JUMIN",
                "name": "住民票の写し",
                "qty": 1,
                "unit_price": 300,
                "tax_class": "exempt",
                "amount": 300,
                "account": "13-02-01",
            },
        ],
        "total": 800,
        "rounding": "floor",
        "taxes": [
            {"tax_class": "std10", "base": 500, "tax": 45},
            {"tax_class": "exempt", "base": 300, "tax": 0},
        ],
        "tenders": [
            {"kind": "cash", "amount": 300, "given": 1000, "change": 700},
            {
                "kind": "transit_ic",
                "amount": 500,
                "ref": f"IC{n:08d}",
                "approval_code": "123456",
                "slip_no": f"{n:06d}",
                "brand": "Hachica",
            },
        ],
        "clerk": "c1",
    }


def build(path: Path, key: TerminalKey, n: int) -> None:
    start = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
    with Journal.open(path, "bench-01", key) as journal:
        for first in range(0, n, 1000):
            journal.append_many(
                ("sale", sale_body(i), start + timedelta(seconds=i))
                for i in range(first, min(n, first + 1000))
            )


def raw_inputs(path: Path) -> list[tuple[bytes, bytes]]:
    with Journal.open_readonly(path) as journal:
        out = []
        for line in journal.lines():
            entry = loads_strict(line)
            assert isinstance(entry, dict)
            out.append((canonical(unsigned_part(entry)), base64.b64decode(entry["sig"])))
        return out


def raw_loop(public_key_b64: str, inputs: list[tuple[bytes, bytes]]) -> None:
    verify = load_public_key(public_key_b64).verify
    sha256 = hashlib.sha256
    for data, sig in inputs:
        verify(sig, sha256(data).digest())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the journal")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path, key = Path(tmp) / "journal.db", TerminalKey.generate()
        build(path, key, args.n)
        inputs = raw_inputs(path)
        ours, raw = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            report = verify_path(path, key.public_key_b64)
            ours.append(time.perf_counter() - t0)
            assert report.ok and report.entries == args.n, report
            t0 = time.perf_counter()
            raw_loop(key.public_key_b64, inputs)
            raw.append(time.perf_counter() - t0)
    return report_ratio("journal_verify", args.n, ours, raw, TARGET, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
