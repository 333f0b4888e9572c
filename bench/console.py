"""The console's reconciliation pages at a city's scale vs a raw GROUP BY over the same rows.

Seeds a fresh PostgreSQL database with 17 facilities (one counter each) x 365 business
days (FY2025) x 300 sales a day x ``--scale``: real journal lines (canonical JSON, hash
chain, Ed25519 signatures by each terminal's key, a closing.z per day computed by
terminal.reports.z_body), bulk-inserted as the rows ingest stores (ingest's own row
function), with the derived rows (day_totals by terminal.reports.period_totals, the same
function the server uses; z_closings) and heads. Then, in the same run:
- ours: the median wall time of the console's day page (/console/?day=...) and month page
  (/console/month?month=...) over HTTP from a real uvicorn server on 127.0.0.1, logged in
  as an admin;
- raw: the median time of one SQL GROUP BY computing the same per-terminal totals (count,
  net total) straight from the stored entries of that day or month (jsonb).
Printed as entries/s (entries of the day or month / median seconds) and their ratio. The
target is 1.0 at --scale 1.0 (the exit status is 1 below it): a page (session, derived
rows, HTML over HTTP) should cost no more than recomputing its totals from the raw rows.
At smaller scales the page's fixed cost dominates and the ratio is printed for
information only (measured: scale 0.01 day 0.15, month 0.27; scale 0.1 day 0.43,
month 2.58; the raw GROUP BY grows with the rows, the page does not).

    python bench/console.py [--scale 0.01] [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import requests  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from ratio_report import report_ratio  # noqa: E402
from server_harness import SALES, pg_database, prepare, running_server  # noqa: E402
from sqlalchemy import Engine, insert, text  # noqa: E402

from sync.server.console import auth  # noqa: E402
from sync.server.console.web import SESSION_COOKIE, Settings  # noqa: E402
from sync.server.db import make_engine  # noqa: E402
from sync.server.derived import TOTAL_KINDS  # noqa: E402
from sync.server.ingest import Parsed, _row  # noqa: E402
from sync.server.models import Admin, DayTotals, Head, StoredEntry, Terminal, ZClosing  # noqa: E402
from terminal.day import TOKYO  # noqa: E402
from terminal.journal import TerminalKey  # noqa: E402
from terminal.journal.canonical import canonical, genesis_prev  # noqa: E402
from terminal.reports import period_totals, z_body  # noqa: E402

FACILITIES = 17
DAYS = 365
SALES_PER_DAY = 300
FIRST_DAY = date(2025, 4, 1)
CHUNK = 5000
TARGET = 1.0
RAW_SQL = text("""
    SELECT e.terminal, count(*) AS n,
           sum(CASE e.kind WHEN 'sale' THEN 1 ELSE -1 END
               * ((e.line::jsonb -> 'body' ->> 'total')::bigint)) AS total
    FROM entries e JOIN terminals t ON t.terminal = e.terminal
    WHERE e.day BETWEEN :first AND :last AND e.kind IN ('sale', 'refund', 'void')
    GROUP BY e.terminal ORDER BY e.terminal""")


class Chain:
    """One terminal's journal being written: seq, head hash, key."""

    def __init__(self, terminal: str, key: TerminalKey) -> None:
        self.terminal, self.key = terminal, key
        self.seq, self.prev = 0, genesis_prev(terminal)
        self.grand_total = 0

    def seal(self, kind: str, body: dict[str, Any], at: datetime) -> Parsed:
        self.seq += 1
        entry: dict[str, Any] = {
            "seq": self.seq, "id": str(uuid.uuid4()), "terminal": self.terminal,
            "kind": kind, "at": at.isoformat(timespec="seconds"), "day": at.date().isoformat(),
            "body": body, "prev": self.prev}
        entry["hash"] = hashlib.sha256(canonical(entry)).hexdigest()
        entry["sig"] = self.key.sign_hash(entry["hash"])
        self.prev = entry["hash"]
        return Parsed(canonical(entry).decode("utf-8"), entry, self.seq)


def day_entries(chain: Chain, day: date, sales: int) -> Iterator[Parsed]:
    """A business day: ``sales`` sales (the vector bodies, cycled), then its closing.z."""
    at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=TOKYO)
    made: list[dict[str, Any]] = []
    for n in range(sales):
        at += timedelta(seconds=20)
        body = dict(SALES[n % len(SALES)], receipt_no=f"{chain.terminal}-{chain.seq + 1}")
        parsed = chain.seal("sale", body, at)
        made.append(parsed.value)
        yield parsed
    closing = z_body(made, chain.grand_total, None)
    chain.grand_total = int(closing["grand_total"])  # type: ignore[call-overload]
    yield chain.seal("closing.z", closing, at + timedelta(minutes=5))


