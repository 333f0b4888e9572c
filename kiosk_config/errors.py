"""Configuration problems, collected (never stopping at the first) and reported together."""

from __future__ import annotations

from dataclasses import dataclass

from terminal.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in one file: where, what is wrong, and what would be valid."""

    file: str
    key_path: str  # "fees[3].price" (0-based indexes), or "line 4, column 7" for syntax
    message: str
    valid: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key_path}" if self.key_path else self.file
        return f"{where}: {self.message}; valid: {self.valid}"


class ConfigInvalid(ConfigError):
    """A kiosk configuration (or clerk file) has one or more problems."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


__all__ = ["ConfigInvalid", "ConfigProblem"]
