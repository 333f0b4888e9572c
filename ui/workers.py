"""Blocking work off the GUI thread; results come back as Qt signals on the GUI thread.

``Runner`` runs one job at a time (the counter is not thread-safe, and its journal must see
entries in order): each job runs in its own ``QThread`` and reports ``succeeded`` or
``failed``; the runner (a GUI-thread object) receives those queued and calls the job's
callbacks on the GUI thread. ``Poller`` calls a blocking read (card reader, QR scanner,
device status) in a loop on its own thread and emits what it read.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from terminal.errors import DeviceError
from ui.qt import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Task(QThread):
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # reported to the GUI thread, never swallowed
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)


@dataclass
class _Job:
    fn: Callable[[], object]
    done: Done | None
    failed: Failed | None
    name: str


class Runner(QObject):
    """A serial queue of blocking jobs, each run on a worker thread."""

    busy_changed = Signal(bool)
    job_failed = Signal(object)  # an exception of a job that had no ``failed`` callback

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[_Job] = deque()
        self._current: _Job | None = None
        self._task: _Task | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._current is not None or bool(self._queue)

    @property
    def current(self) -> str | None:
        return self._current.name if self._current is not None else None

    def submit(self, fn: Callable[[], object], done: Done | None = None,
               failed: Failed | None = None, name: str = "") -> None:
        """Queue ``fn``; ``done(result)`` or ``failed(exc)`` is called on the GUI thread."""
        if self._closed:
            return
        was_busy = self.busy
        self._queue.append(_Job(fn, done, failed, name or getattr(fn, "__name__", "job")))
        if not was_busy:
            self.busy_changed.emit(True)
        self._next()

    def _next(self) -> None:
        if self._current is not None or not self._queue:
            return
        self._current = self._queue.popleft()
        task = _Task(self._current.fn, self)
        task.succeeded.connect(self._on_succeeded)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_finished)
        self._task = task
        task.start()

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        job = self._current
        if job is not None and job.done is not None:
            job.done(result)

    @Slot(object)
    def _on_failed(self, exc: object) -> None:
        job = self._current
        error = exc if isinstance(exc, BaseException) else RuntimeError(str(exc))
        if job is not None and job.failed is not None:
            job.failed(error)
        else:
            log.warning("job %s failed: %s", job.name if job else "?", error)
            self.job_failed.emit(error)

    @Slot()
    def _on_finished(self) -> None:
        task, self._task, self._current = self._task, None, None
        if task is not None:
            task.wait()
            task.deleteLater()
        if self._queue:
            self._next()
        else:
            self.busy_changed.emit(False)

    def close(self, timeout_ms: int = 10_000) -> None:
        """Drop queued jobs and wait for the running one (at shutdown)."""
        self._closed = True
        self._queue.clear()
        if self._task is not None:
            self._task.wait(timeout_ms)


class Poller(QThread):
    """Calls ``read()`` (which waits at most a short timeout) until stopped.

    Emits ``value`` for each non-None result, ``fault`` once per DeviceError streak (then
    retries after ``backoff_s``), and ``healthy`` when a read succeeds after a fault.
    """

    value = Signal(object)
    fault = Signal(object)
    healthy = Signal()

    def __init__(self, read: Callable[[], object], backoff_s: float = 1.0,
                 interval_s: float = 0.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._read = read
        self._backoff_ms = int(backoff_s * 1000)
        self._interval_ms = int(interval_s * 1000)

    def run(self) -> None:
        faulty = False
        while not self.isInterruptionRequested():
            try:
                result = self._read()
            except DeviceError as exc:
                if not faulty:
                    self.fault.emit(exc)
                faulty = True
                self._sleep(self._backoff_ms)
                continue
            except Exception as exc:  # a driver bug: report it, keep the counter running
                log.exception("poller read failed")
                self.fault.emit(exc)
                faulty = True
                self._sleep(self._backoff_ms)
                continue
            if faulty:
                faulty = False
                self.healthy.emit()
            if result is not None:
                self.value.emit(result)
            self._sleep(self._interval_ms)

    def _sleep(self, ms: int) -> None:
        step = 50
        while ms > 0 and not self.isInterruptionRequested():
            self.msleep(min(step, ms))
            ms -= step

    def stop(self, timeout_ms: int = 5000) -> None:
        self.requestInterruption()
        self.wait(timeout_ms)
