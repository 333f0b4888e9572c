"""Console reports (issue 7): periods and fiscal years, revenue by accounting code and
account net of refunds and voids, tax per class, visits, tender mix, satisfaction — on
SQLite and PostgreSQL, scoped; training entries never count. Retention settings too."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from console import reports_fixtures as fx
from console.reports_fixtures import (
    DAY1,
    DAY2,
    LIBRARY,
    MUSEUM,
    TERMINALS,
    Seeded,
    log_in,
)
from sqlalchemy import select

from sync.server import derived
from sync.server.console import reports, retention
from sync.server.console.models import AuditLog
from sync.server.console.reports import Period

database_url = fx.database_url  # fixtures
seeded = fx.seeded
console_url = fx.console_url

SIGN = {"sale": 1, "refund": -1, "void": -1}
NOVEMBER = Period.month("2026-11")


def expected(seeded: Seeded, facilities: set[str] | None = None) -> dict[str, Any]:
    """Totals computed here from the journals' own lines, independently of the server."""
    total, taxes, codes = 0, Counter[str](), Counter[tuple[str, str]]()
    for terminal, facility in TERMINALS.items():
        if facilities is not None and facility not in facilities:
            continue
        for entry in seeded.entries(terminal):
            sign = SIGN.get(entry["kind"])
            if sign is None:
                continue
            total += sign * entry["body"]["total"]
            for tax in entry["body"]["taxes"]:
                taxes[tax["tax_class"]] += sign * tax["tax"]
            for line in entry["body"]["lines"]:
                codes[(line.get("accounting_code", ""), line["account"])] += sign * line["amount"]
    return {"total": total, "taxes": dict(taxes), "codes": dict(codes)}


def test_periods_and_fiscal_years() -> None:
    assert Period.fiscal_year(2026) == Period("2026-04-01", "2027-03-31")
    assert reports.fiscal_year_of("2027-03-31") == 2026
    assert reports.fiscal_year_of("2027-04-01") == 2027
    assert Period.month("2026-02") == Period("2026-02-01", "2026-02-28")
    assert Period.month("2028-02").last == "2028-02-29"
    assert Period.month("2026-12").last == "2026-12-31"
    assert reports.period_key("2027-01-15", "fiscal_year") == "2026年度"
    assert reports.period_key("2027-01-15", "month") == "2027-01"
    with pytest.raises(ValueError):
        Period("2026-12-01", "2026-11-30")
    with pytest.raises(ValueError):
        Period.month("2026-13")


def test_revenue_by_code_is_net_and_matches_the_day_totals(seeded: Seeded) -> None:
    want = expected(seeded)
    with seeded.engine.begin() as conn:
        report = reports.revenue_report(conn, None, NOVEMBER, "month")
        days = [derived.day_report(conn, day)["all"] for day in (DAY1, DAY2)]
    assert report.total == want["total"] == sum(d["total"] for d in days)
    assert sum(row.amount for row in report.codes) == report.total
    assert sum(row.amount for row in report.accounts) == report.total
    assert {(r.accounting_code, r.account): r.amount for r in report.codes} == want["codes"]
    assert {t.tax_class: t.tax for t in report.taxes} == want["taxes"]
    for tax_class, tax in want["taxes"].items():
        assert tax == sum(d["tax_by_class"].get(tax_class, 0) for d in days)
    assert [t.tax_class for t in report.taxes] == ["std10", "red8", "exempt"]  # DESIGN order
    # the voided transit sale and the training sale count nowhere: 2 x 1000 yen per terminal
    codes = {r.accounting_code: r for r in report.codes if r.accounting_code}
    assert (codes["14-01-05"].amount, codes["14-01-05"].qty) == (6000, 18)
    assert codes["14-01-06"].amount == 3 * 2 * 550


