"""The グラフ page (issue 7): the vendored Chart.js is served from the console's own static
files (with the sha256 recorded in static/vendor/README.md), and the data JSON embedded in
the page equals the report queries — on SQLite and PostgreSQL, scoped."""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

from console import reports_fixtures as fx
from console.reports_fixtures import DAY1, DAY2, LIBRARY, MUSEUM, Seeded, log_in

from sync.server.console import charts, reports
from sync.server.console.reports import Period, RatingRow, RevenuePoint

database_url = fx.database_url  # fixtures
seeded = fx.seeded
console_url = fx.console_url
VENDOR = Path(charts.__file__).resolve().parent / "static" / "vendor"
EMBEDDED = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>', re.S)


def embedded(page: str) -> object:
    found = EMBEDDED.search(page)
    assert found is not None, page
    return json.loads(found.group(1))  # not html-unescaped: a raw text element


def test_script_json_cannot_close_the_script_element() -> None:
    value = {"facility": "</script><script>alert(1)</script>&amp;", "line": "a\u2028b"}
    text = str(charts.script_json(value))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_chart_shapes() -> None:
    revenue = charts.revenue_chart([RevenuePoint(DAY1, MUSEUM, 100),
                                    RevenuePoint(DAY2, LIBRARY, 50)])
    assert revenue["labels"] == [DAY1, DAY2]
    assert [(d["label"], d["data"]) for d in revenue["datasets"]] == [
        (LIBRARY, [0, 50]), (MUSEUM, [100, 0])]
    mix = charts.tender_chart(reports.TenderMix({}, {"qr": 100, "transit_ic": 300, "cash": 600},
                                                1000, 0.3))
    assert mix["kinds"] == ["cash", "transit_ic", "qr"]  # the labels' order
    assert mix["datasets"][0]["backgroundColor"][1] == charts.HIGHLIGHT
    assert mix["transit_ic_share_percent"] == 30.0
    rated = charts.satisfaction_chart([RatingRow(MUSEUM, 4, 3.5, (0, 2, 0, 0, 2))])
    assert (rated["labels"], rated["counts"], rated["datasets"][0]["data"]) == (
        [MUSEUM], [4], [3.5])


def test_vendored_script_is_recorded_and_served(seeded: Seeded, console_url: str) -> None:
    script = VENDOR / "chartjs" / "chart.umd.min.js"
    digest = hashlib.sha256(script.read_bytes()).hexdigest()
    readme = (VENDOR / "README.md").read_text("utf-8")
    assert digest in readme and "4.6.1" in readme
    assert (VENDOR / "chartjs" / "LICENSE.md").read_text("utf-8").startswith("The MIT License")
    admin = log_in(console_url, seeded.engine, "alice", "admin")
    served = admin.session.get(console_url + charts.CHART_SCRIPT, timeout=60)
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == digest


def test_page_embeds_the_script_and_the_query_data(seeded: Seeded, console_url: str) -> None:
    admin = log_in(console_url, seeded.engine, "alice", "admin")
    page = admin.get("/console/charts", month="2026-11")
    assert page.status_code == 200, page.text
    assert f'<script src="{charts.CHART_SCRIPT}"></script>' in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for canvas in ("revenue", "tenders", "visits", "satisfaction"):
        assert f'<canvas id="chart-{canvas}"' in page.text
    with seeded.engine.begin() as conn:
        want = charts.chart_data(conn, None, Period.month("2026-11"))
        mix = reports.tender_mix(conn, None, Period.month("2026-11"))
    assert embedded(page.text) == json.loads(json.dumps(want))
    assert want["revenue"]["labels"] == [DAY1, DAY2]
    share = round(mix.transit_ic_share * 100, 1)
    assert f'<strong id="transit-share">{share}%</strong>' in html.unescape(page.text)
    manager = log_in(console_url, seeded.engine, "carol", "facility_manager", LIBRARY)
    theirs = embedded(manager.get("/console/charts", month="2026-11").text)
    assert isinstance(theirs, dict)
    assert [d["label"] for d in theirs["revenue"]["datasets"]] == [LIBRARY]
    assert theirs["satisfaction"]["labels"] == [LIBRARY]
    fiscal = embedded(admin.get("/console/charts", fy="2026").text)
    assert isinstance(fiscal, dict) and fiscal["revenue"]["labels"] == ["2026-11"]
