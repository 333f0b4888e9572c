"""The installers install the dependencies only from the runtime lock beside the wheels, each
file checked against its sha256: a wheel folder without the lock, or with a file the lock
does not know, installs nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import install_server


def test_a_wheel_folder_without_the_lock_is_refused(wheel_dir: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    shutil.copytree(wheel_dir, wheels)
    (wheels / "requirements-runtime.lock").unlink()
    result = install_server(tmp_path / "root", wheels, check=False)
    assert result.returncode == 2, result.stderr
    assert "no requirements-runtime.lock in" in result.stderr
    assert not (tmp_path / "root/opt/madoguchi/releases").exists() or not any(
        (tmp_path / "root/opt/madoguchi/releases").iterdir())


def test_a_wheel_whose_hash_is_not_locked_is_refused(wheel_dir: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    shutil.copytree(wheel_dir, wheels)
    (six,) = wheels.glob("six-*.whl")
    six.write_bytes(six.read_bytes() + b"\0")  # still a zip, another sha256
    result = install_server(tmp_path / "root", wheels, check=False)
    assert result.returncode == 1, result.stderr
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert "pip install --require-hashes" in result.stderr
    releases = tmp_path / "root/opt/madoguchi/releases"
    assert [p.name for p in releases.iterdir()] == [], "a broken release was left behind"
