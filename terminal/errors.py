"""The core's exception tree. Every error says what went wrong and what to do."""

from __future__ import annotations


class MadoguchiError(Exception):
    """Base of every error madoguchi raises on purpose."""


class DomainError(MadoguchiError):
    """A rule of the counter was broken (wrong amount, refund above the original...)."""


class ApprovalRequired(DomainError):
    """The operation needs a supervisor's approval."""


class AuthError(MadoguchiError):
    """Login failed, a clerk is locked out, or a role is missing."""


class JournalError(MadoguchiError):
    """The journal cannot be opened, read or appended to."""


class NotAJournal(JournalError):
    """The file is not a madoguchi journal (or not readable as one)."""


class WrongTerminal(JournalError):
    """The journal belongs to another terminal."""


class ConfigError(MadoguchiError):
    """A kiosk configuration is invalid."""


class DeviceError(MadoguchiError):
    """Base of device errors, translated at the driver boundary."""


class DeviceUnavailable(DeviceError):
    pass


class DeviceTimeout(DeviceError):
    pass


class DeviceProtocolError(DeviceError):
    pass


class CardRemoved(DeviceError):
    pass


class PaymentDeclined(DeviceError):
    pass
