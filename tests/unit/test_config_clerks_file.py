"""The terminal's clerk file: round trip, atomic 0600 writes, malformed files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher

import terminal.clerks as clerks_module
from kiosk_config.clerks_file import add_clerk, load_clerks, toml_string
from kiosk_config.errors import ConfigInvalid
from terminal.clerks import verify_pin
from terminal.errors import DomainError


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        clerks_module, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_clerks(tmp_path / "none.toml") == {}


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "data" / "t-01" / "clerks.toml"
    added = add_clerk(path, "1001", "supervisor", "2468", name='八戸 "花子"\\')
    add_clerk(path, "1002", "clerk", "1357")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    clerks = load_clerks(path)
    assert clerks["1001"] == added and added.name == '八戸 "花子"\\'
    assert clerks["1001"].pin_hash.startswith("$argon2id$")
    assert verify_pin(clerks["1002"].pin_hash, "1357")
    assert "2468" not in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["clerks.toml"]  # no temp file left


def test_duplicate_needs_replace(tmp_path: Path) -> None:
    path = tmp_path / "clerks.toml"
    add_clerk(path, "1001", "clerk", "2468")
    with pytest.raises(DomainError, match="already exists"):
        add_clerk(path, "1001", "clerk", "1111")
    add_clerk(path, "1001", "admin", "1111", replace=True)
    clerk = load_clerks(path)["1001"]
    assert clerk.role == "admin" and verify_pin(clerk.pin_hash, "1111")


@pytest.mark.parametrize(
    ("clerk_id", "role", "pin", "words"),
    [
        ("", "clerk", "1234", "clerk id"),
        ("a b", "clerk", "1234", "clerk id"),
        ("1", "boss", "1234", "role"),
        ("1", "clerk", "12", "4〜8桁"),
    ],
)
def test_bad_arguments(tmp_path: Path, clerk_id: str, role: str, pin: str, words: str) -> None:
    with pytest.raises(DomainError, match=words):
        add_clerk(tmp_path / "clerks.toml", clerk_id, role, pin)
    assert not (tmp_path / "clerks.toml").exists()


@pytest.mark.parametrize(
    ("text", "key_path"),
    [
        ("[[clerks]\n", "line 1, column 9"),
        ('[[clerks]]\nid = "1"\nrole = "boss"\npin_hash = "$argon2id$x"\n', "clerks[0].role"),
        ('[[clerks]]\nid = "1"\nrole = "clerk"\npin_hash = "1234"\n', "clerks[0].pin_hash"),
        ('[[clerks]]\nid = "1"\nrole = "clerk"\n', "clerks[0].pin_hash"),
        (
            '[[clerks]]\nid = "1"\nrole = "clerk"\npin_hash = "$argon2id$x"\npin = "1"\n',
            "clerks[0].pin",
        ),
        ('[[clerks]]\nid = "1"\nrole = "clerk"\npin_hash = "$argon2id$x"\n' * 2, "clerks[1].id"),
        ("clerk = 1\n", "clerk"),
    ],
)
def test_malformed_clerk_file(tmp_path: Path, text: str, key_path: str) -> None:
    path = tmp_path / "clerks.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_clerks(path)
    assert key_path in {p.key_path for p in info.value.problems}, str(info.value)


def test_toml_string_escapes() -> None:
    import tomllib

    for value in ['a"b', "a\\b", "\x00\x1f\x7f", "line\nbreak\ttab", "名前", "🍵"]:
        assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value
