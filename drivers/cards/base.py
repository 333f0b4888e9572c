"""What the card-reader adapters share: a worker thread that owns the device, a queue that
``poll`` reads, one-tap-per-presence bookkeeping and the reader's health status.

Errors travel through the same queue as events: ``poll`` raises each ``DeviceError`` once,
when it happens (a reader unplugged, a card pulled mid-read); the worker keeps polling and
``status`` says whether the reader is usable right now.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Self

from terminal.errors import DeviceError, DeviceUnavailable
from terminal.points import mask_idm
from terminal.ports import CardEvent, CardRemovedEvent, CardTapped

log = logging.getLogger(__name__)


class BackgroundReader:
    """Base of the adapters: subclasses implement ``_step`` (one round of device work)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue[CardEvent | DeviceError] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._status: DeviceError | None = None
        self._lock = threading.Lock()
        self._present: bytes | None = None  # IDm of the card on the reader (reported or not)
        self._tapped = False  # a CardTapped was emitted for the card on the reader
        self._thread: threading.Thread | None = None

    # --- the port -------------------------------------------------------------------
    def poll(self, timeout: float) -> CardEvent | None:
        """The next event within ``timeout`` seconds; raises a queued ``DeviceError``."""
        if self._thread is None or self._stop.is_set():
            raise DeviceUnavailable(f"card reader {self.name!r} is closed: open a new one")
        try:
            item = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if isinstance(item, DeviceError):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    @property
    def status(self) -> DeviceError | None:
        """None when the reader works; otherwise the error that keeps it from working."""
        with self._lock:
            return self._status

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- for subclasses --------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"card-reader:{self.name}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
        except Exception as exc:  # the worker must never die silently
            log.exception("card reader %s: worker stopped", self.name)
            self._queue.put(DeviceUnavailable(
                f"card reader {self.name!r} stopped after an unexpected error ({exc!r}): "
                "restart madoguchi and report this"))
        finally:
            self._shutdown()

    def _step(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Release the device (runs on the worker thread when it ends)."""

    def _wait(self, seconds: float) -> bool:
        """Sleep unless closed; True when the reader is closing."""
        return self._stop.wait(seconds)

    def _fault(self, error: DeviceError) -> None:
        """Report a reader-level fault once; ``status`` keeps it until ``_healthy``."""
        with self._lock:
            repeated = self._status is not None and str(self._status) == str(error)
            self._status = error
        if not repeated:
            log.warning("card reader %s: %s", self.name, error)
            self._forget_card()
            self._queue.put(error)

    def _healthy(self) -> None:
        with self._lock:
            was, self._status = self._status, None
        if was is not None:
            log.info("card reader %s is available again", self.name)

    def _card_error(self, idm: bytes | None, error: DeviceError) -> None:
        """A card could not be read: report it once for this presence of the card."""
        log.warning("card reader %s: %s", self.name, error)
        self._present, self._tapped = idm or b"?", False
        self._queue.put(error)

    def _card_seen(self, idm: bytes, pmm: bytes, system_code: int) -> None:
        if self._present == idm:
            return  # still the same card: one tap per presence
        if self._present is not None:
            self._card_gone()
        log.info("card reader %s: card %s tapped", self.name, mask_idm(idm))
        self._present, self._tapped = idm, True
        self._queue.put(CardTapped(idm=idm, pmm=pmm, system_code=system_code, reader=self.name))

    def _card_gone(self) -> None:
        if self._present is None:
            return
        if self._tapped:
            log.info("card reader %s: card removed", self.name)
            self._queue.put(CardRemovedEvent(reader=self.name))
        self._present, self._tapped = None, False

    def _forget_card(self) -> None:
        """The reader went away: a card on it counts as removed."""
        self._card_gone()

