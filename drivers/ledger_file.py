"""The simulators' own ledgers: JSON lines, one fsync'd line per record, like a device's
journal that survives its restart. A torn last line is a record that never completed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def append_record(path: Path, record: Mapping[str, Any]) -> None:
    """Append one record and return only once it is on disk."""
    with path.open("a", encoding="utf-8") as ledger:
        ledger.write(json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n")
        ledger.flush()
        os.fsync(ledger.fileno())


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete record, in order (a torn or garbled line is skipped)."""
    for line in path.read_text("utf-8").split("\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record
