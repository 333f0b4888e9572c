"""A counter refuses a journal of another terminal: its payment refs and receipts would name
the wrong counter."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from drivers.inprocess import InProcessPaymentTerminal
from terminal.counter import Counter, CounterSettings
from terminal.errors import ConfigError
from terminal.journal import Journal, TerminalKey
from ui.demo import DEMO_CLERKS, WallClock, demo_catalogue


def test_a_journal_of_another_terminal_is_refused(tmp_path: Path) -> None:
    key = TerminalKey.load_or_create(tmp_path / "k.key")
    with Journal.open(tmp_path / "j.db", "museum-01", key) as journal:
        with pytest.raises(ConfigError, match=r"museum-02.*museum-01"):
            Counter(journal, demo_catalogue(), CounterSettings("museum-02"), DEMO_CLERKS,
                    WallClock(), InProcessPaymentTerminal(random.Random(1)))
        Counter(journal, demo_catalogue(), CounterSettings("museum-01"), DEMO_CLERKS,
                WallClock(), InProcessPaymentTerminal(random.Random(1)))
