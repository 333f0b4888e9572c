"""The clerks of a facility as its published config lists them: ``[[clerks]]`` tables of
``id``, ``name`` and ``role`` (PINs never travel in a config: each counter keeps its own PIN
hashes). Changing a clerk = publishing a new config version whose clerk tables are
rewritten; the rest of the text stays exactly as it was."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from typing import Final

from terminal.clerks import ROLES

CLERK_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
HEADER: Final = re.compile(r"^\s*\[")
CLERKS_HEADER: Final = re.compile(r"^\s*\[\[\s*clerks\s*\]\]\s*(#.*)?$")
MAX_NAME: Final = 100


class ClerkError(ValueError):
    """A clerk change that cannot be made (message says why, Japanese then English)."""


@dataclass(frozen=True)
class ClerkEntry:
    id: str
    name: str
    role: str


def parse_clerks(payload: str) -> list[ClerkEntry]:
    """The ``[[clerks]]`` of a config payload (ClerkError if it is not TOML)."""
    try:
        data = tomllib.loads(payload)
    except tomllib.TOMLDecodeError as exc:
        raise ClerkError(f"設定が TOML として読めません (the config is not valid TOML: {exc})") \
            from None
    tables = data.get("clerks", [])
    if not isinstance(tables, list):
        raise ClerkError("clerks は [[clerks]] の表である必要があります "
                         "(clerks must be [[clerks]] tables)")
    return [ClerkEntry(str(t.get("id", "")), str(t.get("name", "")), str(t.get("role", "")))
            for t in tables if isinstance(t, dict)]


def _without_clerks(payload: str) -> str:
    """The payload without its ``[[clerks]]`` tables (each runs to the next header)."""
    kept: list[str] = []
    inside = False
    for line in payload.splitlines(keepends=True):
        if CLERKS_HEADER.match(line):
            inside = True
            continue
        if inside and HEADER.match(line):
            inside = False
        if not inside:
            kept.append(line)
    return "".join(kept).rstrip("\n") + "\n" if "".join(kept).strip() else ""


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def with_clerks(payload: str, clerks: list[ClerkEntry]) -> str:
    """``payload`` with its clerk tables replaced by ``clerks`` (appended at the end)."""
    base = _without_clerks(payload)
    blocks = [f"[[clerks]]\nid = {_toml_string(c.id)}\nname = {_toml_string(c.name)}\n"
              f"role = {_toml_string(c.role)}\n" for c in clerks]
    result = base + ("\n" if base and blocks else "") + "\n".join(blocks)
    if parse_clerks(result) != clerks:  # never publish a config that reads back otherwise
        raise ClerkError("係員の表を書き換えられません (cannot rewrite the clerk tables of "
                         "this config; edit the config text instead)")
    return result


def add_clerk(clerks: list[ClerkEntry], clerk_id: str, name: str,
              role: str) -> list[ClerkEntry]:
    if not CLERK_ID.fullmatch(clerk_id):
        raise ClerkError(f"係員ID {clerk_id[:40]!r} が不正です (clerk id: letters, digits, "
                         "'_', '.', '-', 1-32, starting with a letter or digit)")
    if not name.strip() or len(name) > MAX_NAME:
        raise ClerkError(f"氏名は1〜{MAX_NAME}文字です (name: 1 to {MAX_NAME} characters)")
    if role not in ROLES:
        raise ClerkError(f"役割 {role[:40]!r} は {', '.join(ROLES)} のいずれかです "
                         f"(role must be one of {', '.join(ROLES)})")
    if any(c.id == clerk_id for c in clerks):
        raise ClerkError(f"係員ID {clerk_id!r} は既にあります (clerk id already used)")
    return [*clerks, ClerkEntry(clerk_id, name.strip(), role)]


def remove_clerk(clerks: list[ClerkEntry], clerk_id: str) -> list[ClerkEntry]:
    left = [c for c in clerks if c.id != clerk_id]
    if len(left) == len(clerks):
        raise ClerkError(f"係員ID {clerk_id[:40]!r} はありません (no such clerk)")
    return left
