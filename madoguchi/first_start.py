"""First start of ``madoguchi run``: enroll a counter that is not enrolled yet.

A counter is enrolled when its data folder holds the pinned server key and a server URL is
known (``server.url`` saved at enrollment, else the config's). Until then ``madoguchi run``
shows the enrollment screen (``ui.enroll_screen``) before the counter app; the same can be
done from a shell with ``madoguchi enroll``. Only a counter configured without a server may
skip enrollment and run offline.

This module is the glue the UI may not be: it wraps ``sync.enrollment.enroll_terminal`` and
turns the sync client's errors into the screen's ``EnrollError`` kinds. The code is never
logged or put into a message.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from kiosk_config.schema import KioskConfig
from sync.client import ServerRefused, ServerUnavailable
from sync.enrollment import enroll_terminal, load_server_key, load_server_url
from terminal.errors import JournalError
from terminal.journal.keys import TerminalKey
from ui.enroll_text import Enrolled, EnrollError, EnrollFacts, EnrollFn, Failure, StartChoice

Show = Callable[[EnrollFacts, EnrollFn], StartChoice | None]
"""Shows the enrollment screen until a choice (``ui.enroll_screen.run_enrollment``)."""

_CODE_REFUSALS: tuple[tuple[str, Failure], ...] = (  # sync.server.enroll._why_refused
    ("code is not known", Failure.CODE_UNKNOWN),
    ("already used", Failure.CODE_USED),
    ("has expired", Failure.CODE_EXPIRED),
    ("was issued for terminal", Failure.CODE_OTHER),
)


def needs_enrollment(config: KioskConfig) -> bool:
    """True while the counter has no (valid) pinned server key or no known server URL."""
    try:
        key = load_server_key(config)
    except JournalError:
        return True  # a damaged pinned key: enrolling again replaces it
    return key is None or load_server_url(config) is None


def enroll_facts(config: KioskConfig) -> EnrollFacts:
    return EnrollFacts(
        terminal=config.terminal_id,
        facility=f"{config.facility_id}（{config.facility_name.ja}）",
        server_url=config.server_url,
        offline_allowed=config.server_url is None,
    )


def _refusal(exc: ServerRefused) -> EnrollError:
    server_says = str(exc).partition(f"(HTTP {exc.status}): ")[2] or str(exc)
    detail = f"HTTP {exc.status}: {server_says}"
    if exc.status == 404:  # no enroll endpoint there: not our server, or a wrong path
        return EnrollError(Failure.ANSWER, detail)
    if exc.status == 409:  # the terminal id is enrolled with another key
        return EnrollError(Failure.CONFLICT, detail)
    for needle, kind in _CODE_REFUSALS:
        if exc.status == 403 and needle in server_says:
            return EnrollError(kind, detail)
    return EnrollError(Failure.REFUSED, detail)


def _unavailable(exc: ServerUnavailable) -> EnrollError:
    text = str(exc)
    if "(server unreachable)" in text or "(server timed out)" in text:
        return EnrollError(Failure.UNREACHABLE, text)
    if "malformed" in text:
        return EnrollError(Failure.ANSWER, text)
    return EnrollError(Failure.BUSY, text)  # 5xx, or 429 after too many wrong codes


def enroller(config: KioskConfig) -> EnrollFn:
    """``enroll(server_url, code)`` for the screen: ``enroll_terminal`` with its errors as
    ``EnrollError`` kinds (anything else is a bug the screen reports as unexpected)."""

    def enroll(server_url: str, code: str) -> Enrolled:
        try:  # first the counter's own key, so a key problem is not blamed on the server
            TerminalKey.load_or_create(config.key_path)
        except (OSError, JournalError) as exc:
            raise EnrollError(Failure.LOCAL, f"{config.key_path}: {exc}") from exc
        try:
            result = enroll_terminal(config, server_url, code)
        except ServerRefused as exc:
            raise _refusal(exc) from exc
        except ServerUnavailable as exc:
            raise _unavailable(exc) from exc
        except JournalError as exc:  # the server's key is not an Ed25519 key
            raise EnrollError(Failure.ANSWER, str(exc)) from exc
        except OSError as exc:
            raise EnrollError(Failure.LOCAL, f"{config.data_dir}: {exc}") from exc
        return Enrolled(result.server_url, result.terminal_fingerprint,
                        result.server_fingerprint, result.replaced_server_key)

    return enroll


def first_start(config: KioskConfig, show: Show | None = None) -> StartChoice | None:
    """The server URL ``madoguchi run`` starts with (None: offline), after the enrollment
    screen if the counter is not enrolled yet; None when that screen was closed."""
    if not needs_enrollment(config):
        return StartChoice(load_server_url(config))
    print(f"madoguchi: 端末 {config.terminal_id} は未登録です。登録画面を表示します "
          "(not enrolled yet: showing the enrollment screen; or run madoguchi enroll)",
          file=sys.stderr)
    if show is None:
        from ui.enroll_screen import run_enrollment

        show = run_enrollment
    choice = show(enroll_facts(config), enroller(config))
    if choice is None:
        print("madoguchi: 登録せずに登録画面が閉じられました (the enrollment screen was closed "
              "before enrolling): 登録してから起動してください (enroll, then start again: "
              "madoguchi enroll)", file=sys.stderr)
    elif choice.server_url is None:
        print("madoguchi: サーバーなしで開始します (running offline without a server)",
              file=sys.stderr)
    return choice
