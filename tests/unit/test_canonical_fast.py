"""The fast paths for lines that must already be canonical (the server's ingest):
``loads_canonical_line`` refuses exactly what ``loads_strict`` + the canonical equality refuse,
and ``hash_of_canonical_line`` equals ``entry_hash``."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest

from terminal.journal.canonical import (
    CanonicalError,
    canonical,
    check_canonical_line,
    entry_hash,
    hash_of_canonical_line,
    loads_canonical_line,
    loads_strict,
    parse_canonical_line,
    unsigned_part,
    unsigned_text,
)


def _line(value: object) -> str:
    return canonical(value).decode("utf-8")


def _slow(line: str) -> object:
    """The reference: strict parse, then the exact canonical text."""
    value = loads_strict(line)
    if canonical(value).decode("utf-8") != line:
        raise CanonicalError("not canonical")
    return value


ENTRY: dict[str, Any] = {
    "at": "2026-11-26T09:01:00+09:00",
    "body": {"lines": [{"name": "一般入館料", "qty": 2, "amount": 500}], "total": 500},
    "day": "2026-11-26", "hash": "a" * 64, "id": "6b1f0c53-0000-4000-8000-000000000001",
    "kind": "sale", "prev": "b" * 64, "seq": 1, "sig": "c" * 86 + "==",
    "terminal": "museum-01",
}  # fmt: skip

GOOD = [
    _line(ENTRY),
    _line({"a": "x\\u0000y"}),  # a backslash then "u0000": no U+0000
    _line({"s": "改行\u2028タブ\t引用\"\\", "n": -(2**53 - 1), "m": 2**53 - 1}),
    _line({"k": [], "o": {}, "t": True, "f": False, "z": None, "e": ""}),
    _line({"emoji": "😀", "nested": [[[{"x": [1, [2]]}]]]}),
    _line([1, "two", None]),
    _line("just a string"),
    _line(0),
]

BAD = {
    "duplicate key": '{"a":1,"a":1}',
    "duplicate key, other value": '{"a":1,"a":2}',
    "nested duplicate": '{"b":{"x":1,"x":1}}',
    "duplicate envelope key": _line(ENTRY)[:-1] + ',"terminal":"museum-01"}',
    "float": '{"a":1.5}',
    "float exponent": '{"a":1e3}',
    "float zero": '{"a":0.0}',
    "NaN": '{"a":NaN}',
    "Infinity": '{"a":Infinity}',
    "-Infinity": '{"a":-Infinity}',
    "int 2**53": '{"a":9007199254740992}',
    "int -2**53": '{"a":-9007199254740992}',
    "int in a list": '{"a":[1,99999999999999999999]}',
    "U+0000 in a value": '{"a":"x\\u0000"}',
    "U+0000 in a key": '{"a\\u0000":1}',
    "lone surrogate, raw": '{"a":"x\ud800"}',
    "lone surrogate, escaped": '{"a":"x\\ud800"}',
    "surrogate pair, escaped": '{"a":"\\ud83d\\ude00"}',
    "non-ASCII key": '{"金額":1}',
    "non-ASCII key, nested": '{"b":[{"金額":1}]}',
    "non-ASCII key, escaped": '{"\\u91d1":1}',
    "space after colon": '{"a": 1}',
    "space after comma": '{"a":1, "b":2}',
    "leading space": ' {"a":1}',
    "trailing newline": '{"a":1}\n',
    "unsorted keys": '{"b":1,"a":2}',
    "unsorted nested keys": '{"a":{"d":1,"c":2}}',
    "escaped non-ASCII": '{"a":"\\u5186"}',
    "escaped slash": '{"a":"\\/"}',
    "escaped ASCII letter": '{"a":"\\u0041"}',
    "minus zero": '{"a":-0}',
    "not JSON": "{not json",
    "two values": '{"a":1}{"a":1}',
    "empty": "",
}  # fmt: skip

# loads_strict lets ValueError / RecursionError through on these; the fast path says why.
BAD_FAST_ONLY = {
    "int beyond the digit limit": '{"a":' + "9" * 5000 + "}",
    "nested too deeply": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("line", GOOD)
def test_canonical_lines_are_read_like_loads_strict(line: str) -> None:
    assert loads_canonical_line(line) == _slow(line) == json.loads(line)


@pytest.mark.parametrize("line", list(BAD.values()), ids=list(BAD))
def test_non_canonical_lines_are_refused(line: str) -> None:
    with pytest.raises(CanonicalError):
        _slow(line)  # the reference refuses it too
    with pytest.raises(CanonicalError):
        loads_canonical_line(line)


@pytest.mark.parametrize("line", list(BAD_FAST_ONLY.values()), ids=list(BAD_FAST_ONLY))
def test_unparseable_lines_are_a_canonical_error(line: str) -> None:
    with pytest.raises(CanonicalError, match="not valid JSON"):
        loads_canonical_line(line)


def test_refusals_say_why() -> None:
    with pytest.raises(CanonicalError, match="duplicate key 'a'"):
        loads_canonical_line('{"a":1,"a":1}')
    with pytest.raises(CanonicalError, match="float"):
        parse_canonical_line('{"a":1.5}')
    with pytest.raises(CanonicalError, match="2\\*\\*53"):
        parse_canonical_line('{"a":9007199254740992}')
    with pytest.raises(CanonicalError, match="not ASCII"):
        parse_canonical_line('{"b":{"金額":1}}')
    with pytest.raises(CanonicalError, match="U\\+0000"):
        loads_canonical_line('{"b":{"c":"\\u0000"}}')
    with pytest.raises(CanonicalError, match=r"b\.c"):
        loads_canonical_line('{"b":{"c":"\ud800"}}')
    with pytest.raises(CanonicalError, match="exact canonical"):
        loads_canonical_line('{"a": 1}')


def test_check_canonical_line_compares_with_the_given_value() -> None:
    line = _line(ENTRY)
    check_canonical_line(line, json.loads(line))
    with pytest.raises(CanonicalError):
        check_canonical_line(line, {**ENTRY, "seq": 2})


_ALPHABET = string.ascii_letters + string.digits + '",:{}[]\\/ \n\t' + "円八戸😀\u2028"
_TRICKY = ['","hash":"', '","sig":"', ',"hash":"' + "a" * 64 + '"', ',"sig":"x"', "hash", "sig"]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(_TRICKY)
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(12)))


def _json(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        keys = [rng.choice(["hash", "sig", "a", "z", "body", "prev", _text(rng)]) for _ in
                range(rng.randrange(5))]
        return {k.encode("ascii", "replace").decode(): _json(rng, depth + 1) for k in keys}
    if depth < 3 and roll < 0.4:
        return [_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if roll < 0.6:
        return rng.randrange(-(2**53) + 1, 2**53)
    if roll < 0.65:
        return rng.choice([True, False, None])
    return _text(rng)


def _entry(rng: random.Random) -> dict[str, Any]:
    entry = {
        **ENTRY, "body": {"hash": _text(rng), "sig": _json(rng), "x": _json(rng)},
        "hash": "".join(rng.choice("0123456789abcdef") for _ in range(64)),
        "id": _text(rng), "kind": rng.choice(["sale", "hash", "sig", _text(rng)]),
        "terminal": _text(rng), "sig": rng.choice(["c" * 86 + "==", _text(rng)]),
        "prev": _text(rng), "seq": rng.randrange(1, 2**31),
    }  # fmt: skip
    if rng.random() < 0.2:  # extra top-level keys (not an envelope): containers after "hash"
        entry[rng.choice(["a", "i", "hz", "s", "zz"])] = _json(rng)
    if rng.random() < 0.05:
        entry["sig"] = rng.randrange(10)  # not a string: falls back to entry_hash
    return entry


def test_hash_of_canonical_line_equals_entry_hash() -> None:
    rng = random.Random(20261126)
    cut = 0
    for _ in range(5000):
        entry = _entry(rng)
        line = _line(entry)
        value = loads_canonical_line(line)
        assert isinstance(value, dict)
        assert hash_of_canonical_line(line, value) == entry_hash(entry)
        text = unsigned_text(line, value)
        if text is not None:
            cut += 1
            assert text == canonical(unsigned_part(entry)).decode("utf-8")
    assert cut > 4000  # the fast cut is the usual path


def test_hash_of_canonical_line_without_hash_or_sig() -> None:
    for entry in ({"a": 1}, {"hash": "x"}, {"sig": "y"}, {"hash": "h", "sig": "s"},
                  {"a": 1, "hash": "h", "sig": "s"}, {"a": 1, "hash": "h", "z": [1], "sig": "s"}):
        line = _line(entry)
        assert hash_of_canonical_line(line, entry) == entry_hash(entry)
