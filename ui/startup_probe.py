"""``python -m ui.startup_probe``: start the app on a temporary journal and exit as soon as
the login screen is shown, printing the wall-clock time of that moment (for bench/startup.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="madoguchi-probe-") as tmp:
        from ui.app import App
        from ui.demo import demo_context
        from ui.qt import QTimer

        context = demo_context(Path(tmp))
        app = App(context)
        shown: list[float] = []

        def check() -> None:
            if app.clerk.isVisible() and app.clerk.current() == "login":
                shown.append(time.time())
                app.qapp.exit(0)
            else:
                QTimer.singleShot(5, check)

        app.show()
        QTimer.singleShot(0, check)
        code = app.qapp.exec()
        app.close()
        context.counter.journal.close()
    if shown:
        print(f"shown {shown[0]:.6f}")
    return int(code) if shown else 1


if __name__ == "__main__":
    sys.exit(main())
