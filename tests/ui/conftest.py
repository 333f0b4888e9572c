"""Offscreen Qt for the UI tests, with two virtual screens (set before any Qt import)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SCREENS = [
    {"name": "0-clerk", "x": 0, "y": 0, "width": 1024, "height": 768, "logicalDpi": 96,
     "logicalBaseDpi": 96, "dpr": 1},
    {"name": "1-customer", "x": 1024, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
     "logicalBaseDpi": 96, "dpr": 1},
]
_CONFIG = Path(tempfile.mkdtemp(prefix="madoguchi-qt-")) / "screens.json"
_CONFIG.write_text(json.dumps({"screens": SCREENS}), "utf-8")
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_CONFIG}"
os.environ["QT_QUICK_BACKEND"] = "software"
os.environ["LANG"] = "ja_JP.UTF-8"

sys.path.insert(0, str(Path(__file__).parent))  # uihelpers

import pytest  # noqa: E402
from uihelpers import emv_like, wait_idle  # noqa: E402

from drivers.printer.simulator import NetworkPrinterSimulator  # noqa: E402
from ui.app import App  # noqa: E402
from ui.demo import demo_context  # noqa: E402


@pytest.fixture
def printer_sim() -> Iterator[NetworkPrinterSimulator]:
    sim = NetworkPrinterSimulator(port=0).start()
    yield sim
    sim.close()


@pytest.fixture
def make_app(qtbot: Any, tmp_path: Path) -> Iterator[Callable[..., App]]:
    """Build, show and (at teardown) close an App on a journal in ``tmp_path``."""
    apps: list[App] = []

    def build(screens: int | None = None, **overrides: Any) -> App:
        overrides.setdefault("auto_lock_seconds", 0)
        overrides.setdefault("qr_payload", emv_like)
        overrides.setdefault("status_interval_s", 0.2)
        context = demo_context(tmp_path, **overrides)
        app = App(context, screens)
        apps.append(app)
        app.show()
        wait_idle(qtbot, app)
        return app

    yield build
    for app in apps:
        app.close()
        app.context.counter.journal.close()
