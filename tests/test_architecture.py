"""The rules of the house (DESIGN.md): arrows point down only, and the domain stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("terminal", "kiosk_config", "drivers", "sync", "ui", "madoguchi")
ALLOWED: dict[str, set[str]] = {
    "terminal": set(),
    "kiosk_config": {"terminal"},
    "drivers": {"terminal"},
    "sync": {"terminal", "kiosk_config"},
    "ui": {"terminal", "drivers"},
    "madoguchi": set(PACKAGES),
}
# Libraries that mean I/O or a GUI: never in the pure domain (the journal is the one
# place in terminal/ that touches storage).
IMPURE = {"PySide6", "serial", "nfc", "smartcard", "requests", "sqlalchemy", "escpos",
          "socket", "sqlite3", "apsw", "urllib", "http", "subprocess"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_every_package_exists() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").exists(), package


def test_arrows_point_down_only() -> None:
    violations = []
    for package in PACKAGES:
        for path in python_files(package):
            ours = imports_of(path) & set(PACKAGES)
            for imported in ours - {package} - ALLOWED[package]:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert violations == []


def test_domain_is_pure() -> None:
    violations = []
    for path in python_files("terminal"):
        if "journal" in path.relative_to(ROOT / "terminal").parts:
            continue
        for imported in imports_of(path) & IMPURE:
            violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert violations == []


def test_the_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import PySide6\nfrom ui import app\n", "utf-8")
    assert imports_of(bad) == {"PySide6", "ui"}


def test_only_the_composition_root_imports_ui() -> None:
    for package in PACKAGES:
        if package in ("ui", "madoguchi"):
            continue
        for path in python_files(package):
            assert "ui" not in imports_of(path), path
