"""Card reader on PC/SC (pyscard over pcscd): Sony RC-S300, ACS ACR122U / ACR1252 and others.

Transport: ``ScardSession`` wraps pyscard's ``smartcard.scard`` calls and turns every
failing return code into our error tree. Adapter: ``PcscReader`` waits for card events with
``SCardGetStatusChange``, recognises FeliCa from the ATR (PC/SC Part 3), reads the IDm with
GET DATA ``FF CA 00 00 00`` and, for readers that can (ACR122U), polls the card for PMm and
system code. Readers that cannot give PMm report ``pmm=b""`` and ``UNKNOWN_SYSTEM_CODE``.
"""

from __future__ import annotations

import logging

from smartcard import scard  # type: ignore[import-untyped]

from drivers.cards.base import BackgroundReader
from drivers.cards.felica import (
    GET_DATA_UID,
    UNKNOWN_SYSTEM_CODE,
    FelicaFormatError,
    build_acr122_polling,
    card_from_atr,
    parse_acr122_polling,
    parse_get_data_idm,
)
from terminal.errors import (
    CardRemoved,
    DeviceError,
    DeviceProtocolError,
    DeviceUnavailable,
)
from terminal.points import mask_idm

log = logging.getLogger(__name__)

SERVICE_GONE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED,
                scard.SCARD_E_INVALID_HANDLE, scard.SCARD_F_COMM_ERROR}
READER_GONE = {scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE,
               scard.SCARD_E_NO_READERS_AVAILABLE}
CARD_GONE = {scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_RESET_CARD,
             scard.SCARD_W_UNRESPONSIVE_CARD, scard.SCARD_E_NOT_TRANSACTED,
             scard.SCARD_E_COMM_DATA_LOST}


def _message(hresult: int) -> str:
    return f"{scard.SCardGetErrorMessage(hresult).strip()} (0x{hresult & 0xFFFFFFFF:08X})"


def scard_error(hresult: int, what: str) -> DeviceError:
    """Translate a PC/SC return code into our error tree."""
    if hresult in SERVICE_GONE:
        return DeviceUnavailable(f"{what}: the PC/SC service is not running "
                                 f"({_message(hresult)}): start pcscd")
    if hresult in READER_GONE:
        return DeviceUnavailable(f"{what}: the reader is gone ({_message(hresult)}): "
                                 "plug it in again")
    if hresult in CARD_GONE:
        return CardRemoved(f"{what}: the card left the reader ({_message(hresult)}): "
                           "tap again and hold the card still")
    return DeviceProtocolError(f"{what}: {_message(hresult)}")


