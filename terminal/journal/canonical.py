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
from json.encoder import encode_basestring
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


# --- Fast paths for text that must already be canonical (the server's ingest) -------------


def _ascii_keys(obj: dict[str, object]) -> dict[str, object]:
    if not "".join(obj).isascii():
        bad = next(key for key in obj if not key.isascii())
        raise CanonicalError(f"key {bad!r} is not ASCII; journal keys are ASCII")
    return obj


# C-speed scanners: floats, NaN/Infinity and ints beyond ±(2**53 - 1) are refused while
# parsing; the second also refuses non-ASCII keys (used only for lines that are not ASCII).
_LINE_DECODER: Final = json.JSONDecoder(
    parse_float=_no_float, parse_int=_strict_int, parse_constant=_no_float
)
_LINE_DECODER_KEYS: Final = json.JSONDecoder(
    object_hook=_ascii_keys, parse_float=_no_float, parse_int=_strict_int,
    parse_constant=_no_float,
)  # fmt: skip
NOT_CANONICAL: Final = (
    "not the exact canonical JSON text of the entry (sorted keys, no spaces, UTF-8 "
    "unescaped); send lines as stored"
)


def parse_canonical_line(line: str) -> object:
    """Parse one line meant to be canonical: floats, NaN, Infinity, ints beyond ±(2**53 - 1)
    and non-ASCII keys are refused here (CanonicalError). Duplicate keys, spacing, key order
    and escapes are left to ``check_canonical_line``, which must be called on the result."""
    decoder = _LINE_DECODER if line.isascii() else _LINE_DECODER_KEYS
    try:
        return decoder.decode(line)
    except CanonicalError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int digit limit, nesting
        raise CanonicalError(f"not valid JSON: {exc}") from None


def check_canonical_line(line: str, value: object) -> None:
    """Raise CanonicalError unless ``line`` is exactly ``canonical(value)`` (as text) and
    ``value`` (from ``parse_canonical_line(line)``) keeps every canonical rule.

    Equality with the re-serialisation also refuses duplicate keys: a dict holds each key
    once, so the canonical text of a parsed value never repeats a key.
    """
    try:
        exact = _ENCODER.encode(value) == line
    except RecursionError:
        raise CanonicalError("nested too deeply") from None
    if not exact:
        loads_strict(line)  # names a duplicate key when that is the reason
        raise CanonicalError(NOT_CANONICAL)
    if "\\u0000" in line:  # canonical text writes U+0000 as \u0000 (or a string holds "\\u0000")
        check_value(value)
    if not line.isascii():
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate (written as is by the encoder)
            check_value(value)  # names its path
            raise CanonicalError(f"not encodable as UTF-8: {exc}") from None


def loads_canonical_line(line: str) -> object:
    """``parse_canonical_line`` then ``check_canonical_line``: the value of a line that is
    exactly canonical, or CanonicalError."""
    value = parse_canonical_line(line)
    check_canonical_line(line, value)
    return value


_CONTAINERS: Final = (dict, list)


def _segment(key: str, text: str) -> bytes:
    return f',"{key}":{encode_basestring(text)}'.encode()


def _signed_out_spans(data: bytes, value: Mapping[str, object]) -> tuple[int, int, int, int] | None:
    """Where the top-level ``,"hash":...`` and ``,"sig":...`` pairs sit in ``data`` (the UTF-8
    of a line already checked to be canonical(value)), or None when they cannot be located
    safely.

    Keys are sorted, so the top-level ``hash`` pair comes after every key below "hash" and
    before the others; when none of those others holds an object or a list, nothing after the
    top-level pair can hold a key (a raw ``"`` never occurs inside a JSON string, and in UTF-8
    ASCII bytes never occur inside a multi-byte character), so the last ``,"hash":"`` is the
    top-level one. The same holds for "sig", which sorts after "hash".
    """
    hash_, sig = value.get("hash"), value.get("sig")
    if not isinstance(hash_, str) or not isinstance(sig, str):
        return None
    for key, item in value.items():
        if key > "hash" and isinstance(item, _CONTAINERS):
            return None
    hash_seg, sig_seg = _segment("hash", hash_), _segment("sig", sig)
    at_hash, at_sig = data.rfind(b',"hash":"'), data.rfind(b',"sig":"')
    end_hash, end_sig = at_hash + len(hash_seg), at_sig + len(sig_seg)
    if (at_hash < 0 or at_sig < end_hash or not data.startswith(hash_seg, at_hash)
            or not data.startswith(sig_seg, at_sig)):
        return None
    return at_hash, end_hash, at_sig, end_sig


def unsigned_text(line: str, value: Mapping[str, object]) -> str | None:
    """The canonical text of ``value`` without ``hash`` and ``sig``, cut out of ``line``
    (already checked: ``line`` == canonical(value)), or None when it cannot be cut safely."""
    data = line.encode("utf-8")
    spans = _signed_out_spans(data, value)
    if spans is None:
        return None
    a, b, c, d = spans
    return (data[:a] + data[b:c] + data[d:]).decode("utf-8")


def hash_of_canonical_line(line: str, value: Mapping[str, object]) -> str:
    """``entry_hash(value)`` for ``value`` parsed from the canonical ``line``, without
    re-serialising the entry (falls back to ``entry_hash`` when the text cannot be cut)."""
    data = line.encode("utf-8")
    spans = _signed_out_spans(data, value)
    if spans is None:
        return entry_hash(value)
    a, b, c, d = spans
    return hashlib.sha256(data[:a] + data[b:c] + data[d:]).hexdigest()
