"""A small strict parser for udev rules files (the subset man udev(7) defines).

Each rule is one line (a trailing backslash continues it) of comma-separated
``KEY[{attr}] OPERATOR "value"`` pairs. Checks beyond syntax: the key is known, match keys
use ``==``/``!=`` and assignment keys ``=``/``+=``/``-=``/``:=``, USB ids are 4 lowercase
hex digits, MODE is octal, GOTO names a LABEL that follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MATCH_OPS = ("==", "!=")
ASSIGN_OPS = ("=", "+=", "-=", ":=")
MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM",
              "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTR", "ATTRS", "SYSCTL", "ENV", "CONST",
              "TAG", "TAGS", "TEST", "PROGRAM", "RESULT"}
ASSIGN_KEYS = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "SECLABEL", "ATTR", "SYSCTL",
               "ENV", "TAG", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
ATTR_KEYS = {"ATTR", "ATTRS", "SYSCTL", "ENV", "TEST", "IMPORT", "RUN", "SECLABEL", "CONST"}
_PAIR = re.compile(
    r'\s*(?P<key>[A-Z]+)(?:\{(?P<attr>[^}]*)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*'
    r'"(?P<value>(?:[^"\\]|\\.)*)"\s*(?P<end>,|$)')
_HEX4 = re.compile(r"[0-9a-f]{4}")


class UdevSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Pair:
    key: str
    attr: str | None
    op: str
    value: str


@dataclass(frozen=True)
class Rule:
    line: int
    pairs: tuple[Pair, ...]

    def match(self, key: str, attr: str | None = None) -> str | None:
        for pair in self.pairs:
            if pair.key == key and pair.attr == attr and pair.op in MATCH_OPS:
                return pair.value
        return None

    def assign(self, key: str) -> str | None:
        for pair in self.pairs:
            if pair.key == key and pair.op in ASSIGN_OPS:
                return pair.value
        return None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.split("\n"), 1):
        if not buffer:
            start = number
        if raw.endswith("\\"):
            buffer += raw[:-1]
            continue
        lines.append((start, buffer + raw))
        buffer = ""
    if buffer:
        raise UdevSyntaxError(f"line {start}: continuation at the end of the file")
    return lines


def _pair(number: int, match: re.Match[str]) -> Pair:
    key, attr, op, value = match["key"], match["attr"], match["op"], match["value"]
    if op in MATCH_OPS and key not in MATCH_KEYS:
        raise UdevSyntaxError(f"line {number}: {key} cannot be matched with {op}")
    if op in ASSIGN_OPS and key not in ASSIGN_KEYS:
        raise UdevSyntaxError(f"line {number}: {key} cannot be assigned with {op}")
    if (attr is not None) != (key in ATTR_KEYS) and key not in ("IMPORT", "RUN", "SECLABEL"):
        raise UdevSyntaxError(f"line {number}: {key} {'needs' if attr is None else 'takes no'}"
                              " {attribute}")
    if key in ("ATTR", "ATTRS") and attr in ("idVendor", "idProduct") \
            and not _HEX4.fullmatch(value):
        raise UdevSyntaxError(f"line {number}: {key}{{{attr}}} {value!r} is not 4 lowercase hex")
    if key == "MODE" and not re.fullmatch(r"0?[0-7]{3}", value):
        raise UdevSyntaxError(f"line {number}: MODE {value!r} is not octal")
    if key in ("OWNER", "GROUP") and not re.fullmatch(r"[a-z_][a-z0-9_-]*", value):
        raise UdevSyntaxError(f"line {number}: {key} {value!r} is not a user or group name")
    return Pair(key, attr, op, value)


def parse_rules(text: str) -> list[Rule]:
    """Every rule of ``text``; ``UdevSyntaxError`` at the first problem."""
    rules: list[Rule] = []
    for number, line in _logical_lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pairs, pos = [], 0
        while pos < len(line):
            match = _PAIR.match(line, pos)
            if match is None:
                raise UdevSyntaxError(f"line {number}: cannot parse {line[pos:]!r}")
            pairs.append(_pair(number, match))
            pos = match.end()
            if match["end"] == "," and not line[pos:].strip():
                raise UdevSyntaxError(f"line {number}: trailing comma")
        rules.append(Rule(number, tuple(pairs)))
    labels: dict[str, int] = {}
    for index, rule in enumerate(rules):
        label = rule.assign("LABEL")
        if label is not None:
            labels[label] = index
    for index, rule in enumerate(rules):
        goto = rule.assign("GOTO")
        if goto is not None and labels.get(goto, -1) <= index:
            raise UdevSyntaxError(f"line {rule.line}: GOTO {goto!r} has no LABEL after it")
    return rules