class ScardSession:
    """One PC/SC context (transport: bytes in, bytes out, errors translated)."""

    def __init__(self) -> None:
        hresult, self._context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise scard_error(hresult, "cannot open PC/SC")

    def close(self) -> None:
        scard.SCardReleaseContext(self._context)

    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self._context, [])
        if hresult in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE):
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise scard_error(hresult, "cannot list PC/SC readers")
        return list(names)

    def wait(self, reader: str, known: int, timeout_ms: int) -> tuple[int, bytes] | None:
        """Wait for a state change of ``reader``; (event state, ATR), or None on timeout."""
        hresult, states = scard.SCardGetStatusChange(self._context, timeout_ms,
                                                     [(reader, known)])
        if hresult == scard.SCARD_E_TIMEOUT:
            return None
        if hresult != scard.SCARD_S_SUCCESS:
            raise scard_error(hresult, f"PC/SC reader {reader!r}")
        _, event_state, atr = states[0]
        return int(event_state), bytes(atr)

    def exchange(self, reader: str, apdus: list[bytes]) -> list[bytes | DeviceError]:
        """Connect to the card, send each APDU in turn, disconnect (leaving the card)."""
        hresult, card, protocol = scard.SCardConnect(
            self._context, reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hresult != scard.SCARD_S_SUCCESS:
            raise scard_error(hresult, f"cannot connect to the card on {reader!r}")
        pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        answers: list[bytes | DeviceError] = []
        try:
            for apdu in apdus:
                hresult, response = scard.SCardTransmit(card, pci, list(apdu))
                if hresult != scard.SCARD_S_SUCCESS:
                    command = apdu[:4].hex(" ").upper()
                    answers.append(scard_error(hresult, f"{command} on {reader!r}"))
                    break
                answers.append(bytes(response))
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        return answers


class PcscReader(BackgroundReader):
    """A ``CardReader`` on the first PC/SC reader whose name starts with the prefix
    (any reader when the prefix is None)."""

    def __init__(self, reader_name_prefix: str | None, name: str, *,
                 felica_polling: bool = False, wait_ms: int = 200,
                 retry_interval: float = 0.5) -> None:
        super().__init__(name)
        self.prefix = reader_name_prefix
        self.felica_polling = felica_polling
        self._wait_ms = wait_ms
        self._retry_interval = retry_interval
        self._session: ScardSession | None = None
        self._reader: str | None = None
        self._known = scard.SCARD_STATE_UNAWARE
        self._events = -1  # pcsc-lite's card event counter (upper 16 bits of the state)
        self._start()

    def _step(self) -> None:
        try:
            self._attach()
            assert self._session is not None and self._reader is not None
            change = self._session.wait(self._reader, self._known, self._wait_ms)
        except DeviceUnavailable as exc:
            self._detach(exc)
            return
        except DeviceError as exc:  # anything else from the service: start afresh
            self._detach(DeviceUnavailable(f"{exc}; reconnecting to PC/SC"), reset=True)
            return
        if change is None:
            self._healthy()  # healthy only once the reader answered: no flapping reports
        else:
            self._on_state(*change)

    def _attach(self) -> None:
        if self._session is None:
            self._session = ScardSession()
        if self._reader is None:
            names = self._session.readers()
            wanted = [n for n in names if self.prefix is None or n.startswith(self.prefix)]
            if not wanted:
                found = ", ".join(names) or "none"
                raise DeviceUnavailable(
                    f"no PC/SC reader named {self.prefix or 'anything'!r}… (found: {found}): "
                    "plug the reader in or fix the name in the kiosk config")
            self._reader, self._known, self._events = wanted[0], scard.SCARD_STATE_UNAWARE, -1
            log.info("card reader %s uses PC/SC reader %r", self.name, self._reader)

    def _detach(self, error: DeviceUnavailable, reset: bool = False) -> None:
        if (reset or "PC/SC service" in str(error)) and self._session is not None:
            self._session.close()
            self._session = None
        self._reader = None
        self._fault(error)
        self._wait(self._retry_interval)

    def _on_state(self, state: int, atr: bytes) -> None:
        self._known = state & ~scard.SCARD_STATE_CHANGED
        if state & (scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_UNKNOWN):
            self._detach(DeviceUnavailable(
                f"PC/SC reader {self._reader!r} is unavailable: plug it in again"))
            return
        self._healthy()
        events = state >> 16
        another = self._events not in (-1, events)  # removed and re-tapped between waits
        self._events = events
        if not state & scard.SCARD_STATE_PRESENT:
            self._card_gone()
            return
        if self._present is not None and not another:
            return  # the same card is still on the reader: one tap
        self._card_gone()
        self._read_card(atr)

    def _read_card(self, atr: bytes) -> None:
        assert self._session is not None and self._reader is not None
        try:
            idm, pmm, system_code = self._identify(self._session, self._reader, atr)
        except DeviceUnavailable as exc:
            self._detach(exc)
            return
        except DeviceError as exc:
            self._card_error(None, exc)
            return
        self._card_seen(idm, pmm, system_code)

    def _identify(self, session: ScardSession, reader: str, atr: bytes
                  ) -> tuple[bytes, bytes, int]:
        try:
            card = card_from_atr(atr)
        except FelicaFormatError as exc:
            raise DeviceProtocolError(f"{reader!r}: unreadable ATR: {exc}") from exc
        if card is None or not card.is_felica:
            kind = "unknown" if card is None else f"card name {card.card_name:04X}"
            raise DeviceProtocolError(
                f"{reader!r}: the card is not FeliCa ({kind}, ATR {atr.hex().upper()}): "
                "use a transit IC / Hachica card")
        apdus = [GET_DATA_UID] + ([build_acr122_polling()] if self.felica_polling else [])
        answers = session.exchange(reader, apdus)
        first = answers[0]
        if isinstance(first, DeviceError):
            raise first
        if not first:  # no status word at all: the card went away during the exchange
            raise CardRemoved(f"{reader!r}: no answer to GET DATA, the card left the reader: "
                              "tap again and hold the card still")
        idm = parse_get_data_idm(first)
        pmm, system_code = b"", UNKNOWN_SYSTEM_CODE
        if self.felica_polling and len(answers) > 1:
            pmm, system_code = self._polling_details(answers[1], idm)
        return idm, pmm, system_code

    def _polling_details(self, answer: bytes | DeviceError, idm: bytes) -> tuple[bytes, int]:
        if isinstance(answer, CardRemoved):
            raise answer
        try:
            if isinstance(answer, DeviceError):
                raise answer
            polling = parse_acr122_polling(answer)
        except DeviceProtocolError as exc:
            log.info("card reader %s: no FeliCa polling for card %s (%s)", self.name,
                     mask_idm(idm), exc)
            return b"", UNKNOWN_SYSTEM_CODE
        if polling is None or polling.idm != idm or polling.system_code is None:
            return b"", UNKNOWN_SYSTEM_CODE
        return polling.pmm, polling.system_code

    def _shutdown(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
