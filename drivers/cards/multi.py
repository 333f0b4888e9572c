"""Several card readers as one: ``MultiReader`` merges the events of its readers.

Each event keeps the ``reader`` name of the reader it came from. A reader's error is raised
from ``poll`` as it is (its message names the reader); the other readers keep working.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from terminal.errors import DeviceError
from terminal.ports import CardEvent, CardReader

SLICE = 0.01  # seconds between rounds over idle readers


class MultiReader:
    """A ``CardReader`` over several ``CardReader`` instances (round robin, fair)."""

    def __init__(self, readers: Sequence[CardReader], name: str = "all") -> None:
        if not readers:
            raise ValueError("MultiReader needs at least one reader")
        names = [r.name for r in readers]
        if len(set(names)) != len(names):
            raise ValueError(f"reader names must be unique to tell events apart: {names}")
        self.name = name
        self.readers = list(readers)
        self._next = 0

    def poll(self, timeout: float) -> CardEvent | None:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            for _ in range(len(self.readers)):
                reader = self.readers[self._next]
                self._next = (self._next + 1) % len(self.readers)
                event = reader.poll(0)
                if event is not None:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(SLICE, left))

    @property
    def status(self) -> DeviceError | None:
        """The first failing reader's error, or None while every reader works."""
        return next((r.status for r in self.readers if r.status is not None), None)

    def close(self) -> None:
        errors: list[BaseException] = []
        for reader in self.readers:
            try:
                reader.close()
            except Exception as exc:  # close every reader, then report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]
