"""Kiosk config loading: every malformed case is reported with its key path, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_config.errors import ConfigInvalid, ConfigProblem
from kiosk_config.loader import check_path, load_config

BASE = """\
[facility]
id = "test-facility"
name_ja = "テスト館"

[terminal]
id = "test-01"
tenders = ["cash"]

[[accounts]]
id = "general"
name = "一般会計"
issuer = "八戸市"

[[categories]]
id = "admission"
name_ja = "観覧料"

[[fees]]
code = "adult"
name_ja = "一般"
category = "admission"
price = 250
tax_class = "std10"
accounting_code = "14-01-01"
account = "general"
"""


def fee(code: str, price: str = "100") -> str:
    return (
        f'\n[[fees]]\ncode = "{code}"\nname_ja = "{code}"\ncategory = "admission"\n'
        f'price = {price}\ntax_class = "std10"\naccounting_code = "1"\naccount = "general"\n'
    )


def write(tmp_path: Path, text: str, name: str = "test.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigInvalid) as info:
        load_config(write(tmp_path, text))
    assert info.value.problems
    return info.value.problems


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_base_loads_with_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.terminal_id == "test-01"
    assert config.facility_name.ja == "テスト館"
    assert config.tenders == ("cash",)
    assert config.rounding == "floor"
    assert config.languages == ("ja", "en", "zh", "ko")
    assert config.data_dir == tmp_path / "data" / "test-01"
    assert config.journal_path == tmp_path / "data" / "test-01" / "journal.db"
    assert config.key_path == config.data_dir / "terminal.key"
    assert config.clerks_path == config.data_dir / "clerks.toml"
    assert config.server_url is None and config.points is None and not config.devices
    assert config.receipt.facility_name == "テスト館" and config.receipt.title == "領収書"
    assert config.training_allowed and config.auto_lock_seconds == 120
    assert config.catalogue.item("adult").unit_price == 250


def test_storage_and_devices_and_points(tmp_path: Path) -> None:
    text = edit('tenders = ["cash"]', 'tenders = ["cash", "points", "credit"]') + (
        '\n[storage]\ndata_dir = "var/run"\njournal_path = "/srv/j.db"\n'
        '\n[devices.card_reader]\ndriver = "pcsc"\nreader = "Virtual PCD 00 00"\n'
        '\n[devices.payment_terminal]\ndriver = "zvt"\nhost = "10.0.0.5"\nport = 20007\n'
        '\n[points]\nexpiry_days = 365\neligible_items = ["adult"]\n'
        '\n[server]\nurl = "https://pos.example.lg.jp/"\n'
    )
    config = load_config(write(tmp_path, text))
    assert config.data_dir == tmp_path / "var" / "run"
    assert config.journal_path == Path("/srv/j.db")
    assert config.key_path == tmp_path / "var" / "run" / "terminal.key"
    assert config.devices["card_reader"].params == {"reader": "Virtual PCD 00 00"}
    assert config.devices["payment_terminal"].params["port"] == 20007
    assert config.points is not None and config.points.expiry_days == 365
    assert config.points.points_per_use == 200 and config.points.eligible_items == ("adult",)
    assert config.server_url == "https://pos.example.lg.jp"


def test_negative_price_message_is_one_readable_line(tmp_path: Path) -> None:
    text = BASE + fee("a") + fee("b") + fee("c", "-250")
    with pytest.raises(ConfigInvalid) as info:
        load_config(write(tmp_path, text, "museum.toml"))
    assert str(info.value) == (
        "museum.toml: fees[3].price: -250 is negative; valid: an integer >= 0 (yen, tax-inclusive)"
    )


CASES: list[tuple[str, str, str, str]] = [
    # (id, config text, expected key path, expected words in the message)
    ("unknown-root-key", 'catalog = "x"\n' + BASE, "catalog", "did you mean 'catalogue'"),
    ("unknown-fee-key", edit("price = 250", "pirce = 250"), "fees[0].pirce", "'price'"),
    ("unknown-terminal-key", edit("tenders =", "tender ="), "terminal.tender", "'tenders'"),
    (
        "unknown-account-key",
        edit('issuer = "八戸市"', 'issuer = "八戸市"\nregno = "T1"'),
        "accounts[0].regno",
        "unknown key",
    ),
    ("missing-name", edit('name_ja = "一般"\n', ""), "fees[0].name_ja", "missing"),
    ("missing-terminal-id", edit('id = "test-01"\n', ""), "terminal.id", "missing"),
    (
        "missing-facility",
        edit('[facility]\nid = "test-facility"\nname_ja = "テスト館"\n', ""),
        "facility",
        "missing",
    ),
    ("float-price", edit("price = 250", "price = 250.0"), "fees[0].price", "decimal"),
    ("string-price", edit("price = 250", 'price = "250"'), "fees[0].price", "not an integer"),
    (
        "bool-int",
        edit('tenders = ["cash"]', 'tenders = ["cash"]\nauto_lock_seconds = true'),
        "terminal.auto_lock_seconds",
        "true/false value",
    ),
    ("bool-price", edit("price = 250", "price = false"), "fees[0].price", "not an integer"),
    ("negative-price", edit("price = 250", "price = -1"), "fees[0].price", "negative"),
    (
        "tax-class",
        edit('tax_class = "std10"', 'tax_class = "std8"'),
        "fees[0].tax_class",
        "unknown value 'std8'",
    ),
    ("tender", edit('["cash"]', '["cash", "paypay"]'), "terminal.tenders[1]", "paypay"),
    (
        "tender-needs-device",
        edit('["cash"]', '["cash", "paypay", "credit"]'),
        "terminal.tenders[2]",
        "payment_terminal",
    ),
    (
        "device-kind",
        BASE + '[devices.printr]\ndriver = "simulator"\n',
        "devices.printr",
        "did you mean 'printer'",
    ),
    (
        "device-driver",
        BASE + '[devices.printer]\ndriver = "escpos"\n',
        "devices.printer.driver",
        "unknown value 'escpos'",
    ),
    ("device-no-driver", BASE + "[devices.drawer]\npin = 2\n", "devices.drawer.driver", "missing"),
    ("duplicate-fee", BASE + fee("adult"), "fees[1].code", "duplicate"),
    (
        "unknown-account",
        edit('account = "general"', 'account = "special"'),
        "fees[0].account",
        "unknown account 'special'",
    ),
    (
        "unknown-category",
        edit('category = "admission"', 'category = "shop"'),
        "fees[0].category",
        "unknown category 'shop'",
    ),
    (
        "registration",
        edit('issuer = "八戸市"', 'issuer = "八戸市"\nregistration_no = "T123"'),
        "accounts[0].registration_no",
        "not an invoice registration number",
    ),
    (
        "slot-format",
        edit("price = 250", 'price = 250\nslot = "9:00-12:00"'),
        "fees[0].slot",
        "not a time range",
    ),
    (
        "slot-order",
        edit("price = 250", 'price = 250\nslot = "17:00-09:00"'),
        "fees[0].slot",
        "ends before it starts",
    ),
    (
        "rounding",
        edit('tenders = ["cash"]', 'tenders = ["cash"]\nrounding = "round"'),
        "terminal.rounding",
        "unknown value 'round'",
    ),
    (
        "missing-catalogue",
        'catalogue = "catalogues/none.toml"\n' + BASE.split("[[accounts]]")[0],
        "catalogue",
        "not found",
    ),
    ("empty-catalogue", BASE.split("[[fees]]")[0], "fees", "empty"),
    ("server-scheme", BASE + '[server]\nurl = "ftp://example.jp"\n', "server.url", "http"),
    ("server-no-host", BASE + '[server]\nurl = "http://"\n', "server.url", "http"),
    (
        "visitor-type",
        edit("price = 250", "price = 250\nprices = { student = 150 }"),
        "fees[0].prices.student",
        "unknown visitor type",
    ),
    (
        "language",
        edit('tenders = ["cash"]', 'tenders = ["cash"]\nlanguages = ["ja", "fr"]'),
        "terminal.languages[1]",
        "fr",
    ),
    ("terminal-id", edit('id = "test-01"', 'id = "../etc"'), "terminal.id", "not a valid"),
    ("points-tender", edit('["cash"]', '["cash", "points"]'), "terminal.tenders", "points"),
    (
        "points-item",
        BASE + '[points]\neligible_items = ["nope"]\n',
        "points.eligible_items[0]",
        "unknown fee code",
    ),
    ("fees-not-array", "fees = 3\n" + BASE.split("[[fees]]")[0], "fees", "not a list"),
    ("fee-not-table", "fees = [1]\n" + BASE.split("[[fees]]")[0], "fees[0]", "not a table"),
]


@pytest.mark.parametrize(
    ("text", "key_path", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_case(tmp_path: Path, text: str, key_path: str, words: str) -> None:
    problems = problems_of(tmp_path, text)
    matching = [p for p in problems if p.key_path == key_path]
    assert matching, [str(p) for p in problems]
    assert any(words in p.message for p in matching), [str(p) for p in matching]
    for problem in problems:
        line = str(problem)
        assert "\n" not in line and line.startswith("test.toml: ") and "; valid: " in line
        assert problem.valid


def test_malformed_toml_gives_line_and_column(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, BASE.replace("price = 250", "price = = 250"))
    assert len(problems) == 1
    assert problems[0].key_path.startswith("line 22, column")
    assert "malformed TOML" in problems[0].message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "test.toml"
    path.write_bytes(BASE.encode("utf-8") + b"\n# \xff\xfe\n")
    with pytest.raises(ConfigInvalid, match="not UTF-8"):
        load_config(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid, match="file not found"):
        load_config(tmp_path / "absent.toml")


def test_all_problems_are_collected(tmp_path: Path) -> None:
    text = edit("price = 250", 'price = -5\npirce = 1\nslot = "x"') + fee("adult", "1.5")
    text = text.replace('tax_class = "std10"', 'tax_class = "ten"', 1)
    keys = {p.key_path for p in problems_of(tmp_path, text)}
    assert {
        "fees[0].price",
        "fees[0].pirce",
        "fees[0].slot",
        "fees[0].tax_class",
        "fees[1].code",
        "fees[1].price",
    } <= keys


def test_catalogue_file_problems_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "catalogues").mkdir()
    catalogue = "[[accounts]]" + BASE.split("[[accounts]]")[1].replace("price = 250", "price = -3")
    write(tmp_path, catalogue, "catalogues/museum.toml")
    config = 'catalogue = "catalogues/museum.toml"\n' + BASE.split("[[accounts]]")[0]
    problems = problems_of(tmp_path, config)
    assert [str(p) for p in problems] == [
        "catalogues/museum.toml: fees[0].price: -3 is negative; "
        "valid: an integer >= 0 (yen, tax-inclusive)"
    ]


def test_catalogue_file_and_inline_tables_conflict(tmp_path: Path) -> None:
    (tmp_path / "catalogues").mkdir()
    write(tmp_path, "[[accounts]]" + BASE.split("[[accounts]]")[1], "catalogues/c.toml")
    problems = problems_of(tmp_path, 'catalogue = "catalogues/c.toml"\n' + BASE)
    assert {p.key_path for p in problems} == {"accounts", "categories", "fees"}


def test_check_path_folder(tmp_path: Path) -> None:
    (tmp_path / "catalogues").mkdir()
    write(tmp_path, "[[accounts]]" + BASE.split("[[accounts]]")[1], "catalogues/c.toml")
    write(tmp_path, 'catalogue = "catalogues/c.toml"\n' + BASE.split("[[accounts]]")[0], "a.toml")
    write(tmp_path, BASE.replace("price = 250", "price = 1.5"), "b.toml")
    (tmp_path / "data" / "b").mkdir(parents=True)
    write(tmp_path, "[[clerks]]\n", "data/b/clerks.toml")
    results = check_path(tmp_path)
    assert [(p.name, len(problems)) for p, problems in results] == [("a.toml", 0), ("b.toml", 1)]
    assert check_path(tmp_path / "b.toml")[0][1][0].key_path == "fees[0].price"
    missing = check_path(tmp_path / "nope")
    assert missing[0][1][0].message == "no such file or folder"
