"""The reports side of the console in a real browser (Debian's chromium, headless, driven
by Playwright; fixtures from conftest.py): a CSV export downloaded through the form and read
back (BOM, Japanese header, a known receipt number, the day's total), the Chart.js charts
actually drawn (a chart instance on each canvas, painted pixels, the data the page embedded),
and the points page with a transfer made through its form. Screenshots go to
docs/screenshots/console-{exports,charts,points,points-transfer}.png."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from console.console_seed import DAY, DISCREPANT, ConsoleServer
from console.test_points_console import LOST, NEW, seed_points

from sync.server import derived
from sync.server.console import exports
from sync.server.points import service, views

Screenshot = Callable[[Any, str], Path]
pytestmark = pytest.mark.parametrize("console", ["sqlite"], indirect=True)
CANVASES: Final = ("chart-revenue", "chart-tenders", "chart-visits", "chart-satisfaction")
SIGN: Final = {"sale": 1, "refund": -1, "void": -1}
PAINTED: Final = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) { painted++; } }
  return painted;
}"""
CHART_OF: Final = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  return chart ? {type: chart.config.type, labels: chart.data.labels,
                  datasets: chart.data.datasets.length} : null;
}"""


def journal_total(console: ConsoleServer, day: str) -> int:
    """The day's net total from the journals' own lines (independent of the server)."""
    total = 0
    for journal in console.journals.values():
        for line in journal.lines():
            entry = json.loads(line)
            if entry["day"] == day and entry["kind"] in SIGN:
                total += SIGN[entry["kind"]] * int(entry["body"]["total"])
    return total


def test_csv_export_downloads_through_the_browser(console: ConsoleServer, admin_page: Any,
                                                  screenshot: Screenshot) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/console/exports")
    form = page.locator('form[action="/console/exports/csv"]')
    form.locator('input[name=span][value=day]').check()
    form.locator("input[name=day]").fill(DAY)
    form.locator("select[name=facility]").select_option("")
    form.locator("select[name=encoding]").select_option("utf-8-bom")
    screenshot(page, "exports")
    with page.expect_download() as info:
        form.locator("button[type=submit]").click()
    download = info.value
    assert download.suggested_filename == f"madoguchi_{DAY}_all_utf-8-bom.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(exports.HEADERS) and "受付番号" in rows[0]
    assert f"{DISCREPANT.upper()}-2" in {row["受付番号"] for row in rows}
    with console.engine.begin() as conn:
        day_total = derived.day_report(conn, DAY)["all"]["total"]
    assert sum(int(row["金額"]) for row in rows) == day_total == journal_total(console, DAY)
    assert day_total > 0


def test_charts_are_drawn_in_the_browser(console: ConsoleServer, admin_page: Any,
                                         screenshot: Screenshot) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/console/charts?month={DAY[:7]}")
    embedded = json.loads(page.locator("#chart-data").text_content())
    for canvas, key in zip(CANVASES, ("revenue", "tenders", "visits", "satisfaction"),
                           strict=True):
        chart = page.evaluate(CHART_OF, canvas)
        assert chart is not None, f"no Chart.js chart on #{canvas}"
        assert chart["labels"] == embedded[key]["labels"]
        assert chart["datasets"] == len(embedded[key]["datasets"]) >= 1
        # animations end: wait until the canvas holds a real drawing, not a blank
        page.wait_for_function(f"({PAINTED})('{canvas}') > 2000")
    assert DAY in embedded["revenue"]["labels"]
    assert sum(sum(d["data"]) for d in embedded["revenue"]["datasets"]) > 0
    screenshot(page, "charts")


def test_points_page_and_transfer_in_the_browser(console: ConsoleServer, admin_page: Any,
                                                 screenshot: Screenshot,
                                                 tmp_path: Path) -> None:
    seed = seed_points(console.engine, tmp_path)
    try:
        page = admin_page
        page.goto(f"{console.base_url}/console/points?start=2026-11-01&end=2026-11-30")
        with console.engine.begin() as conn:
            summary = views.budget_summary(conn)
        for name in ("budget", "granted", "standing", "budget_left"):
            cell = page.locator(f'[data-figure="{name}"]')
            assert int(cell.get_attribute("data-value")) == summary[name]
            assert cell.inner_text() == f"{summary[name]:,}"
        assert page.locator("#corrections tbody tr").count() == 1
        page.locator("#unusual a").first.click()
        page.wait_for_selector("#history")
        assert page.locator("#history tbody tr").count() >= 3
        screenshot(page, "points")

        page.fill("#transfer input[name=from_card]", LOST)
        page.fill("#transfer input[name=to_card]", NEW)
        page.fill("#transfer textarea[name=reason]", "紛失 (lost card)")
        page.click("#transfer button[type=submit]")
        page.wait_for_selector("#transferred")
        assert "400 ポイントを移行しました" in page.locator("#transferred").inner_text()
        assert page.locator("#history-card").inner_text() == f"{NEW[:8]}…"
        with console.engine.begin() as conn:
            assert (service.balance(conn, LOST), service.balance(conn, NEW)) == (0, 400)
        screenshot(page, "points-transfer")
    finally:
        seed.close()
