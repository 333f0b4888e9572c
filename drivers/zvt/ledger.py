"""The ZVT simulator's own record of what it booked: the terminal's truth.

Kept in memory and, given a path, appended to a JSON-lines file (fsync'd per line) so it
survives a restart of the simulator, like a real terminal's journal. Tests read it to prove
that nothing was charged twice.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from drivers.ledger_file import append_record, read_records


@dataclass(frozen=True, slots=True)
class Booking:
    op: str  # "sale" | "void" | "refund"
    ref: str
    amount: int
    kind: str
    card_type: int
    receipt_no: int
    trace_no: int
    approved: bool
    result_code: int
    approval_code: str = ""
    original_receipt: int | None = None

    @property
    def signed(self) -> int:
        return self.amount if self.op == "sale" else -self.amount


class SimLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.bookings: list[Booking] = []
        self.batch_no = 0
        self._batch_start = 0
        self._lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        for record in read_records(path):  # a torn last line never completed
            if record.get("op") == "batch":
                self.batch_no = int(record["batch_no"])
                self._batch_start = len(self.bookings)
            else:
                self.bookings.append(Booking(**record))

    def _write(self, record: dict[str, object]) -> None:
        if self.path is not None:
            append_record(self.path, record)

    def next_numbers(self) -> tuple[int, int]:
        """(receipt number 1..9999, trace number 1..999999) for the next booking."""
        n = len(self.bookings)
        return n % 9999 + 1, n % 999999 + 1

    def book(self, booking: Booking) -> Booking:
        with self._lock:
            self._write(asdict(booking))
            self.bookings.append(booking)
        return booking

    def by_ref(self, ref: str) -> Booking | None:
        found = [b for b in self.bookings if b.ref == ref]
        return found[-1] if found else None

    def by_receipt(self, receipt_no: int) -> Booking | None:
        found = [b for b in self.bookings if b.receipt_no == receipt_no]
        return found[-1] if found else None

    def is_reversed(self, receipt_no: int) -> bool:
        return any(b.op == "void" and b.approved and b.original_receipt == receipt_no
                   for b in self.bookings)

    def charges(self, ref: str | None = None) -> list[Booking]:
        """Approved sales (optionally for one ref): what was taken from cards."""
        return [b for b in self.bookings if b.op == "sale" and b.approved
                and (ref is None or b.ref == ref)]

    def close_batch(self) -> tuple[int, int, dict[str, int]]:
        """End of day: (batch number, count, net total per tender kind) since the last one."""
        with self._lock:
            batch = [b for b in self.bookings[self._batch_start:] if b.approved]
            totals: dict[str, int] = {}
            for b in batch:
                totals[b.kind] = totals.get(b.kind, 0) + b.signed
            self.batch_no += 1
            self._batch_start = len(self.bookings)
            self._write({"op": "batch", "batch_no": self.batch_no})
            return self.batch_no, len(batch), totals
