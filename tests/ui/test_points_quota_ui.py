"""The app asks the points service for award quota by itself, between sales: at start and on a
timer (``AppContext.points_quota_interval_s``), never while a sale is open, and an unreachable
service only leaves it for the next tick."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uihelpers import login, wait_idle

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.counter import Counter, CounterSettings
from terminal.journal import Journal, TerminalKey
from terminal.points import PointsRules
from terminal.ports import TenderKind
from ui.app import App
from ui.demo import DEMO_CLERKS, TERMINAL, WallClock, demo_catalogue

KEY = b"test points key, 32 bytes long!!"
TENDERS: tuple[TenderKind, ...] = ("cash", "points")


def quota_entries(counter: Counter) -> list[dict[str, Any]]:
    return [e.body for e in counter.journal.entries() if e.kind == "points.quota"]


def quota_app(make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
              interval_s: float) -> App:
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    counter = Counter(journal, demo_catalogue(), CounterSettings(TERMINAL, tenders=TENDERS,
                                                                 facility="museum"),
                      DEMO_CLERKS, WallClock(), InProcessPaymentTerminal(random.Random(1)),
                      points=sim, points_rules=PointsRules())
    return make_app(counter=counter, points=sim, points_key=KEY,
                    points_quota_interval_s=interval_s)


def test_quota_is_asked_at_start_and_journaled(qtbot: Any, make_app: Callable[..., App],
                                               tmp_path: Path) -> None:
    sim = PointsSimulator(quota_chunk=600)
    app = quota_app(make_app, tmp_path, sim, interval_s=3600)
    counter = app.context.counter
    qtbot.waitUntil(lambda: len(quota_entries(counter)) == 1, timeout=10_000)
    assert quota_entries(counter)[0]["granted"] == 600
    assert counter.state.points.quota_left == 600
    app.session.hachica.refresh_quota()  # nothing used: the same grant, nothing journaled
    wait_idle(qtbot, app)
    assert len(quota_entries(counter)) == 1


def test_no_quota_request_while_a_sale_is_open_or_offline(
        qtbot: Any, make_app: Callable[..., App], tmp_path: Path) -> None:
    sim = PointsSimulator(quota_chunk=600)
    sim.offline = True
    app = quota_app(make_app, tmp_path, sim, interval_s=3600)
    counter = app.context.counter
    qtbot.waitUntil(lambda: any(op == "request_quota" for op, _ in sim.calls), timeout=10_000)
    wait_idle(qtbot, app)
    assert quota_entries(counter) == []  # offline at start: nothing, no error shown
    sim.offline = False
    login(qtbot, app)
    counter.add_item(counter.catalogue.items[0].code)  # a cart: a sale under way
    asked = len(sim.calls)
    app.session.hachica.refresh_quota()
    wait_idle(qtbot, app)
    assert quota_entries(counter) == [] and len(sim.calls) == asked  # not even asked
    counter.set_cart(counter.cart.clear())
    app.session.hachica.refresh_quota()
    qtbot.waitUntil(lambda: len(quota_entries(counter)) == 1, timeout=10_000)


def test_interval_zero_never_asks(qtbot: Any, make_app: Callable[..., App],
                                  tmp_path: Path) -> None:
    sim = PointsSimulator(quota_chunk=600)
    app = quota_app(make_app, tmp_path, sim, interval_s=0)
    wait_idle(qtbot, app)
    assert not app.session.hachica.quota_timer.isActive()
    assert quota_entries(app.context.counter) == []
