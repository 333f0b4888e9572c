"""requirements.lock (made by `make lock`) agrees with pyproject.toml's pins, and every line
of it carries a sha256 hash, so `pip install --require-hashes -r requirements.lock` (the
Makefile's venv step) installs exactly what pyproject names. requirements-runtime.lock (made
by the same command) is the app alone, without the test extras: the installers install it
with --require-hashes, then the madoguchi wheel with --no-deps."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO

LOCK = REPO / "requirements.lock"
RUNTIME_LOCK = REPO / "requirements-runtime.lock"
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


def pyproject_pins(*, extras: bool = True) -> dict[str, str]:
    """The == pins of pyproject's dependencies, with those of every extra unless not
    ``extras``."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    requirements = list(project["dependencies"])
    if extras:
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


def test_the_runtime_lock_is_pinned_and_hashed() -> None:
    entries = parse_lock(RUNTIME_LOCK.read_text("utf-8"))
    assert len(entries) > 20  # fastapi, sqlalchemy, pyside6 ... and theirs
    unhashed = [e.name for e in entries if e.hashes == 0]
    assert not unhashed, f"requirements-runtime.lock: no --hash for {unhashed}: run `make lock`"
    names = [e.name for e in entries]
    assert len(names) == len(set(names)), "requirements-runtime.lock names a package twice"


def test_the_runtime_lock_has_every_runtime_pin_and_no_test_package() -> None:
    locked = {e.name: e.version for e in parse_lock(RUNTIME_LOCK.read_text("utf-8"))}
    runtime = pyproject_pins(extras=False)
    assert {"fastapi", "pyside6-essentials", "pyscard", "psycopg"} <= runtime.keys()
    disagree = {name: (version, locked.get(name)) for name, version in runtime.items()
                if locked.get(name) != version}
    assert not disagree, ("pyproject.toml's dependencies and requirements-runtime.lock disagree "
                          f"(pyproject, lock): {disagree}; run `make lock`")
    test_only = pyproject_pins().keys() - runtime.keys()
    assert "pytest" in test_only
    leaked = sorted(test_only & locked.keys())
    assert not leaked, f"requirements-runtime.lock has test-only packages: {leaked}"


def test_the_runtime_lock_has_the_versions_ci_tests() -> None:
    """Made with requirements.lock as constraint: counters get what the suite ran with."""
    full = {e.name: e.version for e in parse_lock(LOCK.read_text("utf-8"))}
    runtime = {e.name: e.version for e in parse_lock(RUNTIME_LOCK.read_text("utf-8"))}
    differ = {n: (v, full.get(n)) for n, v in runtime.items() if full.get(n) != v}
    assert not differ, f"runtime lock vs requirements.lock: {differ}; run `make lock`"


def test_built_wheels_get_their_hash_added_to_the_lock(tmp_path: Path) -> None:
    """make-wheelhouse.sh's add_built_hashes: a wheel pip built from a checked sdist is added
    to its own entry; a wheel of a package not in the lock is refused."""
    lock = tmp_path / "requirements-runtime.lock"
    lock.write_text("py-des==2.0.1 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
                    "other==1.0 \\\n    --hash=sha256:" + "b" * 64 + "\n", "utf-8")
    (tmp_path / "py_des-2.0.1-py3-none-any.whl").write_bytes(b"built here")
    (tmp_path / "madoguchi-0.1.0-py3-none-any.whl").write_bytes(b"the app")
    script = f". {REPO / 'installer/lib/common.sh'}; add_built_hashes \"$1\" \"$2\""
    run = subprocess.run(["bash", "-c", script, "-", str(lock), str(tmp_path)],
                         capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    entries = parse_lock(lock.read_text("utf-8"))
    assert entries == [Locked("py-des", "2.0.1", 2), Locked("other", "1.0", 1)]
    digest = hashlib.sha256(b"built here").hexdigest()
    assert f"--hash=sha256:{digest}" in lock.read_text("utf-8")
    (tmp_path / "stray-3.0-py3-none-any.whl").write_bytes(b"not locked")
    run = subprocess.run(["bash", "-c", script, "-", str(lock), str(tmp_path)],
                         capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode != 0 and "stray-3.0-py3-none-any.whl is not in" in run.stderr