def seed_terminal(engine: Engine, index: int, sales: int) -> int:
    """One facility's counter: a year of entries plus its derived rows; the entry count."""
    terminal, facility = f"bench-{index:02d}-01", f"facility-{index:02d}"
    key = TerminalKey.generate()
    chain = Chain(terminal, key)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Terminal).values(terminal=terminal, facility=facility,
                                             public_key=key.public_key_b64, enrolled_at=now))
    rows: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    closings: list[dict[str, Any]] = []
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        parsed = list(day_entries(chain, day, sales))
        rows.extend(_row(terminal, p, now) for p in parsed)
        values = [p.value for p in parsed]
        totals.append({"terminal": terminal, "day": day.isoformat(), "entries": len(parsed),
                       "first_seq": parsed[0].seq, "last_seq": parsed[-1].seq,
                       "totals": _json(period_totals(
                           v for v in values if v["kind"] in TOTAL_KINDS))})
        z = values[-1]
        closings.append({"terminal": terminal, "seq": z["seq"], "day": day.isoformat(),
                         "body": json.dumps(z["body"], ensure_ascii=False, sort_keys=True,
                                            separators=(",", ":")),  # as stored: canonical
                         "total": z["body"]["total"],
                         "grand_total": z["body"]["grand_total"]})
        if len(rows) >= CHUNK:
            _flush(engine, rows)
    _flush(engine, rows)
    with engine.begin() as conn:
        conn.execute(insert(DayTotals), totals)
        conn.execute(insert(ZClosing), closings)
        conn.execute(insert(Head).values(terminal=terminal, ack=chain.seq,
                                         head_hash=chain.prev))
    return chain.seq


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _flush(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(StoredEntry), rows)
        rows.clear()


def admin_session(engine: Engine) -> requests.Session:
    password = "bench-password-0123456789"
    with engine.begin() as conn:
        conn.execute(insert(Admin).values(user="bench", password_hash=PasswordHasher().hash(
            password), created_at=datetime.now(UTC), role="admin", facility=None))
    session = requests.Session()
    session.cookies.set(SESSION_COOKIE, auth.login(engine, Settings(), "bench", password,
                                                   "bench").token)
    return session


def median_seconds(work: Callable[[], object], repeat: int) -> list[float]:
    work()  # warm-up (connection pool, template compilation)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return times


def page(session: requests.Session, url: str, needle: str) -> Callable[[], object]:
    def get() -> object:
        response = session.get(url, timeout=600, allow_redirects=False)
        if response.status_code != 200 or needle not in response.text:
            raise RuntimeError(f"{url}: HTTP {response.status_code}; expected a page "
                               f"showing {needle!r}")
        return response
    return get


def raw(engine: Engine, first: str, last: str, terminals: int) -> Callable[[], object]:
    def group_by() -> object:
        with engine.connect() as conn:
            rows = conn.execute(RAW_SQL, {"first": first, "last": last}).all()
        if len(rows) != terminals:
            raise RuntimeError(f"raw GROUP BY found {len(rows)} terminals, not {terminals}")
        return rows
    return group_by


def run(url: str, scale: float, repeat: int, as_json: bool) -> int:
    sales = max(1, round(SALES_PER_DAY * scale))
    prepare(url)
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        entries = sum(seed_terminal(engine, i + 1, sales) for i in range(FACILITIES))
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        if not as_json:
            print(f"seeded {entries} entries ({FACILITIES} facilities x {DAYS} days x "
                  f"{sales} sales + closings) in {time.perf_counter() - t0:.1f} s")
        session = admin_session(engine)
        day = (FIRST_DAY + timedelta(days=DAYS // 2)).isoformat()
        month = day[:7]
        month_last = (date.fromisoformat(f"{month}-28") + timedelta(days=4)).replace(
            day=1) - timedelta(days=1)
        per_day = sales + 1
        month_entries = per_day * FACILITIES * month_last.day
        status = 0
        with running_server(url, prepare_db=False) as base:
            cases = [
                ("console_day_page", per_day * FACILITIES,
                 page(session, f"{base}/console/?day={day}", day),
                 raw(engine, day, day, FACILITIES)),
                ("console_month_page", month_entries,
                 page(session, f"{base}/console/month?month={month}", month),
                 raw(engine, f"{month}-01", month_last.isoformat(), FACILITIES)),
            ]
            for name, n, ours, raw_query in cases:
                ours_times = median_seconds(ours, repeat)
                raw_times = median_seconds(raw_query, repeat)
                if not as_json:
                    print(f"{name}: ours median {statistics.median(ours_times) * 1000:.1f} ms, "
                          f"raw GROUP BY median {statistics.median(raw_times) * 1000:.1f} ms")
                below = report_ratio(f"{name} (scale {scale})", n, ours_times, raw_times,
                                     TARGET, as_json)
                status |= below if scale >= 1.0 else 0
        session.close()
        return status
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scale", type=float, default=0.01,
                        help="fraction of 300 sales/day (1.0: the city's full year)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1.0:
        parser.error("--scale must be in (0, 1]")
    with pg_database() as url:
        return run(url, args.scale, args.repeat, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
