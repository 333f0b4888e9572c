"""Installer tools: which card readers are there (``madoguchi devices``) and a self test."""

from __future__ import annotations

import logging
import time

from drivers.cards.felica import UNKNOWN_SYSTEM_CODE
from terminal.errors import DeviceError, DeviceTimeout
from terminal.points import mask_idm
from terminal.ports import CardReader, CardTapped

log = logging.getLogger(__name__)

NFCPY_USB_NAMES = {
    "rcs380": "Sony RC-S380",
    "rcs956": "Sony RC-S330/360",
    "pn533": "NXP PN533",
    "pn531": "NXP PN531",
    "acr122": "ACS ACR122U (use PC/SC instead)",
}


def pcsc_readers() -> list[str]:
    """Names of the PC/SC readers pcscd sees ([] when pcscd is not running)."""
    try:
        from smartcard import scard  # type: ignore[import-untyped]
    except ImportError:
        return []
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        log.info("PC/SC not available: %s", scard.SCardGetErrorMessage(hresult))
        return []
    try:
        hresult, names = scard.SCardListReaders(context, [])
        return list(names) if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def nfcpy_usb_readers() -> list[str]:
    """nfcpy paths of the supported USB readers plugged in (without opening them)."""
    try:
        import nfc.clf.device  # type: ignore[import-untyped]
        import usb1  # type: ignore[import-untyped]
    except ImportError:
        return []
    found: list[str] = []
    try:
        with usb1.USBContext() as context:
            for dev in context.getDeviceList(skip_on_error=True):
                key = (dev.getVendorID(), dev.getProductID())
                driver = nfc.clf.device.usb_device_map.get(key)
                if driver is not None:
                    label = NFCPY_USB_NAMES.get(driver, driver)
                    found.append(f"usb:{key[0]:04x}:{key[1]:04x} ({label})")
    except (OSError, usb1.USBError) as exc:
        log.info("cannot list USB devices: %s", exc)
    return found


def list_readers() -> list[str]:
    """Every card reader found: ``pcsc:<reader name>`` and ``usb:<vid>:<pid> (<model>)``."""
    return [f"pcsc:{name}" for name in pcsc_readers()] + nfcpy_usb_readers()


def describe(event: CardTapped) -> str:
    """A one-line description of a tap, with the IDm masked."""
    system = ("unknown (reader cannot poll)" if event.system_code == UNKNOWN_SYSTEM_CODE
              and not event.pmm else f"{event.system_code:04X}")
    pmm = event.pmm.hex().upper() or "not available from this reader"
    return f"IDm {mask_idm(event.idm)} PMm {pmm} system code {system} (reader {event.reader})"


def self_test(reader: CardReader, timeout: float) -> str:
    """Wait for a tap on ``reader``; return its description or raise ``DeviceError``."""
    deadline = time.monotonic() + timeout
    last_error: DeviceError | None = None
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = reader.poll(min(left, 0.5))
        except DeviceError as exc:
            last_error = exc
            continue
        if isinstance(event, CardTapped):
            return describe(event)
    hint = f" (last error: {last_error})" if last_error is not None else ""
    raise DeviceTimeout(
        f"no card tapped on reader {reader.name!r} within {timeout:g} s{hint}: "
        "check the reader's cable and light, then tap a card and hold it still")
