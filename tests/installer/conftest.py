"""Fixtures for the installer tests: wheels built once per session, trees made by the
installer scripts in --root mode (no apt, no useradd, no systemctl on this machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"]
SAMPLES = REPO / "kiosk_config" / "samples"

sys.path.insert(0, str(Path(__file__).parent))  # udev_rules


def run(*args: str | Path, check: bool = True, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=timeout, env=env, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\nstdout:\n{result.stdout}\n"
                             f"stderr:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The madoguchi wheel, every dependency's and the runtime lock (with the hashes of the
    wheels built from sdists), made once by make-wheelhouse.sh (pip's cache makes it fast)."""
    out = tmp_path_factory.mktemp("wheels")
    run("bash", INSTALLER / "make-wheelhouse.sh", "--python", sys.executable, out, timeout=900)
    return out


def build_version(wheel_dir: Path, tmp: Path, version: str) -> Path:
    """A copy of ``wheel_dir`` plus a madoguchi wheel of ``version`` (the same code)."""
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "tests", "bench", "demo-data", "*.egg-info", "build", "__pycache__",
        ".*_cache", "docs", "domain"))
    pyproject = src / "pyproject.toml"
    pyproject.write_text(pyproject.read_text("utf-8").replace(
        f'version = "{VERSION}"', f'version = "{version}"', 1), "utf-8")
    wheels = tmp / "wheels"
    shutil.copytree(wheel_dir, wheels)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, src)
    return wheels


def terminal_config(folder: Path) -> Path:
    """The installer's terminal.toml.example with its catalogue beside it."""
    (folder / "catalogues").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / "catalogues" / "museum.toml", folder / "catalogues")
    config = folder / "terminal.toml"
    shutil.copy(INSTALLER / "etc" / "terminal.toml.example", config)
    return config


def install_terminal(root: Path, wheels: Path, *extra: str | Path,
                     check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("bash", INSTALLER / "install-terminal.sh", "--root", root, "--wheel-dir", wheels,
               "--python", sys.executable,
               *extra, check=check)


def install_server(root: Path, wheels: Path, *extra: str | Path,
                   check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("bash", INSTALLER / "install-server.sh", "--root", root, "--wheel-dir", wheels,
               "--python", sys.executable,
               *extra, check=check)


def manifest(root: Path) -> dict[str, tuple[int, int, int, int, int | str]]:
    """Every path under ``root``: mode, owner, group, mtime and size (or link target)."""
    found: dict[str, tuple[int, int, int, int, int | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            what: int | str = os.readlink(path) if path.is_symlink() else st.st_size
            found[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid,
                                                   st.st_mtime_ns, what)
    return found


def user_ids(root: Path, name: str = "madoguchi") -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text("utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"no {name} in {root}/etc/passwd")


@pytest.fixture(scope="module")
def terminal_root(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("terminal-root")
    config = terminal_config(tmp_path_factory.mktemp("terminal-config"))
    install_terminal(root, wheel_dir, "--config", config)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server_root(tmp_path_factory: pytest.TempPathFactory, wheel_dir: Path) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("server-root")
    install_server(root, wheel_dir)
    yield root
    shutil.rmtree(root, ignore_errors=True)
