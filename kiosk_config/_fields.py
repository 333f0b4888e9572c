"""Reading typed values out of parsed TOML tables, recording every problem found.

Each reader returns a usable fallback when the value is wrong, so checking goes on and every
problem of a file is reported at once; the caller builds nothing if any problem was recorded.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from kiosk_config.errors import ConfigProblem

MAX_SHOWN = 60


def describe(value: object) -> str:
    """A short, readable rendering of a TOML value and its kind, for messages."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a true/false value)"
    if isinstance(value, str):
        text = repr(value)
        return (text[:MAX_SHOWN] + "...'") if len(text) > MAX_SHOWN else text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value!r} (a decimal number)"
    if isinstance(value, datetime | date | time):
        return f"{value.isoformat()} (a date/time)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Table:
    """A TOML table being read: ``path`` is its key path ("" for the file's root)."""

    file: str
    path: str
    data: Mapping[str, object]
    problems: list[ConfigProblem]

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def problem(self, name: str, message: str, valid: str) -> None:
        self.problems.append(ConfigProblem(self.file, self.key(name), message, valid))

    def whole(self, message: str, valid: str) -> None:
        """A problem with the table itself."""
        self.problems.append(ConfigProblem(self.file, self.path, message, valid))

    def check_keys(self, known: Collection[str]) -> None:
        """Report every key not in ``known``, suggesting the closest known one."""
        for name in self.data:
            if name in known:
                continue
            close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(str(name), f"unknown key {name!r}{hint}", "one of " + ", ".join(known))

    def has(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, valid: str, *, required: bool = False, default: str = "") -> str:
        if name not in self.data:
            if required:
                self.problem(name, "missing (required)", valid)
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, f"{describe(value)} is not text", valid)
            return default
        if required and not value.strip():
            self.problem(name, "is empty", valid)
        return value

    def optional_text(self, name: str, valid: str) -> str | None:
        if name not in self.data:
            return None
        return self.text(name, valid)

    def integer(
        self,
        name: str,
        valid: str,
        *,
        default: int,
        minimum: int = 0,
        maximum: int = 2**53 - 1,
        required: bool = False,
    ) -> int:
        if name not in self.data:
            if required:
                self.problem(name, "missing (required)", valid)
            return default
        value = self.data[name]
        if not is_int(value):
            self.problem(name, f"{describe(value)} is not an integer", valid)
            return default
        assert isinstance(value, int)
        if value < minimum:
            what = "is negative" if value < 0 <= minimum else f"is below {minimum}"
            self.problem(name, f"{value} {what}", valid)
            return default
        if value > maximum:
            self.problem(name, f"{value} is too large (above {maximum:,})", valid)
            return default
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            self.problem(name, f"{describe(value)} is not true or false", "true or false")
            return default
        return value

    def choice(
        self, name: str, choices: Collection[str], *, default: str, required: bool = False
    ) -> str:
        valid = "one of " + ", ".join(choices)
        if name not in self.data:
            if required:
                self.problem(name, "missing (required)", valid)
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.problem(name, f"{describe(value)} is not text", valid)
            return default
        if value in choices:
            return value
        close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.problem(name, f"unknown value {describe(value)}{hint}", valid)
        return default

    def text_list(self, name: str, valid: str, *, default: tuple[str, ...]) -> tuple[str, ...]:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, list):
            self.problem(name, f"{describe(value)} is not a list", valid)
            return default
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.problem(f"{name}[{index}]", f"{describe(item)} is not text", valid)
            else:
                items.append(item)
        return tuple(items)

    def sub(self, name: str, valid: str) -> Table | None:
        """The sub-table ``name`` (None when absent or not a table)."""
        if name not in self.data:
            return None
        value = self.data[name]
        if not isinstance(value, Mapping):
            self.problem(name, f"{describe(value)} is not a table", valid)
            return None
        return Table(self.file, self.key(name), value, self.problems)

    def array(self, name: str, valid: str) -> list[Table]:
        """The array of tables ``name`` ([[name]] sections); [] when absent."""
        if name not in self.data:
            return []
        value = self.data[name]
        if not isinstance(value, list):
            self.problem(name, f"{describe(value)} is not a list of tables ([[{name}]])", valid)
            return []
        tables: list[Table] = []
        for index, item in enumerate(value):
            path = f"{name}[{index}]"
            if isinstance(item, Mapping):
                tables.append(Table(self.file, self.key(path), item, self.problems))
            else:
                self.problem(path, f"{describe(item)} is not a table", valid)
        return tables
