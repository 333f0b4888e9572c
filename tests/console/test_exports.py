"""CSV and journal exports (issue 7): UTF-8 with BOM and Shift_JIS (cp932), Japanese
headers, totals equal to the server's derived day totals, an unencodable character named
or replaced, the auditor's journal export accepted by `madoguchi journal verify`, scope
and audit of the console downloads — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from console import reports_fixtures as fx
from console.reports_fixtures import (
    DAY1,
    DAY2,
    HARD_NAME,
    LIBRARY,
    MUSEUM,
    Seeded,
    log_in,
)
from madoguchi_testing import run_cli
from sqlalchemy import select

from sync.server import derived
from sync.server.console import exports
from sync.server.console.models import AuditLog
from sync.server.console.reports import Period

database_url = fx.database_url  # fixtures
seeded = fx.seeded
console_url = fx.console_url


def parse(data: bytes, encoding: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(encoding), newline="")))


@pytest.mark.parametrize("day", [DAY1, DAY2])
def test_utf8_bom_csv_totals_equal_the_day_totals(seeded: Seeded, day: str) -> None:
    with seeded.engine.begin() as conn:
        result = exports.export_csv(conn, None, Period.day(day), None, "utf-8-bom")
        report = derived.day_report(conn, day)["all"]
    assert result.data.startswith(b"\xef\xbb\xbf")
    rows = parse(result.data, "utf-8-sig")
    assert list(rows[0]) == list(exports.HEADERS)
    assert {"日付", "施設", "端末", "受付番号", "科目コード", "品目", "数量", "金額", "税区分",
            "税額", "支払方法"} <= set(rows[0])
    assert result.rows == len(rows) and {r["日付"] for r in rows} == {day}
    assert sum(int(r["金額"]) for r in rows) == report["total"]
    assert sum(int(r["税額"]) for r in rows) == sum(report["tax_by_class"].values())
    assert sum(int(r["数量"]) for r in rows) == report["visits"]
    assert b"\r\n" in result.data
    assert result.filename == f"madoguchi_{day}_all_utf-8-bom.csv"


def test_cp932_decodes_and_an_unencodable_character_is_named(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        day1 = exports.export_csv(conn, None, Period.day(DAY1), MUSEUM, "cp932")
        with pytest.raises(exports.ExportEncodingError) as refused:
            exports.export_csv(conn, None, Period.day(DAY2), None, "cp932")
        replaced = exports.export_csv(conn, None, Period.month("2026-11"), None,
                                      "cp932-replace")
    assert not day1.data.startswith(b"\xef\xbb\xbf")
    rows = parse(day1.data, "cp932")
    assert rows and list(rows[0])[:3] == ["日付", "施設", "端末"]
    assert {r["施設"] for r in rows} == {MUSEUM}
    message = str(refused.value)
    assert "U+20BB7" in message and "品目" in message and "行目" in message
    row_number = int(message.split(" 行目")[0])
    text = replaced.data.decode("cp932")
    assert HARD_NAME.replace("𠮷", "〓") in text and "𠮷" not in text
    # per terminal: three transit sales (one of them voided) and the void carry the name
    assert replaced.replaced == 3 * 4
    with seeded.engine.begin() as conn:
        utf8 = exports.export_csv(conn, None, Period.day(DAY2), None, "utf-8-bom")
    lines = utf8.data.decode("utf-8-sig").split("\r\n")
    first = next(i for i, line in enumerate(lines, start=1) if "𠮷" in line)
    assert row_number == first
    assert f"連番 {lines[first - 1].split(',')[3]}" in message


def test_unknown_encoding_is_refused(seeded: Seeded) -> None:
    with pytest.raises(exports.ExportError, match="unknown encoding"):
        exports.encode_csv(iter([["a"]]), "latin-1")  # type: ignore[arg-type]


def test_facility_manager_scope_in_the_csv(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        mine = exports.export_csv(conn, {LIBRARY}, Period.month("2026-11"), None,
                                  "utf-8-bom")
        other = exports.export_csv(conn, {LIBRARY}, Period.month("2026-11"), MUSEUM,
                                   "utf-8-bom")
    assert {r["施設"] for r in parse(mine.data, "utf-8-sig")} == {LIBRARY}
    assert other.rows == 0


def test_journal_export_verifies_with_the_cli(seeded: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "museum-01.jsonl"
    path.write_bytes(b"".join(exports.journal_lines(seeded.engine, None, "museum-01")))
    lines = path.read_bytes().split(b"\n")
    assert json.loads(lines[0]) == {"format": "madoguchi-journal/1", "terminal": "museum-01",
                                    "public_key": seeded.keys["museum-01"].public_key_b64}
    assert [line.decode() for line in lines[1:-1]] == seeded.lines["museum-01"]
    key = seeded.keys["museum-01"].public_key_b64
    done = run_cli("journal", "verify", str(path), "--public-key", key)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout and "pinned" in done.stdout
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(path.read_bytes().replace(b'"total":1550', b'"total":1500', 1))
    assert run_cli("journal", "verify", str(tampered), "--public-key", key).returncode == 1
    with pytest.raises(exports.ExportError):
        exports.journal_lines(seeded.engine, {LIBRARY}, "museum-01")
    with pytest.raises(exports.ExportError):
        exports.journal_lines(seeded.engine, None, "no-such-terminal")


def test_console_downloads_are_scoped_and_audited(seeded: Seeded, console_url: str) -> None:
    manager = log_in(console_url, seeded.engine, "carol", "facility_manager", LIBRARY)
    got = manager.post("/console/exports/csv", {"span": "month", "month": "2026-11",
                                                "facility": "", "encoding": "cp932-replace"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "madoguchi_2026-11_all" in disposition
    assert {r["施設"] for r in parse(got.content, "cp932")} == {LIBRARY}
    assert manager.post("/console/exports/csv", {"span": "month", "month": "2026-11",
                                                 "facility": MUSEUM}).status_code == 404
    assert manager.post("/console/exports/journal", {"terminal": "museum-01"}
                        ).status_code == 404
    strict = manager.post("/console/exports/csv", {"span": "day", "day": DAY2,
                                                   "encoding": "cp932"})
    assert strict.status_code == 400 and "U+20BB7" in strict.text
    no_csrf = manager.session.post(console_url + "/console/exports/csv", data={
        "span": "day", "day": DAY1}, allow_redirects=False, timeout=60)
    assert no_csrf.status_code == 403
    auditor = log_in(console_url, seeded.engine, "dave", "auditor")
    journal = auditor.post("/console/exports/journal", {"terminal": "library-01"})
    assert journal.status_code == 200
    assert journal.content.decode().split("\n")[1:-1] == seeded.lines["library-01"]
    with seeded.engine.begin() as conn:
        logged = conn.execute(select(AuditLog.user, AuditLog.action, AuditLog.detail)
                              .where(AuditLog.action.like("export.%"))
                              .order_by(AuditLog.id)).all()
    assert [(u, a) for u, a, _ in logged] == [("carol", "export.csv"),
                                               ("dave", "export.journal")]
    detail = json.loads(logged[0].detail)
    assert detail["scope"] == [LIBRARY] and detail["first"] == "2026-11-01"
    assert json.loads(logged[1].detail) == {"terminal": "library-01"}