def test_fiscal_year_and_day_grouping(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        fiscal = reports.revenue_report(conn, None, Period.fiscal_year(2026), "fiscal_year")
        daily = reports.revenue_report(conn, None, NOVEMBER, "day")
        before = reports.revenue_report(conn, None, Period.fiscal_year(2025), "fiscal_year")
    assert {r.period for r in fiscal.codes} == {"2026年度"}
    assert {r.period for r in daily.codes} == {DAY1, DAY2}
    assert fiscal.total == daily.total == expected(seeded)["total"]
    assert (before.total, before.codes, before.documents) == (0, (), 0)


def test_scope_limits_every_report(seeded: Seeded) -> None:
    library = {LIBRARY}
    with seeded.engine.begin() as conn:
        report = reports.revenue_report(conn, library, NOVEMBER)
        nothing = reports.revenue_report(conn, set(), NOVEMBER)
        visits = reports.visits(conn, library, NOVEMBER)
        mix = reports.tender_mix(conn, library, NOVEMBER)
        ratings = reports.satisfaction(conn, library, NOVEMBER)
        listed = reports.facilities_in_scope(conn, library)
        by_facility = reports.revenue_report(conn, None, NOVEMBER, facility=LIBRARY)
    assert report.total == expected(seeded, library)["total"] == by_facility.total
    assert report.total != expected(seeded)["total"]
    assert (nothing.total, nothing.documents) == (0, 0)
    assert {v.facility for v in visits} == set(mix.by_facility) == {LIBRARY}
    assert [r.facility for r in ratings] == listed == [LIBRARY]


def test_visits_count_free_admissions_and_not_voided_sales(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        rows = {(v.period, v.facility): v for v in reports.visits(conn, None, NOVEMBER)}
        monthly = reports.visits(conn, None, NOVEMBER, "month")
    day2 = rows[(DAY2, MUSEUM)]  # per terminal: 1 + 3 transit (1 voided) + 1 free (0 yen)
    assert (day2.sales, day2.voids, day2.visits) == (10, 2, 8)
    day1 = rows[(DAY1, LIBRARY)]
    assert (day1.sales, day1.refunds, day1.visits) == (6, 1, 6)
    sales = Counter[str]()
    for terminal, facility in TERMINALS.items():
        sales[facility] += sum(e["kind"] == "sale" for e in seeded.entries(terminal))
    assert {m.facility: m.sales for m in monthly} == dict(sales)


def test_tender_mix_and_transit_ic_share(seeded: Seeded) -> None:
    tenders = Counter[str]()
    for terminal in TERMINALS:
        for entry in seeded.entries(terminal):
            for tender in entry["body"].get("tenders", []) if entry["kind"] in SIGN else []:
                tenders[tender["kind"]] += SIGN[entry["kind"]] * tender["amount"]
    with seeded.engine.begin() as conn:
        mix = reports.tender_mix(conn, None, NOVEMBER)
    assert dict(mix.overall) == {k: v for k, v in tenders.items()}
    assert mix.total == sum(tenders.values())
    assert mix.transit_ic_share == pytest.approx(tenders["transit_ic"] / mix.total)
    assert 0 < mix.transit_ic_share < 1


def test_satisfaction_by_facility_ignores_training(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        rows = {r.facility: r for r in reports.satisfaction(conn, None, NOVEMBER)}
    museum = rows[MUSEUM]  # two terminals: a 5 and a 2 each; the training 1 is left out
    assert (museum.count, museum.average, museum.distribution) == (4, 3.5, (0, 2, 0, 0, 2))
    assert rows[LIBRARY].count == 2


def test_retention_defaults_changes_and_may_delete(seeded: Seeded) -> None:
    with seeded.engine.begin() as conn:
        assert retention.years_for(conn, "journal") == 10
        no = retention.may_delete(conn, "journal", date(2026, 11, 26), date(2037, 3, 31))
        yes = retention.may_delete(conn, "journal", date(2026, 11, 26), date(2037, 4, 1))
        assert (no.allowed, yes.allowed, no.keep_until) == (False, True, date(2037, 3, 31))
        # January-March belong to the fiscal year before
        assert retention.keep_until(date(2027, 3, 31), 10) == date(2037, 3, 31)
        assert retention.keep_until(date(2027, 4, 1), 10) == date(2038, 3, 31)
        assert retention.set_years(conn, "journal", 12, "alice") == (10, 12)
        assert not retention.may_delete(conn, "journal", date(2026, 11, 26),
                                        date(2037, 4, 1)).allowed
        with pytest.raises(retention.RetentionError, match="7"):
            retention.set_years(conn, "journal", 3, "alice")
        with pytest.raises(retention.RetentionError, match="unknown record class"):
            retention.years_for(conn, "nope")
        settings = {s.record_class.id: s for s in retention.settings(conn)}
    assert (settings["journal"].years, settings["journal"].updated_by) == (12, "alice")
    assert settings["closing"].updated_at is None


def test_report_and_retention_pages(seeded: Seeded, console_url: str) -> None:
    admin = log_in(console_url, seeded.engine, "alice", "admin")
    page = admin.get("/console/reports", month="2026-11", grouping="month")
    assert page.status_code == 200, page.text
    assert "14-01-05" in page.text and "2026-11" in page.text
    assert admin.get("/console/reports", month="2026-99").status_code == 400
    assert admin.post("/console/retention", {"record_class": "survey", "years": "6"}
                      ).status_code == 303
    auditor = log_in(console_url, seeded.engine, "bob", "auditor")
    assert auditor.post("/console/retention", {"record_class": "survey", "years": "9"}
                        ).status_code == 403
    shown = auditor.get("/console/retention", record_class="closing", record_day=DAY1)
    assert shown.status_code == 200 and "2037-03-31" in shown.text
    with seeded.engine.begin() as conn:
        assert retention.years_for(conn, "survey") == 6
        actions = conn.execute(select(AuditLog.user, AuditLog.action, AuditLog.detail)
                               .where(AuditLog.action == "retention.set")).all()
    assert [(u, a) for u, a, _ in actions] == [("alice", "retention.set")]
    assert '"old": 5' in actions[0].detail and '"new": 6' in actions[0].detail
    manager = log_in(console_url, seeded.engine, "carol", "facility_manager", LIBRARY)
    mine = manager.get("/console/reports", month="2026-11")
    assert mine.status_code == 200 and MUSEUM not in mine.text
    assert manager.get("/console/reports", facility=MUSEUM).status_code == 404
