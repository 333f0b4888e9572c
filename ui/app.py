"""The counter app: clerk window, customer display and (for the demo) the simulator panel."""

from __future__ import annotations

import sys
from pathlib import Path

from ui import theme
from ui.clerk import ClerkWindow
from ui.context import AppContext
from ui.customer import CustomerWindow
from ui.devices import Devices
from ui.qt import QApplication, QGuiApplication, QWidget
from ui.session import Session
from ui.sim_panel import SimulatorPanel
from ui.workers import Runner


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication(sys.argv[:1])


class App:
    """Builds and wires every window of one counter (tests drive it without ``exec``)."""

    def __init__(self, context: AppContext, screens: int | None = None) -> None:
        self.qapp = application()
        theme.apply(self.qapp)
        self.context = context
        self.runner = Runner()
        self.session = Session(context, self.runner)
        self.clerk = ClerkWindow(self.session)
        self.customer = CustomerWindow(self.session)
        self.simulators = SimulatorPanel(self.session) if context.simulators else None
        self.devices = Devices(self.session)  # after the windows: they show its first status
        self.screens = screens
        self.qapp.installEventFilter(self.clerk)
        self.clerk.closed.connect(self.qapp.quit)
        self._closed = False

    def windows(self) -> list[QWidget]:
        found: list[QWidget] = [self.clerk, self.customer]
        return found + ([self.simulators] if self.simulators is not None else [])

    def place(self) -> None:
        """Clerk window on the first screen; the customer display on the second if any."""
        available = QGuiApplication.screens()
        if self.screens is not None:
            available = available[: max(1, self.screens)]
        first = available[0].availableGeometry()
        self.clerk.move(first.topLeft())
        self.clerk.resize(max(1024, min(first.width(), 1920)),
                          max(768, min(first.height(), 1080)))
        if len(available) > 1:
            second = available[1].availableGeometry()
            self.customer.move(second.topLeft())
            self.customer.resize(second.width(), second.height())
        else:
            self.customer.move(first.topLeft().x() + 40, first.topLeft().y() + 40)
        if self.simulators is not None:
            self.simulators.move(first.right() - self.simulators.width(), first.top())

    def show(self) -> None:
        self.place()
        for window in self.windows():
            window.show()
        self.devices.start()
        self.clerk.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.qapp.removeEventFilter(self.clerk)
        self.devices.stop()
        self.runner.close()
        self.clerk.autolock.stop()
        for window in self.windows():
            window.close()
            window.deleteLater()


def run_app(context: AppContext, *, tour_dir: Path | None = None,
            screens: int | None = None) -> int:
    """Show the counter app and run it until the clerk window closes; returns the exit code.

    With ``tour_dir``, walk through every screen and flow with simulated input, in each
    language the screen offers, save PNGs of each window per step there, and exit (0 when
    every step ran).
    """
    app = App(context, screens)
    app.show()
    tour = None
    if tour_dir is not None:
        from ui.tour import Tour

        tour = Tour(app, tour_dir)
        tour.start()
    code = app.qapp.exec()
    app.close()
    if tour is not None:
        return tour.exit_code
    return int(code)
