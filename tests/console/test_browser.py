"""The console in a real browser (Debian's chromium, headless, driven by Playwright): log
in, open the day with the seeded discrepancy, drill down to an entry and its receipt, open
the receipt's public check page, mark the terminal-day explained. Screenshots are saved in
the test's tmp dir and copied to docs/screenshots/console-*.png.

More steps (helper E: 'export CSV and check its content', 'a chart is rendered') belong in
their own test functions using the same fixtures: ``admin_page``, ``screenshot``, ``console``
(see conftest.py); the CSV download, the drawn charts and the points page are in
test_browser_reports.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from console.console_seed import BATCH_CREDIT_OVER, DAY, DISCREPANT, Z_CASH_SHORT, ConsoleServer

Screenshot = Callable[[Any, str], Path]


@pytest.mark.parametrize("console", ["sqlite"], indirect=True)
def test_reconcile_drill_down_and_explain(console: ConsoleServer, admin_page: Any,
                                          screenshot: Screenshot) -> None:
    page = admin_page
    base = console.base_url
    page.goto(f"{base}/console/?day={DAY}")
    row = page.locator(f'tr[data-terminal="{DISCREPANT}"]')
    assert row.get_attribute("class") == "discrepancy"
    assert f"が ¥{Z_CASH_SHORT} 不一致" in row.inner_text()
    assert f"が ¥{BATCH_CREDIT_OVER:,} 不一致" in row.inner_text()
    assert page.locator("tr.discrepancy").count() == 1
    screenshot(page, "day")

    row.get_by_role("link", name=DISCREPANT).click()
    page.wait_for_url(f"{base}/console/day/{DAY}/{DISCREPANT}")
    assert page.locator("#status").inner_text() == "不一致 (discrepancy)"
    screenshot(page, "terminal-day")

    page.locator(f'a[href="/console/entry/{DISCREPANT}/3"]').click()
    page.wait_for_url(f"{base}/console/entry/{DISCREPANT}/3")
    assert "領収書" in page.locator("#receipt").inner_text()
    assert "検証済み" in page.locator("#signature").inner_text()
    screenshot(page, "receipt")

    entry = json.loads(list(console.journals[DISCREPANT].lines())[2])
    page.locator("#verify-link").click()
    page.wait_for_url(f"{base}/r/{DISCREPANT}/3/{entry['hash'][:16]}")
    assert "真正" in page.locator("h1").inner_text()
    screenshot(page, "receipt-check")

    page.goto(f"{base}/console/day/{DAY}/{DISCREPANT}")
    comment = "カード会社に照会し、二重計上と確認 (card company confirmed a double count)"
    page.fill("#explain textarea[name=comment]", comment)
    page.click("#explain button[type=submit]")
    page.wait_for_url(f"{base}/console/day/{DAY}/{DISCREPANT}")
    assert page.locator("#status").inner_text() == "説明済み (explained)"
    assert comment in page.locator(".explanation").first.inner_text()
    screenshot(page, "explained")

    page.goto(f"{base}/console/?day={DAY}")
    assert page.locator(f'tr[data-terminal="{DISCREPANT}"]').get_attribute("class") \
        == "explained"
    page.goto(f"{base}/console/terminals")
    screenshot(page, "terminals")
