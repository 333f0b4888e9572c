"""The CLI's command handlers: parse nothing, print results, return exit codes."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from terminal.errors import DomainError, NotAJournal


def version() -> str:
    try:
        return metadata.version("madoguchi")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _progress(label: str) -> Any:
    """A progress callback that writes to a terminal, or None when stderr is not one."""
    if not sys.stderr.isatty():
        return None

    def show(done: int) -> None:
        print(f"\r{label}: {done:,} entries", end="", file=sys.stderr, flush=True)

    return show


def _progress_sales(total: int) -> Any:
    if not sys.stderr.isatty():
        return None

    def show(done: int) -> None:
        print(f"\rsimulate: {done:,} / {total:,} sales", end="", file=sys.stderr, flush=True)

    return show


def _end_progress() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)


def config_check(args: argparse.Namespace) -> int:
    from kiosk_config.loader import check_path

    path = Path(args.path)
    if not path.exists():
        print(f"madoguchi: {path}: no such file or folder", file=sys.stderr)
        return 2
    results = check_path(path)
    bad = 0
    for file, problems in results:
        if problems:
            bad += 1
            for problem in problems:
                print(problem, file=sys.stderr)
        else:
            print(f"ok  {file}")
    if not results:
        print(f"madoguchi: {path}: no terminal configs (*.toml) found", file=sys.stderr)
        return 2
    print(f"{len(results) - bad} of {len(results)} configs valid")
    return 2 if bad else 0


def simulate(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config
    from madoguchi.bootstrap import build_counter, open_journal, payment_terminal_for
    from madoguchi.simulate import (
        SeededIds,
        SimClock,
        Simulation,
        journal_key_path,
        points_run_for,
        sim_clerks,
        split_sales,
    )

    if args.sales < 0 or args.days < 1:
        print("madoguchi: --sales must be >= 0 and --days >= 1", file=sys.stderr)
        return 2
    start = _parse_start(args.start)
    if start is None:
        return 2
    config = load_config(Path(args.config))
    journal_path = Path(args.journal)
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    ids = SeededIds(args.seed)
    journal = open_journal(journal_path, journal_key_path(journal_path), config.terminal_id, ids)
    with journal:
        ids.reseed(journal.last_seq)
        head = journal.head()
        clock = SimClock(max(start, datetime.fromisoformat(head.at)) if head else start)
        terminal = payment_terminal_for(config, random.Random(f"pay-{args.seed}"),
                                        journal_path.with_suffix(".payterm.jsonl"))
        counter = build_counter(config, journal, clock, sim_clerks(), terminal)
        points = points_run_for(args, config, counter, journal_path)
        sim = Simulation(counter, clock, rng, sys.stdout if args.trace else None,
                         _progress_sales(args.sales), points)
        sim.recover()
        days = split_sales(args.sales, args.days)
        for i, n in enumerate(days):
            sim.run_day(n, close=not (args.open and i == len(days) - 1))
        _end_progress()
        print(sim.summary.text(counter))
        if points is not None:
            print(points.summary.text(counter))
    return 0


def _parse_start(text: str) -> datetime | None:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        print(f"madoguchi: --start {text!r}: expected RFC 3339 with an offset, "
              "e.g. 2026-11-26T09:00:00+09:00", file=sys.stderr)
        return None
    return start


def _default_key(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".key"), path.parent / "terminal.key"):
        if candidate.exists():
            return candidate
    return None


def journal_verify(args: argparse.Namespace) -> int:
    from terminal.journal import verify_path

    path = Path(args.path)
    key_path = Path(args.key) if args.key else None
    if key_path is not None and not key_path.exists():
        print(f"madoguchi: key file {key_path} not found", file=sys.stderr)
        return 2
    if key_path is None and args.public_key is None and not _is_export(path):
        key_path = _default_key(path)
    report = verify_path(path, public_key_b64=args.public_key, key_path=key_path,
                         progress=_progress("verify"))
    _end_progress()
    if args.json:
        print(json.dumps(_report_json(report), ensure_ascii=False, indent=2))
    else:
        print(_report_text(path, report))
    return 0 if report.ok else 1


def _is_export(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(1) == b"{"
    except OSError:
        return False


def _report_json(report: Any) -> dict[str, Any]:
    finding = report.finding
    return {
        "ok": report.ok, "entries": report.entries, "terminal": report.terminal,
        "key_pinned": report.key_pinned, "key_fingerprint": report.key_fingerprint,
        "first_bad_seq": finding.seq if finding else None,
        "reason": finding.reason if finding else None,
        "message": finding.message if finding else None,
    }


def _report_text(path: Path, report: Any) -> str:
    pin = "key pinned" if report.key_pinned else (
        f"key not pinned (header key {report.key_fingerprint}; pass --public-key to pin)")
    if report.ok:
        return f"OK  {path}: {report.entries:,} entries intact, terminal {report.terminal}; {pin}"
    f = report.finding
    where = f"seq {f.seq}" if f.seq is not None else "header"
    return f"FAIL  {path}: {where}: {f.reason}: {f.message}; {pin}"


def journal_export(args: argparse.Namespace) -> int:
    from terminal.journal import export_journal

    path = Path(args.path)
    if args.output:
        count = export_journal(path, Path(args.output), progress=_progress("export"))
        _end_progress()
        print(f"exported {count:,} entries to {args.output}", file=sys.stderr)
    else:
        count = export_journal(path, sys.stdout.buffer, progress=None)
        sys.stdout.flush()
    return 0


def _entry_dicts(path: Path) -> Iterator[Mapping[str, Any]]:
    from terminal.journal import Journal
    from terminal.journal.canonical import loads_strict
    from terminal.journal.export import read_export

    if _is_export(path):
        _header, lines = read_export(path)
        for line in lines:
            value = loads_strict(line)
            if not isinstance(value, dict):
                raise NotAJournal(f"{path}: an export line is not a JSON object")
            yield value
        return
    with Journal.open_readonly(path) as journal:
        for entry in journal.entries():
            yield entry.as_dict()


def report(args: argparse.Namespace) -> int:
    from terminal.reports import format_report, x_report

    path = Path(args.journal)
    if not path.exists():
        print(f"madoguchi: {path}: no such journal", file=sys.stderr)
        return 2
    entries = list(_entry_dicts(path))
    if args.which == "x":
        result = x_report(entries, args.day) if args.day else _open_x(entries)
        title = "X レポート (X report)"
    else:
        closings = [e for e in entries if e["kind"] == "closing.z"
                    and (args.day is None or e["day"] == args.day)]
        if not closings:
            raise DomainError(f"{path}: no Z closing" + (f" for {args.day}" if args.day else ""))
        last = closings[-1]
        result = {"day": last["day"], "seq": last["seq"], **last["body"]}
        title = "Z レポート (Z closing)"
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(format_report(result, title))
    return 0


def _open_x(entries: list[Mapping[str, Any]]) -> dict[str, Any]:
    from terminal.reports import last_closing, open_period, x_report

    result = x_report(open_period(entries))
    closing = last_closing(entries)
    body = closing["body"] if closing else {}
    assert isinstance(body, Mapping)
    previous = body.get("grand_total", 0)
    total = result["total"]
    assert isinstance(previous, int) and isinstance(total, int)
    result["grand_total"] = previous + total
    return result


def clerk_add(args: argparse.Namespace) -> int:
    from kiosk_config.clerks_file import add_clerk
    from kiosk_config.loader import load_config

    config = load_config(Path(args.config))
    pin = sys.stdin.readline().strip()
    if not pin:
        print("madoguchi: no PIN on standard input (echo 1234 | madoguchi clerk add ...)",
              file=sys.stderr)
        return 2
    clerk = add_clerk(config.clerks_path, args.clerk_id, args.role, pin, name=args.name,
                      replace=args.replace)
    print(f"clerk {clerk.id} ({clerk.role}) saved to {config.clerks_path}")
    return 0
