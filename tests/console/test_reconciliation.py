"""Reconciliation: the three-way match (Z, journal, payment batch) and cash on the seeded
days, the deliberate discrepancy with its reasons in words, the month view, the drill-down
to entries, the receipt view with its checks, and 'mark explained'."""

from __future__ import annotations

import json
import re

import requests
from console.console_seed import (
    BATCH_CREDIT_OVER,
    CLEAN,
    DAY,
    DISCREPANT,
    LIBRARY_TERMINAL,
    NEXT_DAY,
    Z_CASH_SHORT,
    ConsoleServer,
)
from sqlalchemy import select, update

from sync.server.console import recon
from sync.server.console.models import AuditLog
from sync.server.models import StoredEntry

ROW = re.compile(r'<tr class="(\w+)" data-terminal="([^"]+)">(.*?)</tr>', re.S)


def _rows(html: str) -> dict[str, tuple[str, str]]:
    """terminal -> (row status class, row text without tags)."""
    return {terminal: (status, re.sub(r"<[^>]+>", " ", body))
            for status, terminal, body in ROW.findall(html)}


def test_day_view_matches_and_flags_the_discrepancy(console: ConsoleServer) -> None:
    page = console.get(console.session("auditor"), f"/console/?day={DAY}")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert rows[CLEAN][0] == "ok" and rows[LIBRARY_TERMINAL][0] == "ok"
    assert rows[DISCREPANT][0] in ("discrepancy", "explained")
    text = rows[DISCREPANT][1]
    # the museum-02 day took 2,000 yen cash and refunded 1,000: its Z says 500 less
    assert f"Zの現金計 ¥{1000 - Z_CASH_SHORT:,} とジャーナル ¥1,000 が ¥{Z_CASH_SHORT} 不一致" \
        in text
    assert f"決済端末日計のクレジット計 ¥{2800 + BATCH_CREDIT_OVER:,} とジャーナル ¥2,800 が " \
           f"¥{BATCH_CREDIT_OVER:,} 不一致" in text
    assert "不一致" not in rows[CLEAN][1] and "不一致" not in rows[LIBRARY_TERMINAL][1]
    # net totals: museum 1000 + 2800 + 1800 + 1000 - 1000 per terminal; library 300 + 600
    assert "¥5,600" in rows[CLEAN][1] and "¥900" in rows[LIBRARY_TERMINAL][1]
    grand = page.text[page.text.index('class="grand"'):]
    assert "¥12,100" in grand and "¥2,900" in grand  # all facilities; cash 1000+1000+900


def test_a_day_without_z_is_open(console: ConsoleServer) -> None:
    page = console.get(console.session("admin"), f"/console/?day={NEXT_DAY}")
    rows = _rows(page.text)
    assert set(rows) == {CLEAN, DISCREPANT}
    assert all(status == "open" for status, _ in rows.values())
    assert "no Z closing for this day yet" in rows[CLEAN][1]


def test_month_view(console: ConsoleServer) -> None:
    page = console.get(console.session("admin"), "/console/month?month=2026-11")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert re.search(rf"{DAY}\s+hachinohe-museum\s+2\s+8\s+¥11,200\s+(1\s+0|0\s+1)", text), text
    assert re.search(rf"{DAY}\s+aomori-library\s+1\s+2\s+¥900\s+0\s+0", text)
    assert re.search(rf"{NEXT_DAY}\s+hachinohe-museum\s+2\s+2\s+¥2,000\s+0\s+0", text)
    assert console.get(console.session("admin"), "/console/month?month=11-2026") \
        .status_code == 404


def test_drill_down_to_the_entries(console: ConsoleServer) -> None:
    page = console.get(console.session("manager"), f"/console/day/{DAY}/{DISCREPANT}")
    assert page.status_code == 200
    journal = console.journals[DISCREPANT]
    day_entries = [json.loads(line) for line in journal.lines() if json.loads(line)["day"] == DAY]
    for entry in day_entries:
        assert f'/console/entry/{DISCREPANT}/{entry["seq"]}"' in page.text
        assert entry["kind"] in page.text
    assert "MUSEUM-02-R1" in page.text and "credit 2800" in page.text
    assert "三者照合" in page.text and "¥3,800" in page.text  # the batch column
    assert console.get(console.session("manager"), f"/console/day/{DAY}/nope").status_code \
        == 404


def test_receipt_view_and_its_public_check_page(console: ConsoleServer) -> None:
    entry = json.loads(list(console.journals[DISCREPANT].lines())[2])
    page = console.get(console.session("admin"), f"/console/entry/{DISCREPANT}/3")
    assert page.status_code == 200
    assert "領収書" in page.text and entry["body"]["receipt_no"] in page.text
    assert entry["hash"] in page.text
    assert "verified with the terminal's enrolled key" in page.text
    assert "links to the previous entry" in page.text
    link = re.search(r'id="verify-link" href="([^"]+)"', page.text)
    assert link and link.group(1) == f"/r/{DISCREPANT}/3/{entry['hash'][:16]}"
    public = requests.get(console.base_url + link.group(1), timeout=30)  # anonymous
    assert public.status_code == 200 and "真正" in public.text


