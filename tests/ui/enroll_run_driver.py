"""Drives ``madoguchi run`` on an unenrolled counter in its own process (as a real start is):
types the code on the enrollment window, presses 開始, then closes the counter app; prints
what it saw as JSON. Usage: enroll_run_driver.py CONFIG BASE_URL CODE."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from kiosk_config.loader import load_config
from madoguchi.app_cli import run_command
from ui.app import application
from ui.clerk import ClerkWindow
from ui.enroll_screen import EnrollScreen
from ui.qt import QApplication, QTimer

TIMEOUT_S = 60


def type_in(screen: EnrollScreen, url: str, code: str) -> None:
    screen.choose_target("url")
    screen.keyboard.clear_key.click()
    screen.keyboard.type_text(url)
    screen.choose_target("code")
    screen.keyboard.type_text(code.replace("-", ""))


def main(config_path: str, base_url: str, code: str) -> int:
    config = load_config(config_path)
    seen: dict[str, Any] = {"typed": False, "enroll_screen": False, "receipt_url": ""}
    deadline = time.monotonic() + TIMEOUT_S

    def drive() -> None:
        for widget in QApplication.topLevelWidgets():
            if time.monotonic() > deadline:
                widget.close()  # give up: the caller's assertions fail
            elif isinstance(widget, EnrollScreen) and widget.isVisible():
                seen["enroll_screen"] = True
                if not seen["typed"]:
                    seen["typed"] = True
                    type_in(widget, base_url, code)
                    widget.enroll_button.click()
                elif widget.result is not None:
                    widget.start_button.click()
            elif isinstance(widget, ClerkWindow) and widget.isVisible():
                seen["receipt_url"] = widget.session.context.receipt_url(7, "ab" * 32) or ""
                widget.close()

    application()  # the timer needs the application run_command will reuse
    timer = QTimer()
    timer.timeout.connect(drive)
    timer.start(50)
    seen["returned"] = run_command(argparse.Namespace(config=str(config.source)))
    timer.stop()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
