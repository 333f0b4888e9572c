"""Canonical JSON and hashing of journal entries (format ``madoguchi-journal/1``).

canonical(x) = ``json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
as UTF-8, over values that are strings, ints (|n| < 2**53), bools, null, lists and objects
only: no floats, NaN, U+0000 or lone surrogates; keys are ASCII and never duplicated.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final, NoReturn

from terminal.errors import JournalError

FORMAT: Final = "madoguchi-journal/1"
ENVELOPE_KEYS: Final[tuple[str, ...]] = (
    "seq", "id", "terminal", "kind", "at", "day", "body", "prev", "hash", "sig",
)  # fmt: skip
SIGNED_OUT_KEYS: Final = frozenset({"hash", "sig"})
MAX_INT: Final = 2**53
_BAD_CHARS: Final = re.compile("[\x00\ud800-\udfff]")


class CanonicalError(JournalError, ValueError):
    """A value cannot be put in a journal entry (float, NaN, huge int, U+0000, bad key...)."""


def _where(path: str) -> str:
    return path or "the top-level value"


def _check_str(text: str, path: str) -> None:
    bad = _BAD_CHARS.search(text)
    if bad is None:
        return
    what = "U+0000" if bad.group() == "\x00" else f"a lone surrogate U+{ord(bad.group()):04X}"
    raise CanonicalError(
        f"{_where(path)}: string holds {what} at index {bad.start()}; "
        "journal strings must be valid Unicode without NUL"
    )


def _check_key(key: object, path: str) -> str:
    if not isinstance(key, str):
        raise CanonicalError(f"{_where(path)}: key {key!r} is not a string; use str keys")
    if not key.isascii() or "\x00" in key:
        raise CanonicalError(f"{_where(path)}: key {key!r} is not printable ASCII; rename it")
    return f"{path}.{key}" if path else key


def _reject(value: object, path: str) -> NoReturn:
    if isinstance(value, float):
        raise CanonicalError(
            f"{_where(path)}: float {value!r} is not allowed; use int (yen) or a string"
        )
    raise CanonicalError(
        f"{_where(path)}: {type(value).__name__} is not a JSON value; "
        "use str, int, bool, None, list or dict"
    )


def check_value(value: object, path: str = "") -> None:
    """Raise CanonicalError (naming the key path) if ``value`` breaks the canonical rules."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_str(value, path)
    elif isinstance(value, int):
        if not -MAX_INT < value < MAX_INT:
            raise CanonicalError(f"{_where(path)}: int {value} is outside ±(2**53 - 1)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_value(item, _check_key(key, path))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_value(item, f"{path}[{index}]")
    else:
        _reject(value, path)


def _plain(value: object) -> bool:
    """Fast pre-check: True if types, ints and keys are certainly fine (strings aside)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_INT < value < MAX_INT  # type: ignore[operator]
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list:
        return all(map(_plain, value))  # type: ignore[call-overload]
    return False


def _encode_checked(value: object) -> bytes:
    """Encode; U+0000 and lone surrogates show in the text, then ``check_value`` names them."""
    text = _ENCODER.encode(value)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        check_value(value)  # names the path of the lone surrogate
        raise CanonicalError(f"not encodable as UTF-8: {exc}") from exc
    if "\\u0000" in text:
        check_value(value)
    return data


def canonical(value: object) -> bytes:
    """The canonical UTF-8 bytes of ``value`` (checked: CanonicalError names the key path)."""
    if not _plain(value):
        check_value(value)  # raises with the path, or passes (tuples, subclasses)
    return _encode_checked(value)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalError(f"duplicate key {key!r} in a JSON object")
            seen.add(key)
    if not "".join(result).isascii():
        bad = next(key for key in result if not key.isascii())
        raise CanonicalError(f"key {bad!r} is not ASCII; journal keys are ASCII")
    return result


def _no_float(text: str) -> NoReturn:
    raise CanonicalError(f"number {text} is not an int; journal JSON has no floats")


def _strict_int(digits: str) -> int:
    value = int(digits)
    if len(digits) > 15 and not -MAX_INT < value < MAX_INT:
        raise CanonicalError(f"int {digits} is outside ±(2**53 - 1)")
    return value


_ENCODER: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_float=_no_float,
    parse_int=_strict_int,
    parse_constant=_no_float,
)


def loads_strict(text: str | bytes) -> object:
    """Parse JSON rejecting duplicate keys, non-ASCII keys, floats, NaN and Infinity.

    Raises CanonicalError. What it returns holds only str, int (|n| < 2**53), bool, None,
    list and dict with ASCII keys: ``canonical_parsed`` can skip most checks on it.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalError(f"not UTF-8: {exc}") from exc
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not valid JSON: {exc}") from exc


def canonical_parsed(value: object) -> bytes:
    """``canonical`` for a value returned by ``loads_strict`` (which already excluded floats,
    NaN, huge ints and non-ASCII keys): only U+0000 and lone surrogates are left to catch."""
    return _encode_checked(value)


def genesis_prev(terminal: str) -> str:
    """The ``prev`` of seq 1: SHA-256 of ``"madoguchi-genesis:" + terminal``."""
    return hashlib.sha256(("madoguchi-genesis:" + terminal).encode("utf-8")).hexdigest()


def unsigned_part(entry: Mapping[str, object]) -> dict[str, object]:
    """The entry without ``hash`` and ``sig``: what the hash covers."""
    return {key: value for key, value in entry.items() if key not in SIGNED_OUT_KEYS}


def entry_hash(entry: Mapping[str, object]) -> str:
    """Hex SHA-256 of the canonical entry without ``hash`` and ``sig``."""
    return hashlib.sha256(canonical(unsigned_part(entry))).hexdigest()
