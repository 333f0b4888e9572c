"""Fixtures for the console tests: a seeded server (console_seed) served by a real uvicorn,
on SQLite and on PostgreSQL (which must answer: the tests fail, never skip, without it).

``console`` is module-scoped (seeding signs and ingests three journals and hashes four
passwords): tests that change state use their own users or terminal-days.

Browser fixtures (any test module may use them): ``browser`` (headless Debian chromium),
``admin_page`` (a Playwright page logged in as admin) and ``screenshot(page, name)``. Run a
browser test on SQLite only with
``@pytest.mark.parametrize("console", ["sqlite"], indirect=True)``."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from console.console_seed import PASSWORD, ConsoleServer, seed
from server_harness import pg_database, prepare, running_server

from sync.server.db import make_engine


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    tmp: Path = tmp_path_factory.mktemp("console")
    if request.param == "sqlite":
        yield from _serve(f"sqlite:///{tmp / 'server.db'}", tmp)
    else:
        with pg_database() as url:
            yield from _serve(url, tmp)


def _serve(url: str, tmp: Path) -> Iterator[ConsoleServer]:
    prepare(url)
    engine = make_engine(url)
    journals = seed(engine, tmp)
    try:
        with running_server(url, prepare_db=False) as base_url:
            yield ConsoleServer(base_url, url, engine, journals)
    finally:
        for journal in journals.values():
            journal.close()
        engine.dispose()


# -- the browser (Debian's chromium driven by Playwright; never 'playwright install') -------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium (Playwright ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def admin_page(console: ConsoleServer, browser: Any) -> Iterator[Any]:
    """A Playwright ``Page`` logged in to the console as "admin" (1280 x 900, ja-JP)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{console.base_url}/console/login")
    page.fill("input[name=user]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{console.base_url}/console/")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Any, str], Path]:
    """``screenshot(page, name)``: a full-page PNG in the test's tmp dir, copied to
    docs/screenshots/console-NAME.png."""
    def take(page: Any, name: str) -> Path:
        path = tmp_path / f"console-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
        return path

    return take
