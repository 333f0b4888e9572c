"""Card reader on nfcpy: Sony RC-S380 and other nfcpy devices ("usb:...", "tty:...").

A worker thread owns the ``ContactlessFrontend`` and runs one FeliCa polling per round
(``sense`` with system code FFFF, request code 01 for the system code). Only the polling
answer is used: IDm, PMm and system code. Nothing else is read from a card (travel history
is private). "udp:host:port" reaches an emulated tag (``drivers.cards.simulator``).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from typing import Any

import nfc  # type: ignore[import-untyped]
import nfc.clf  # type: ignore[import-untyped]

from drivers.cards.base import BackgroundReader
from drivers.cards.felica import UNKNOWN_SYSTEM_CODE, FelicaFormatError, parse_sensf_res
from terminal.errors import DeviceError, DeviceProtocolError, DeviceUnavailable

log = logging.getLogger(__name__)

POLLING_REQUEST = bytes.fromhex("00FFFF0100")  # SENSF_REQ: wildcard system code, RC 01

Frontend = Any  # nfc.ContactlessFrontend (untyped library)


def open_frontend(path: str) -> Frontend:
    """Open an nfcpy frontend, translating its errors into ``DeviceUnavailable``."""
    try:
        return nfc.ContactlessFrontend(path)
    except OSError as exc:
        what = {
            errno.ENODEV: "no such reader",
            errno.EACCES: "permission denied (install the udev rule, or add the user to "
            "the plugdev group)",
            errno.EBUSY: "the reader is in use (another program, or the kernel's "
            "port100 module: blacklist it)",
        }.get(exc.errno or 0, str(exc))
        raise DeviceUnavailable(
            f"cannot open NFC reader {path!r}: {what}; plug it in or fix the path"
        ) from exc
    except (ValueError, ImportError, nfc.clf.Error) as exc:
        raise DeviceUnavailable(f"cannot open NFC reader {path!r}: {exc}") from exc


class NfcpyReader(BackgroundReader):
    """A ``CardReader`` on an nfcpy device path."""

    def __init__(self, path: str, name: str, *, interval: float = 0.05, miss_limit: int = 2,
                 retry_interval: float = 0.5,
                 frontend_factory: Callable[[str], Frontend] = open_frontend) -> None:
        super().__init__(name)
        self.path = path
        self._interval = interval
        self._miss_limit = max(1, miss_limit)
        self._retry_interval = retry_interval
        self._factory = frontend_factory
        self._clf: Frontend | None = None
        self._misses = 0
        self._start()

    def _step(self) -> None:
        if self._clf is None:
            try:
                self._clf = self._factory(self.path)
            except DeviceError as exc:
                self._fault(exc)
                self._wait(self._retry_interval)
                return
        try:
            found = self._sense(self._clf)
        except DeviceUnavailable as exc:
            self._close_frontend()
            self._fault(exc)
            self._wait(self._retry_interval)
            return
        except DeviceProtocolError as exc:
            self._healthy()
            if self._present is None:  # something answers: report once while it stays
                self._card_error(None, exc)
            self._misses = 0
        else:
            self._healthy()  # only once the reader answered: no flapping reports
            self._track(found)
        self._wait(self._interval)

    def _sense(self, clf: Frontend) -> tuple[bytes, bytes, int] | None:
        target = nfc.clf.RemoteTarget("212F", sensf_req=bytearray(POLLING_REQUEST))
        try:
            result = clf.sense(target)
        except OSError as exc:  # IOError ENODEV / usb errors: the reader went away
            raise DeviceUnavailable(
                f"NFC reader {self.name!r} ({self.path}) stopped answering ({exc}): "
                "check its USB cable; madoguchi keeps retrying"
            ) from exc
        except nfc.clf.UnsupportedTargetError as exc:
            raise DeviceUnavailable(
                f"NFC reader {self.name!r} ({self.path}) cannot poll FeliCa: use a FeliCa "
                "capable reader (RC-S380, PN533...)"
            ) from exc
        except nfc.clf.Error as exc:
            raise DeviceProtocolError(
                f"NFC reader {self.name!r}: FeliCa polling failed ({exc}): tap again"
            ) from exc
        if result is None or getattr(result, "sensf_res", None) is None:
            return None
        try:
            polling = parse_sensf_res(bytes(result.sensf_res))
        except FelicaFormatError as exc:
            raise DeviceProtocolError(
                f"NFC reader {self.name!r}: bad polling response ({exc}): tap again"
            ) from exc
        code = UNKNOWN_SYSTEM_CODE if polling.system_code is None else polling.system_code
        return polling.idm, polling.pmm, code

    def _track(self, found: tuple[bytes, bytes, int] | None) -> None:
        if found is not None:
            self._misses = 0
            self._card_seen(*found)
            return
        self._misses += 1
        if self._misses >= self._miss_limit:
            self._card_gone()

    def _close_frontend(self) -> None:
        clf, self._clf = self._clf, None
        if clf is not None:
            try:
                clf.close()
            except (OSError, nfc.clf.Error) as exc:
                log.debug("closing NFC reader %s: %s", self.path, exc)

    def _shutdown(self) -> None:
        self._close_frontend()
