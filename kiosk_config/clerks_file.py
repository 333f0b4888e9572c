"""The terminal's clerk file (TOML): one [[clerks]] table per clerk, PINs as argon2id hashes.

```toml
[[clerks]]
id = "1001"
name = "八戸 花子"
role = "supervisor"
pin_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."
```
Written atomically (temp file + ``os.replace``), mode 0600, in a 0700 folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final, cast

from kiosk_config._fields import Table, describe
from kiosk_config._toml import read_toml
from kiosk_config.errors import ConfigInvalid, ConfigProblem
from terminal.clerks import ROLES, Clerk, Role, hash_pin
from terminal.errors import DomainError

CLERK_KEYS: Final = ("id", "name", "role", "pin_hash")
CLERK_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
CLERK_ID_VALID: Final = "letters, digits, '_', '.', '-' (1-32, starting with a letter or digit)"
HEADER: Final = "# madoguchi clerks: PINs are stored only as argon2id hashes.\n"


def load_clerks(path: Path) -> dict[str, Clerk]:
    """The clerks of the file at ``path`` by id ({} when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return {}
    problems: list[ConfigProblem] = []
    data = read_toml(path, path.name, problems)
    if data is None:
        raise ConfigInvalid(problems)
    root = Table(path.name, "", data, problems)
    root.check_keys(("clerks",))
    clerks: dict[str, Clerk] = {}
    for table in root.array("clerks", "[[clerks]] tables (id, name, role, pin_hash)"):
        clerk = _clerk(table)
        if clerk.id in clerks:
            table.problem("id", f"duplicate clerk id {clerk.id!r}", "an id used once")
        clerks[clerk.id] = clerk
    if problems:
        raise ConfigInvalid(problems)
    return clerks


def _clerk(table: Table) -> Clerk:
    table.check_keys(CLERK_KEYS)
    clerk_id = table.text("id", CLERK_ID_VALID, required=True)
    if clerk_id and not CLERK_ID.fullmatch(clerk_id):
        table.problem("id", f"{describe(clerk_id)} is not a valid clerk id", CLERK_ID_VALID)
    name = table.text("name", "text")
    role = cast(Role, table.choice("role", ROLES, default="clerk", required=True))
    valid = 'an argon2id PHC string ("$argon2id$..."), written by `madoguchi clerk add`'
    pin_hash = table.text("pin_hash", valid, required=True)
    if pin_hash and not pin_hash.startswith("$argon2id$"):
        table.problem("pin_hash", "is not an argon2id hash", valid)
    return Clerk(clerk_id, name, role, pin_hash)


def add_clerk(
    path: Path, clerk_id: str, role: str, pin: str, name: str = "", *, replace: bool = False
) -> Clerk:
    """Add (or with ``replace=True`` replace) a clerk, hashing the PIN; returns the clerk."""
    path = Path(path)
    if not CLERK_ID.fullmatch(clerk_id):
        raise DomainError(f"職員IDが不正です (invalid clerk id {clerk_id!r}): {CLERK_ID_VALID}")
    if role not in ROLES:
        raise DomainError(f"役割が不正です (unknown role {role!r}): one of {', '.join(ROLES)}")
    clerks = load_clerks(path)
    if clerk_id in clerks and not replace:
        raise DomainError(
            f"職員ID {clerk_id} は登録済みです (clerk {clerk_id!r} already exists): "
            "use replace to change it"
        )
    clerk = Clerk(clerk_id, name, role, hash_pin(pin))
    clerks[clerk_id] = clerk
    write_clerks(path, clerks.values())
    return clerk


def write_clerks(path: Path, clerks: Iterable[Clerk]) -> None:
    """Write ``clerks`` atomically (temp file + ``os.replace``) with mode 0600."""
    text = HEADER + "".join(_clerk_toml(c) for c in clerks)
    _ensure_dir(path.parent)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _ensure_dir(folder: Path) -> None:
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
        folder.chmod(0o700)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clerk_toml(clerk: Clerk) -> str:
    return (
        "\n[[clerks]]\n"
        f"id = {toml_string(clerk.id)}\n"
        f"name = {toml_string(clerk.name)}\n"
        f"role = {toml_string(clerk.role)}\n"
        f"pin_hash = {toml_string(clerk.pin_hash)}\n"
    )


_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """A TOML basic string for ``value`` (control characters escaped)."""
    out: list[str] = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise DomainError(f"cannot store a lone surrogate in a clerk file: {value!r}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
