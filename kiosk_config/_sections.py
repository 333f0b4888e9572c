"""The terminal-level sections: [facility], [terminal], [server], [receipt], [points], [storage]."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast
from urllib.parse import urlsplit

from kiosk_config._fields import Table, describe
from kiosk_config.schema import CLERK_LANGUAGES, DEFAULT_LANGUAGES
from terminal.catalogue import LANGUAGES, Names
from terminal.money import ROUNDING_MODES, RoundingMode
from terminal.points import PointsRules
from terminal.ports import TENDER_KINDS, TenderKind
from terminal.receipt import ReceiptHeader

TERMINAL_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TERMINAL_ID_VALID: Final = (
    "letters, digits, '_', '.', '-' (1-64, starting with a letter or digit), "
    'e.g. "hachinohe-museum-01"'
)
FACILITY_KEYS: Final = ("id", "name_ja", "name_en", "name_zh", "name_ko")
TERMINAL_KEYS: Final = (
    "id",
    "tenders",
    "rounding",
    "languages",
    "training_allowed",
    "auto_lock_seconds",
)
RECEIPT_KEYS: Final = ("facility_name", "title", "address", "phone", "footer")
POINTS_KEYS: Final = (
    "enabled",
    "points_per_use",
    "per_person_cap",
    "campaign_budget",
    "yen_per_point",
    "expiry_days",
    "eligible_items",
    "offline_redemption_limit",
)
STORAGE_KEYS: Final = ("data_dir", "journal_path", "key_path", "clerks_path")
URL_VALID: Final = 'an http:// or https:// URL, e.g. "https://madoguchi.example.lg.jp"'


def read_facility(root: Table) -> tuple[str, Names]:
    table = root.sub("facility", "a [facility] table (id, name_ja...)")
    if table is None:
        root.problem("facility", "missing (required)", "a [facility] table with id and name_ja")
        return "", Names("")
    table.check_keys(FACILITY_KEYS)
    facility_id = table.text("id", TERMINAL_ID_VALID, required=True)
    if facility_id and not TERMINAL_ID.fullmatch(facility_id):
        table.problem(
            "id", f"{describe(facility_id)} is not a valid facility id", TERMINAL_ID_VALID
        )
    ja = table.text("name_ja", "the facility's Japanese name (text)", required=True)
    en, zh, ko = (table.text(k, "text") for k in FACILITY_KEYS[2:])
    return facility_id, Names(ja, en, zh, ko)


@dataclass(frozen=True, slots=True)
class TerminalSection:
    terminal_id: str
    tenders: tuple[TenderKind, ...]
    rounding: RoundingMode
    languages: tuple[str, ...]
    training_allowed: bool
    auto_lock_seconds: int


def read_terminal(root: Table) -> TerminalSection:
    table = root.sub("terminal", "a [terminal] table (id, tenders...)")
    if table is None:
        root.problem("terminal", "missing (required)", "a [terminal] table with id")
        table = Table(root.file, "terminal", {}, [])
    table.check_keys(TERMINAL_KEYS)
    terminal_id = table.text("id", TERMINAL_ID_VALID, required=True)
    if terminal_id and not TERMINAL_ID.fullmatch(terminal_id):
        table.problem(
            "id", f"{describe(terminal_id)} is not a valid terminal id", TERMINAL_ID_VALID
        )
    rounding = cast(RoundingMode, table.choice("rounding", ROUNDING_MODES, default="floor"))
    return TerminalSection(
        terminal_id=terminal_id,
        tenders=_tenders(table),
        rounding=rounding,
        languages=_languages(table),
        training_allowed=table.boolean("training_allowed", default=True),
        auto_lock_seconds=table.integer(
            "auto_lock_seconds",
            "seconds, an integer from 0 (never) to 86400",
            default=120,
            maximum=86_400,
        ),
    )


def _tenders(table: Table) -> tuple[TenderKind, ...]:
    valid = "a list of tender kinds from " + ", ".join(TENDER_KINDS)
    names = table.text_list("tenders", valid, default=("cash",))
    tenders: list[TenderKind] = []
    for index, name in enumerate(names):
        if name not in TENDER_KINDS:
            table.problem(f"tenders[{index}]", f"unknown tender kind {name!r}", valid)
        elif name in tenders:
            table.problem(f"tenders[{index}]", f"{name!r} is listed twice", valid)
        else:
            tenders.append(name)
    if table.has("tenders") and not names:
        table.problem("tenders", "the list is empty", valid)
    return tuple(tenders)


def _languages(table: Table) -> tuple[str, ...]:
    valid = (
        f"customer display languages from {', '.join(LANGUAGES)}, including ja "
        f"(the clerk screens use {'/'.join(CLERK_LANGUAGES)})"
    )
    names = table.text_list("languages", valid, default=DEFAULT_LANGUAGES)
    for index, name in enumerate(names):
        if name not in LANGUAGES:
            table.problem(f"languages[{index}]", f"unknown language {name!r}", valid)
        elif names.index(name) != index:
            table.problem(f"languages[{index}]", f"{name!r} is listed twice", valid)
    if "ja" not in names and table.has("languages"):
        table.problem("languages", "ja is missing", valid)
    return tuple(dict.fromkeys(n for n in names if n in LANGUAGES))


def read_server_url(root: Table) -> str | None:
    table = root.sub("server", "a [server] table with url")
    if table is None:
        return None
    table.check_keys(("url",))
    url = table.text("url", URL_VALID, required=True)
    if not url:
        return None
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        table.problem("url", f"{describe(url)} is not an http(s) URL", URL_VALID)
    return url.rstrip("/")


def read_receipt(root: Table, facility_name: str) -> ReceiptHeader:
    table = root.sub("receipt", "a [receipt] table (title, address, phone, footer)")
    if table is None:
        return ReceiptHeader(facility_name=facility_name)
    table.check_keys(RECEIPT_KEYS)
    return ReceiptHeader(
        facility_name=table.text("facility_name", "text", default=facility_name),
        title=table.text("title", "text, e.g. 領収書", default="領収書"),
        address=table.text("address", "text"),
        phone=table.text("phone", "text"),
        footer=table.text("footer", "text"),
    )


MAX_POINTS: Final = 1_000_000_000
EXPIRY_MAX_DAYS: Final = 3650


def read_points(root: Table) -> PointsRules | None:
    """[points]: the はちのへポイント rules (docs/points.md); omitted keys take the campaign's
    defaults (200 per use, 3,000 per person, 2,000,000 budget, 1 yen a point, no expiry, no
    offline redemption)."""
    table = root.sub("points", "a [points] table (points_per_use, per_person_cap...)")
    if table is None:
        return None
    table.check_keys(POINTS_KEYS)
    d = PointsRules()

    def count(name: str, valid: str, default: int, minimum: int = 0) -> int:
        return table.integer(name, valid, default=default, minimum=minimum, maximum=MAX_POINTS)

    rules = PointsRules(
        points_per_use=count("points_per_use", "points earned per use, an integer >= 1 "
                             "(e.g. 200)", d.points_per_use, 1),
        per_person_cap=count("per_person_cap", "the most points one card may earn, an "
                             "integer >= points_per_use (e.g. 3000)", d.per_person_cap, 1),
        campaign_budget=count("campaign_budget", "the campaign's points, an integer >= "
                              "per_person_cap (e.g. 2000000)", d.campaign_budget, 1),
        yen_per_point=table.integer("yen_per_point", "yen a point is worth, an integer "
                                    "from 1 to 10000", default=1, minimum=1, maximum=10_000),
        expiry_days=_expiry(table),
        eligible_items=_eligible_items(table),
        enabled=table.boolean("enabled", default=True),
        offline_redemption_limit=count(
            "offline_redemption_limit", "points a card may spend while the server cannot be "
            "reached, an integer >= 0 (0: none, the default)", d.offline_redemption_limit),
    )
    if rules.per_person_cap < rules.points_per_use:
        table.problem("per_person_cap", f"{rules.per_person_cap:,} is below points_per_use "
                      f"({rules.points_per_use:,})", "an integer >= points_per_use")
    if rules.campaign_budget < rules.per_person_cap:
        table.problem("campaign_budget", f"{rules.campaign_budget:,} is below per_person_cap "
                      f"({rules.per_person_cap:,})", "an integer >= per_person_cap")
    return rules


def _expiry(table: Table) -> int | None:
    if not table.has("expiry_days"):
        return None
    return table.integer("expiry_days", f"days, an integer from 1 to {EXPIRY_MAX_DAYS} "
                         "(omit the key: points never expire)", default=1, minimum=1,
                         maximum=EXPIRY_MAX_DAYS)


def _eligible_items(table: Table) -> tuple[str, ...]:
    valid = "a list of this counter's fee codes (empty or omitted: every fee earns points)"
    codes = table.text_list("eligible_items", valid, default=())
    for index, code in enumerate(codes):
        if not code.strip():
            table.problem(f"eligible_items[{index}]", "is empty", valid)
        elif codes.index(code) != index:
            table.problem(f"eligible_items[{index}]", f"{code!r} is listed twice", valid)
    return codes


@dataclass(frozen=True, slots=True)
class StoragePaths:
    data_dir: Path
    journal_path: Path
    key_path: Path
    clerks_path: Path


def read_storage(root: Table, config_dir: Path, terminal_id: str) -> StoragePaths:
    table = root.sub("storage", "a [storage] table (data_dir...)")
    data = table.data if table is not None else {}
    if table is not None:
        table.check_keys(STORAGE_KEYS)

    def path(name: str, default: Path) -> Path:
        if table is None or name not in data:
            return default
        value = table.text(name, "a file system path (relative: to the config's folder)")
        if not value or "\0" in value:
            if isinstance(data[name], str):
                table.problem(name, f"{describe(value)} is not a path", "a non-empty path")
            return default
        return config_dir / value

    data_dir = path("data_dir", config_dir / "data" / (terminal_id or "unknown"))
    return StoragePaths(
        data_dir=data_dir,
        journal_path=path("journal_path", data_dir / "journal.db"),
        key_path=path("key_path", data_dir / "terminal.key"),
        clerks_path=path("clerks_path", data_dir / "clerks.toml"),
    )
