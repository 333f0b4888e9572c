"""Whatever text or structure reaches the loader, it answers ConfigInvalid or a config."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk_config._catalogue import ACCOUNT_KEYS, FEE_KEYS, LABEL_KEYS
from kiosk_config._sections import (
    FACILITY_KEYS,
    POINTS_KEYS,
    RECEIPT_KEYS,
    STORAGE_KEYS,
    TERMINAL_KEYS,
)
from kiosk_config.errors import ConfigInvalid
from kiosk_config.loader import ROOT_KEYS, load_config, parse_config
from kiosk_config.schema import DEVICE_KINDS

KEYS = sorted(
    {
        *ROOT_KEYS,
        *FEE_KEYS,
        *ACCOUNT_KEYS,
        *LABEL_KEYS,
        *FACILITY_KEYS,
        *TERMINAL_KEYS,
        *RECEIPT_KEYS,
        *POINTS_KEYS,
        *STORAGE_KEYS,
        *DEVICE_KINDS,
        "driver",
        "url",
        "student",
    }
)
TOKENS = [
    "[",
    "]",
    "[[",
    "]]",
    "=",
    '"',
    "'",
    "\n",
    " ",
    ",",
    "{",
    "}",
    ".",
    "#",
    "-1",
    "250",
    "2.5",
    "true",
    "1979-05-27",
    '"""',
    "\\",
    "\x00",
    "ｱ",
    *KEYS,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["simulator", "std10", "cash", "09:00-12:00", "http://x", "general", "admission", "../x"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=15,
)
documents = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=8)
ABSENT = Path(tempfile.gettempdir()) / "madoguchi-fuzz-absent" / "fuzz.toml"  # never created
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents)
def test_random_structures_raise_only_config_invalid(data: dict[str, object]) -> None:
    try:
        parse_config(data, ABSENT)
    except ConfigInvalid as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=40))
def test_random_toml_text_raises_only_config_invalid(tokens: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_text("".join(tokens), encoding="utf-8", errors="surrogatepass")
        try:
            load_config(path)
        except ConfigInvalid as exc:
            assert exc.problems


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_config_invalid(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(raw)
        try:
            load_config(path)
        except ConfigInvalid as exc:
            assert exc.problems


VALID = """\
[facility]
id = "f"
name_ja = "館"
[terminal]
id = "t-01"
tenders = ["cash", "credit", "points"]
languages = ["ja", "en"]
[server]
url = "http://127.0.0.1:8765"
[points]
eligible_items = ["a"]
expiry_days = 30
[storage]
data_dir = "d"
[devices.payment_terminal]
driver = "zvt"
port = 20007
[devices.card_reader]
driver = "simulator"
[[accounts]]
id = "general"
name = "一般会計"
issuer = "八戸市"
registration_no = "T1234567890123"
[[categories]]
id = "c"
name_ja = "分類"
[[visitor_types]]
id = "student"
name_ja = "学生"
[[fees]]
code = "a"
name_ja = "一般"
category = "c"
price = 250
prices = { student = 150 }
slot = "09:00-12:00"
tax_class = "std10"
accounting_code = "14-01-01"
account = "general"
"""


def _leaves(node: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(node, dict):
        return [path] + [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [path] + [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))]
    return [path]


@FUZZ
@given(st.data())
def test_one_mutation_of_a_valid_config(data: st.DataObject) -> None:
    doc = tomllib.loads(VALID)
    path = data.draw(st.sampled_from(_leaves(doc)[1:]))
    node: object = doc
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = data.draw(values)  # type: ignore[index]
    try:
        parse_config(doc, ABSENT)
    except ConfigInvalid as exc:
        assert exc.problems
