"""requirements.lock (made by `make lock`) agrees with pyproject.toml's pins, and every line
of it carries a sha256 hash, so `pip install --require-hashes -r requirements.lock` (the
Makefile's venv step) installs exactly what pyproject names."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from conftest import REPO

LOCK = REPO / "requirements.lock"
_PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*(?P<version>\S+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Locked:
    name: str
    version: str
    hashes: int


def normalize(name: str) -> str:
    """PEP 503: case and runs of ``-_.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _PIN.fullmatch(requirement.split(";")[0].strip())
        assert match is not None, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[normalize(match["name"])] = match["version"]
    return pins


def parse_lock(text: str) -> list[Locked]:
    """One entry per requirement: backslash continuations joined, comments dropped."""
    logical, buffer = [], ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()  # a hash line has no "#"
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            logical.append(buffer.strip())
        buffer = ""
    assert not buffer.strip(), "requirements.lock ends inside a continued line"
    entries = []
    for line in logical:
        requirement = line.split("--hash", 1)[0].strip()
        match = _PIN.fullmatch(requirement.split(";")[0].strip())
        assert match is not None, f"requirements.lock: {requirement!r} is not pinned with =="
        entries.append(Locked(normalize(match["name"]), match["version"],
                              len(_HASH.findall(line))))
    return entries


def test_every_lock_line_is_pinned_and_hashed() -> None:
    entries = parse_lock(LOCK.read_text("utf-8"))
    assert len(entries) > 20  # the test extras alone pull in dozens
    unhashed = [e.name for e in entries if e.hashes == 0]
    assert not unhashed, f"requirements.lock: no --hash for {unhashed}: run `make lock`"
    names = [e.name for e in entries]
    assert len(names) == len(set(names)), "requirements.lock names a package twice"


def test_pyproject_pins_match_the_lock() -> None:
    locked = {e.name: e.version for e in parse_lock(LOCK.read_text("utf-8"))}
    pins = pyproject_pins()
    assert {"jinja2", "python-multipart", "playwright", "pyside6-essentials"} <= pins.keys()
    disagree = {name: (version, locked.get(name)) for name, version in pins.items()
                if locked.get(name) != version}
    assert not disagree, ("pyproject.toml and requirements.lock disagree (pyproject, lock): "
                          f"{disagree}; run `make lock`")


def test_the_checker_catches_a_stale_or_unhashed_lock() -> None:
    good = "foo-bar==1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    assert parse_lock(good) == [Locked("foo-bar", "1.0", 1)]
    assert parse_lock("Foo_Bar==2.0\n") == [Locked("foo-bar", "2.0", 0)]
    for bad in ("foo>=1.0\n", "foo==1.0 \\\n"):
        try:
            parse_lock(bad)
        except AssertionError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