def test_receipt_view_shows_a_bad_signature(console: ConsoleServer) -> None:
    where = (StoredEntry.terminal == LIBRARY_TERMINAL, StoredEntry.seq == 2)
    with console.engine.begin() as conn:
        line = conn.execute(select(StoredEntry.line).where(*where)).scalar_one()
        other = json.loads(next(console.journals[LIBRARY_TERMINAL].lines()))["sig"]
        forged = line.replace(json.loads(line)["sig"], other)
        conn.execute(update(StoredEntry).where(*where).values(line=forged))
    try:
        page = console.get(console.session("admin"), f"/console/entry/{LIBRARY_TERMINAL}/2")
        assert "the signature does not verify" in page.text
        assert "matches the content" in page.text  # the hash still fits the content
    finally:
        with console.engine.begin() as conn:
            conn.execute(update(StoredEntry).where(*where).values(line=line))


def test_mark_explained(console: ConsoleServer) -> None:
    path = f"/console/day/{DAY}/{DISCREPANT}"
    manager = console.session("manager")
    empty = console.post(manager, path + "/explain", {"comment": "  "}, csrf_from=path)
    assert empty.status_code == 422
    comment = "釣銭の両替を記録し忘れ、カード会社へ照会済み (forgot a cash.out; card company asked)"
    done = console.post(manager, path + "/explain", {"comment": comment}, csrf_from=path)
    assert done.status_code == 303 and done.headers["location"] == path
    page = console.get(manager, path)
    assert comment in page.text and "説明済み (explained)" in page.text
    assert _rows(console.get(manager, f"/console/?day={DAY}").text)[DISCREPANT][0] \
        == "explained"
    with console.engine.connect() as conn:
        detail = conn.execute(select(AuditLog.detail).where(
            AuditLog.user == "manager", AuditLog.action == "explanation")
            .order_by(AuditLog.id.desc())).scalars().first()
    assert detail is not None
    recorded = json.loads(detail)
    assert recorded["comment"] == comment and recorded["terminal"] == DISCREPANT
    assert any("クレジット計" in finding for finding in recorded["findings"])
    # read-only and other-facility users are refused, and the form is not shown to them
    auditor = console.session("auditor")
    assert 'id="explain"' not in console.get(auditor, path).text
    assert console.post(auditor, path + "/explain", {"comment": "x"}, csrf_from=path) \
        .status_code == 403
    librarian = console.session("librarian")
    assert console.post(librarian, path + "/explain", {"comment": "x"}).status_code == 404


def test_comparisons_in_words() -> None:
    totals = {"count": 2, "refund_count": 0, "void_count": 0, "total": 3000,
              "cash_expected": 21000, "by_tender": {"cash": 1000, "credit": 2000},
              "by_tax_class": {"std10": 3000}, "tax_by_class": {"std10": 272}}
    z = dict(totals, count=3, by_tax_class={"std10": 2900}, cash_counted=20700)
    texts = [f.text for f in recon.compare_z(z, totals)]
    assert texts[0].startswith("Zの販売件数 3件 とジャーナル 2件 が 1件 不一致")
    assert texts[1].startswith("Zの10%対象計 ¥2,900 とジャーナル ¥3,000 が ¥100 不一致")
    assert len(texts) == 2
    assert recon.compare_cash(z)[0].text.startswith(
        "現金 実査 ¥20,700 と理論値 ¥21,000 が ¥300 不足")
    assert "over" in recon.compare_cash(dict(z, cash_counted=21001))[0].text
    assert recon.compare_cash(dict(z, cash_counted=None))[0].level == "warn"
    assert recon.compare_cash(dict(z, cash_counted=21000)) == []
    missing = recon.compare_batch([], totals)
    assert len(missing) == 1 and missing[0].level == "warn" and "credit ¥2,000" in \
        missing[0].text
    two_batches = [{"count": 1, "total": 1500, "by_tender": {"credit": 1500}},
                   {"count": 1, "total": 500, "by_tender": {"credit": 500}}]
    assert recon.compare_batch(two_batches, totals) == []
    qr = recon.compare_batch([{"count": 1, "total": 2400, "by_tender": {
        "credit": 2000, "qr": 400}}], totals)
    assert [f.text.split(" (")[0] for f in qr] == [
        "決済端末日計のQRコード決済計 ¥400 とジャーナル ¥0 が ¥400 不一致",
        "決済端末日計の合計 ¥2,400 とジャーナル ¥2,000 が ¥400 不一致"]
