"""Loading and checking kiosk configurations: one TOML file per counter terminal.

``load_config`` returns a ``KioskConfig`` or raises ``ConfigInvalid`` listing every problem
found (in the config and in the shared catalogue file it references). ``check_path`` checks a
file or a folder of configs and returns the problems as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from kiosk_config._catalogue import CATALOGUE_KEYS, read_catalogue
from kiosk_config._devices import read_devices
from kiosk_config._fields import Table, describe
from kiosk_config._sections import (
    read_facility,
    read_points,
    read_receipt,
    read_server_url,
    read_storage,
    read_terminal,
)
from kiosk_config._toml import read_toml
from kiosk_config.errors import ConfigInvalid, ConfigProblem
from kiosk_config.schema import TENDER_DEVICES, DeviceConfig, KioskConfig
from terminal.catalogue import Catalogue
from terminal.points import PointsRules
from terminal.ports import TenderKind

ROOT_KEYS: Final = (
    "catalogue",
    "facility",
    "terminal",
    "server",
    "receipt",
    "points",
    "devices",
    "storage",
    *CATALOGUE_KEYS,
)
SKIPPED_FOLDERS: Final = ("catalogues", "data")


def load_config(path: Path) -> KioskConfig:
    """Read and check the terminal config at ``path``; raise ``ConfigInvalid`` on any problem."""
    path = Path(path).absolute()
    problems: list[ConfigProblem] = []
    data = read_toml(path, path.name, problems)
    if data is None:
        raise ConfigInvalid(problems)
    return parse_config(data, path)


def parse_config(data: Mapping[str, object], source: Path) -> KioskConfig:
    """Check already-parsed TOML ``data`` read from ``source`` (catalogue files are read
    relative to ``source``'s folder)."""
    problems: list[ConfigProblem] = []
    root = Table(source.name, "", data, problems)
    root.check_keys(ROOT_KEYS)
    facility_id, facility_name = read_facility(root)
    terminal = read_terminal(root)
    catalogue = _catalogue(root, source.parent)
    devices = read_devices(root)
    points = read_points(root)
    server_url = read_server_url(root)
    receipt = read_receipt(root, facility_name.ja)
    storage = read_storage(root, source.parent, terminal.terminal_id)
    _cross_check(root, terminal.tenders, devices, points, catalogue)
    if problems:
        raise ConfigInvalid(problems)
    return KioskConfig(
        source=source,
        facility_id=facility_id,
        facility_name=facility_name,
        terminal_id=terminal.terminal_id,
        catalogue=catalogue,
        tenders=terminal.tenders,
        devices=devices,
        server_url=server_url,
        points=points,
        receipt=receipt,
        rounding=terminal.rounding,
        languages=terminal.languages,
        data_dir=storage.data_dir,
        journal_path=storage.journal_path,
        key_path=storage.key_path,
        clerks_path=storage.clerks_path,
        training_allowed=terminal.training_allowed,
        auto_lock_seconds=terminal.auto_lock_seconds,
    )


def _catalogue(root: Table, config_dir: Path) -> Catalogue:
    """The inline catalogue, or the shared catalogue file named by ``catalogue = "..."``."""
    if not root.has("catalogue"):
        return read_catalogue(root)
    valid = 'a catalogue file path relative to this file, e.g. "catalogues/museum.toml"'
    ref = root.text("catalogue", valid, required=True)
    inline = [k for k in CATALOGUE_KEYS if root.has(k)]
    for key in inline:
        root.problem(
            key,
            f"[[{key}]] given here and in the catalogue file {ref!r}",
            "either a catalogue file or inline tables, not both",
        )
    if not ref.strip() or "\0" in ref:
        return Catalogue((), ())
    file = config_dir / ref
    try:
        found = file.is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        root.problem("catalogue", f"catalogue file {ref!r} not found (in {config_dir})", valid)
        return Catalogue((), ())
    data = read_toml(file, ref, root.problems)
    if data is None:
        return Catalogue((), ())
    table = Table(ref, "", data, root.problems)
    table.check_keys(CATALOGUE_KEYS)
    return read_catalogue(table)


def _cross_check(
    root: Table,
    tenders: tuple[TenderKind, ...],
    devices: Mapping[str, DeviceConfig],
    points: PointsRules | None,
    catalogue: Catalogue,
) -> None:
    """Rules spanning sections: tenders need their devices, points rules name real fees."""
    terminal = root.data.get("terminal")
    raw = terminal.get("tenders") if isinstance(terminal, Mapping) else None
    for tender in tenders:
        device = TENDER_DEVICES.get(tender)
        if device is not None and device not in devices:
            index = raw.index(tender) if isinstance(raw, list) else 0
            root.problem(
                f"terminal.tenders[{index}]",
                f"tender {tender!r} needs a {device} device",
                f"add a [devices.{device}] table or remove {tender!r}",
            )
    if "points" in tenders and (points is None or not points.enabled):
        root.problem(
            "terminal.tenders",
            "tender 'points' needs points rules",
            "a [points] table with enabled = true, or remove 'points'",
        )
    if points is not None and catalogue.items:
        codes = {item.code for item in catalogue.items}
        for index, code in enumerate(points.eligible_items):
            if code not in codes:
                root.problem(
                    f"points.eligible_items[{index}]",
                    f"unknown fee code {describe(code)}",
                    "codes of this counter's [[fees]]: " + ", ".join(sorted(codes)),
                )


def check_path(path: Path) -> list[tuple[Path, list[ConfigProblem]]]:
    """Check a config file, or every ``*.toml`` config under a folder.

    Files under a ``catalogues/`` folder are checked through the configs that reference them;
    files under ``data/`` (the default data folders, holding clerk files) are skipped.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*.toml")
            if not set(p.relative_to(path).parts[:-1]) & set(SKIPPED_FOLDERS)
        )
    elif path.exists():
        files = [path]
    else:
        return [
            (
                path,
                [
                    ConfigProblem(
                        path.name,
                        "",
                        "no such file or folder",
                        "a config file or a folder of configs",
                    )
                ],
            )
        ]
    return [(file, _problems_of(file)) for file in files]


def _problems_of(file: Path) -> list[ConfigProblem]:
    try:
        load_config(file)
    except ConfigInvalid as exc:
        return exc.problems
    return []


__all__ = ["check_path", "load_config", "parse_config"]
