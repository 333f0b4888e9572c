"""Canonical JSON of journal entries: the rules of DESIGN.md "Journal entry"."""

from __future__ import annotations

import hashlib
import json

import pytest

from terminal.errors import JournalError
from terminal.journal.canonical import (
    ENVELOPE_KEYS,
    CanonicalError,
    canonical,
    canonical_parsed,
    check_value,
    entry_hash,
    genesis_prev,
    loads_strict,
)


def test_canonical_is_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": "八戸", "c": {"z": 1, "y": ""}}
    assert canonical(value) == '{"a":"八戸","b":[1,true,null],"c":{"y":"","z":1}}'.encode()


def test_canonical_matches_the_contract_formula() -> None:
    value = {"name": "一般入館料\u2028改行", "qty": 3, "ok": False, "list": ("x", 2)}
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical(value) == expected.encode("utf-8")


def test_canonical_error_is_a_value_error_and_a_journal_error() -> None:
    assert issubclass(CanonicalError, ValueError)
    assert issubclass(CanonicalError, JournalError)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"body": {"amount": 1.5}}, "body.amount"),
        ({"x": float("nan")}, "x"),
        ({"x": float("inf")}, "x"),
        ({"lines": [{"qty": 2**53}]}, "lines[0].qty"),
        ({"n": -(2**53)}, "n"),
        ({"s": "a\x00b"}, "s"),
        ({"s": ["ok", "\ud800"]}, "s[1]"),
        ({"金額": 1}, "金額"),
        ({1: "x"}, "1"),
        ({"b": b"bytes"}, "b"),
        ({"s": {1, 2}}, "s"),
    ],
)
def test_check_value_rejects_and_names_the_path(value: object, path: str) -> None:
    with pytest.raises(CanonicalError, match=path.replace("[", r"\[").replace("]", r"\]")):
        canonical(value)


def test_check_value_accepts_the_edges() -> None:
    check_value({"max": 2**53 - 1, "min": -(2**53 - 1), "t": True, "n": None, "e": "😀"})


def test_top_level_float_is_named() -> None:
    with pytest.raises(CanonicalError, match="top-level"):
        canonical(1.0)


def test_loads_strict_rejects_duplicate_keys() -> None:
    with pytest.raises(CanonicalError, match="duplicate key 'a'"):
        loads_strict('{"a": 1, "b": {"c": 1}, "a": 2}')
    with pytest.raises(CanonicalError, match="duplicate key 'c'"):
        loads_strict('{"b": {"c": 1, "c": 1}}')


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1.0}',
        '{"a": 1e3}',
        '{"a": NaN}',
        '{"a": -Infinity}',
        "[9007199254740992]",
        '{"金": 1}',
        "{",
        "",
        '{"a": 1} x',
    ],
)
def test_loads_strict_rejects(text: str) -> None:
    with pytest.raises(CanonicalError):
        loads_strict(text)


def test_loads_strict_accepts_bytes_and_big_but_safe_ints() -> None:
    assert loads_strict(b'{"a": [9007199254740991, -9007199254740991]}') == {
        "a": [2**53 - 1, -(2**53 - 1)]
    }
    with pytest.raises(CanonicalError, match="UTF-8"):
        loads_strict(b'{"a": "\xff"}')


def test_canonical_parsed_agrees_with_canonical_and_catches_what_parsing_lets_through() -> None:
    value = loads_strict('{"z": "八", "a": [1, {"k": null}]}')
    assert canonical_parsed(value) == canonical(value)
    with pytest.raises(CanonicalError, match="s: string holds U"):
        canonical_parsed(loads_strict('{"s": "a\\u0000"}'))
    with pytest.raises(CanonicalError, match="surrogate"):
        canonical_parsed(loads_strict('{"s": "\\udc80"}'))
    assert canonical_parsed(loads_strict('{"s": "\\\\u0000"}')) == b'{"s":"\\\\u0000"}'


def test_genesis_prev() -> None:
    expected = hashlib.sha256(b"madoguchi-genesis:hachinohe-museum-01").hexdigest()
    assert genesis_prev("hachinohe-museum-01") == expected


def test_entry_hash_ignores_hash_and_sig() -> None:
    entry = {key: f"v-{key}" for key in ENVELOPE_KEYS}
    entry["seq"], entry["body"] = 1, {}
    bare = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    assert entry_hash(entry) == hashlib.sha256(canonical(bare)).hexdigest()
    assert entry_hash({**entry, "hash": "x", "sig": "y"}) == entry_hash(entry)
