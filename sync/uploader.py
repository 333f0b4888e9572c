"""The background uploader: pushes the journal to the server, never in the way of selling.

It reads the journal through its own read-only connection (opened per push), so it never
holds the counter's write lock; selling never waits for the network. Entries go in seq order
in batches; the server's ack says where to resume (it may ack less than was sent, or report a
gap: either way the uploader resends from ack+1). Retryable failures back off exponentially
with full jitter; a fork (tamper alarm) or a refusal stops the uploader for good, and its
status says why.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from sync.client import ForkDetected, PushResult, ServerRefused, ServerUnavailable, SyncError
from sync.protocol import MAX_BATCH_ENTRIES
from terminal.errors import JournalError
from terminal.journal.store import Journal

Progress = Callable[[int, int], None]

DEFAULT_BATCH: Final = 500
MAX_STALLS: Final = 3
"""Consecutive responses that do not raise the ack before the push is called failed."""


class PushClient(Protocol):
    """What the uploader needs of ``ServerClient``."""

    def head(self) -> int: ...

    def push(self, lines: Sequence[str]) -> PushResult: ...


@dataclass(frozen=True, slots=True)
class PushOutcome:
    sent: int
    stored: int
    duplicates: int
    ack: int
    last_seq: int

    @property
    def complete(self) -> bool:
        return self.ack >= self.last_seq


def behind_message(outcome: PushOutcome) -> str:
    """The warning when the server holds more entries than the journal (an older copy?)."""
    return (
        f"サーバーはこのジャーナルより多くのエントリを持っています (the server holds "
        f"{outcome.ack:,} entries, this journal only {outcome.last_seq:,}: was it replaced by "
        "an older copy? 販売を止めて管理者に連絡してください — stop selling and tell the "
        "administrator; madoguchi restore rebuilds it)"
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Uploader:
    """Pushes one journal to the server; implements ``terminal.ports.UploaderStatus``."""

    def __init__(
        self,
        journal_path: Path,
        client: PushClient,
        batch_size: int = DEFAULT_BATCH,
        clock: Callable[[], datetime] = _utc_now,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] | None = None,
        poll_interval: float = 2.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH_ENTRIES:
            raise ValueError(f"batch_size {batch_size} must be 1..{MAX_BATCH_ENTRIES}")
        self.journal_path = Path(journal_path)
        self._client = client
        self.batch_size = batch_size
        self._clock = clock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._lock = threading.Lock()
        self._ack: int | None = None
        self._last_seq = 0
        self._last_success: datetime | None = None
        self._last_error: str | None = None
        self._halted = False
        self._attempt = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- status (UploaderStatus) -----------------------------------------------------------

    def pending(self) -> int:
        """Entries in the journal the server has not acknowledged (as last seen)."""
        with self._lock:
            return max(0, self._last_seq - (self._ack or 0))

    def last_success(self) -> datetime | None:
        with self._lock:
            return self._last_success

    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error

    @property
    def ack(self) -> int | None:
        with self._lock:
            return self._ack

    @property
    def halted(self) -> bool:
        """True after a fork or a refusal: the uploader stopped for good."""
        with self._lock:
            return self._halted

    def _note(self, *, ack: int | None = None, last_seq: int | None = None) -> None:
        with self._lock:
            if ack is not None:
                self._ack = ack
            if last_seq is not None:
                self._last_seq = last_seq

    def _fail(self, exc: BaseException, halt: bool = False) -> None:
        with self._lock:
            self._last_error = str(exc)
            self._halted = self._halted or halt

    # -- one push ----------------------------------------------------------------------------

    def push_once(self, progress: Progress | None = None) -> PushOutcome:
        """Send every entry the server lacks; return when the server acked the journal's end.

        Raises ServerUnavailable (retry later), ServerRefused or ForkDetected (stop).
        """
        with Journal.open_readonly(self.journal_path) as journal:
            last = journal.last_seq
            self._note(last_seq=last)
            ack = self.ack
            if ack is None:
                ack = self._client.head()
                self._note(ack=ack)
            outcome = self._push_from(journal, ack, last, progress)
        with self._lock:
            self._last_success = self._clock()
            self._last_error = None if outcome.ack <= last else behind_message(outcome)
        return outcome

    def _push_from(self, journal: Journal, ack: int, last: int,
                   progress: Progress | None) -> PushOutcome:
        sent = stored = duplicates = stalls = 0
        best = ack
        if progress is not None:
            progress(min(ack, last), last)
        while ack < last:
            lines = list(journal.lines(ack + 1, min(ack + self.batch_size, last)))
            result = self._client.push(lines)
            sent += len(lines)
            stored += result.stored
            duplicates += result.duplicates
            ack = result.ack
            self._note(ack=ack)
            if ack > best:
                best, stalls = ack, 0
            else:
                stalls += 1
                if stalls >= MAX_STALLS:
                    raise ServerUnavailable(
                        f"サーバーが受信を確認しません (the server does not acknowledge: "
                        f"ack stays at {ack} of {last})"
                    )
            if progress is not None:
                progress(min(ack, last), last)
        return PushOutcome(sent, stored, duplicates, ack, last)

    # -- background thread -------------------------------------------------------------------

    def backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**attempt)), but never before Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt, 62))
        delay = self._rng.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        return delay

    def _has_work(self) -> bool:
        if not self.journal_path.exists():
            return False
        with Journal.open_readonly(self.journal_path) as journal:
            last = journal.last_seq
        self._note(last_seq=last)
        ack = self.ack
        return last > 0 and (ack is None or last > ack)

    def _step(self) -> float | None:
        """One round of the loop: the pause before the next (None: stop for good)."""
        try:
            if self._has_work():
                self.push_once()
        except ServerUnavailable as exc:
            self._fail(exc)
            self._attempt += 1
            return self.backoff_delay(self._attempt - 1, exc.retry_after)
        except (ForkDetected, ServerRefused) as exc:
            self._fail(exc, halt=True)
            return None
        except (JournalError, SyncError) as exc:
            self._fail(JournalError(f"ジャーナルを読めません (cannot read the journal): {exc}"))
        self._attempt = 0
        return self.poll_interval

    def run_forever(self, stop: threading.Event) -> None:
        """Push whenever new entries exist until ``stop`` is set or a fork/refusal halts it."""
        self._attempt = 0
        while not stop.is_set() and not self.halted:
            delay = self._step()
            if delay is None:
                return
            backing_off = self._attempt > 0
            if self._sleep is not None:
                self._sleep(delay)
            elif backing_off:
                stop.wait(delay)  # new entries do not cut a backoff short
            else:
                self._wake.wait(delay)
                self._wake.clear()

    def notify(self) -> None:
        """New entries were appended: push soon (without waiting for the next poll)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_forever, args=(self._stop,), name="madoguchi-uploader", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
