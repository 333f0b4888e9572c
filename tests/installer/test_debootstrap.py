"""Both installers, run inside a fresh Debian 12 root (debootstrap minbase) with chroot, as on a
new machine: system packages through apt, the user by useradd, the app from the wheels, units
installed, enabled and verified but never started (no systemd runs in a chroot), the database
left for the booted system. Then the installed app, an idempotent re-run, --uninstall (keeps
the data) and --purge.

Needs root (chroot, mount) and the Debian mirror; the root is cached (debian_root.py)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import INSTALLER, REPO, VERSION, manifest, terminal_config
from debian_root import DebianRoot, debian_mirror, debian_root, processes_in
from udev_rules import parse_rules

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot and mount need root")

SRC, WHEELS, CONFIG = "/tmp/madoguchi-src", "/tmp/madoguchi-wheels", "/tmp/madoguchi-config"
TERMINAL_UNITS = ("madoguchi-kiosk.service", "madoguchi-backup.service",
                  "madoguchi-backup.timer")
SERVER_UNITS = ("madoguchi-server.service", "madoguchi-server-backup.service",
                "madoguchi-server-backup.timer")
WATCHED = ("opt/madoguchi", "etc/madoguchi", "var/lib/madoguchi", "var/backups/madoguchi",
           "etc/systemd/system", "etc/udev/rules.d", "etc/pam.d")
TIMINGS: dict[str, float] = {}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def prepared(root: DebianRoot, wheel_dir: Path) -> None:
    """The installer (with docs/operations.md beside it, as in the repo) and the wheels."""
    root.copy_in(INSTALLER, f"{SRC}/installer")
    root.copy_in(REPO / "docs" / "operations.md", f"{SRC}/docs/operations.md")
    root.copy_in(wheel_dir, WHEELS)


def install(root: DebianRoot, script: str, *args: str, check: bool = True,
            label: str = "") -> str:
    started = time.monotonic()
    result = root.run("bash", f"{SRC}/installer/{script}", "--wheel-dir", WHEELS, *args,
                      check=check)
    TIMINGS[label or f"{script} {' '.join(args)}".strip()] = time.monotonic() - started
    return result.stderr


def ids(root: Path, name: str = "madoguchi") -> tuple[int, int, str]:
    for line in (root / "etc/passwd").read_text("utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2]), int(fields[3]), fields[6]
    raise AssertionError(f"no user {name} in the root")


def members(root: Path, group: str) -> list[str]:
    for line in (root / "etc/group").read_text("utf-8").splitlines():
        if line.startswith(f"{group}:"):
            return line.rsplit(":", 1)[1].split(",")
    raise AssertionError(f"no group {group} in the root")


def watched_state(root: Path) -> dict[str, object]:
    state: dict[str, object] = {}
    for sub in WATCHED:
        if (root / sub).exists():
            state.update({f"{sub}/{k}": v for k, v in manifest(root / sub).items()})
    for name in ("passwd", "group", "shadow", "localtime", "timezone"):
        path = root / "etc" / name
        state[name] = (path.read_bytes() if not path.is_symlink() else os.readlink(path)) \
            if path.exists() else None
    return state


def assert_app_runs(root: DebianRoot) -> None:
    """The installed app prints its version, and Qt starts offscreen inside the root."""
    offscreen = ("QT_QPA_PLATFORM=offscreen",)
    app = "/opt/madoguchi/current/bin/madoguchi"
    assert root.run(app, "--version", env=offscreen).stdout.strip() == f"madoguchi {VERSION}"


def assert_units_verify(root: DebianRoot, units: tuple[str, ...], stderr: str) -> None:
    assert f"systemd units verified: {' '.join(units)}" in stderr
    for unit in units:
        result = root.run("systemd-analyze", "verify", f"/etc/systemd/system/{unit}",
                          check=False)
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), unit


@pytest.fixture(scope="module")
def terminal(tmp_path_factory: pytest.TempPathFactory,
             wheel_dir: Path) -> Iterator[tuple[DebianRoot, str]]:
    with debian_root() as root:
        prepared(root, wheel_dir)
        config = terminal_config(tmp_path_factory.mktemp("terminal-config"))
        root.copy_in(config.parent, CONFIG)
        stderr = install(root, "install-terminal.sh", "--config", f"{CONFIG}/terminal.toml",
                         label="terminal: first install (apt, venv)")
        yield root, stderr


@pytest.fixture(scope="module")
def server(wheel_dir: Path) -> Iterator[tuple[DebianRoot, str]]:
    with debian_root() as root:
        prepared(root, wheel_dir)
        yield root, install(root, "install-server.sh", label="server: first install (apt, venv)")


def test_terminal_installs_in_a_fresh_debian_root(terminal: tuple[DebianRoot, str]) -> None:
    root, stderr = terminal
    path = root.path
    assert "systemd is not running (chroot or image build)" in stderr
    assert not processes_in(path), "a daemon was started inside the chroot"
    assert not (path / "usr/sbin/policy-rc.d").exists()
    uid, gid, shell = ids(path)
    assert 100 <= uid < 1000 and shell == "/usr/sbin/nologin"
    for group in ("video", "input", "render"):
        assert "madoguchi" in members(path, group), group
    data = path / "var/lib/madoguchi"
    assert mode(data) == 0o700 and (data.stat().st_uid, data.stat().st_gid) == (uid, gid)
    key = data / "terminal.key"
    assert mode(key) == 0o600 and key.stat().st_uid == uid
    config = path / "etc/madoguchi/terminal.toml"
    assert mode(config) == 0o640 and config.stat().st_gid == gid
    rules = parse_rules((path / "etc/udev/rules.d/60-madoguchi.rules").read_text("utf-8"))
    assert {r.assign("GROUP") for r in rules if r.assign("GROUP")} == {"madoguchi"}
    assert (path / "usr/share/zoneinfo/Asia/Tokyo").is_file()
    assert os.readlink(path / "etc/localtime") == "/usr/share/zoneinfo/Asia/Tokyo"
    pam = (path / "etc/pam.d/madoguchi-kiosk").read_text("utf-8")
    for module in {line.split()[2] for line in pam.splitlines() if line and line[0] != "#"}:
        assert (path / "usr/lib/x86_64-linux-gnu/security" / module).is_file(), module
    for binary in ("usr/bin/cage", "usr/sbin/pcscd", "bin/udevadm"):
        assert (path / binary).exists(), binary


def test_terminal_units_are_enabled_and_verify(terminal: tuple[DebianRoot, str]) -> None:
    root, stderr = terminal
    system = root.path / "etc/systemd/system"
    assert os.readlink(system / "default.target").endswith("/graphical.target")
    assert (system / "graphical.target.wants/madoguchi-kiosk.service").is_symlink()
    assert (system / "timers.target.wants/madoguchi-backup.timer").is_symlink()
    assert (system / "sockets.target.wants/pcscd.socket").is_symlink()
    assert_units_verify(root, TERMINAL_UNITS, stderr)


def test_terminal_app_runs_in_the_root(terminal: tuple[DebianRoot, str]) -> None:
    root, _ = terminal
    assert_app_runs(root)
    out = root.run("/opt/madoguchi/current/bin/python", "-c",
                   "from PySide6.QtWidgets import QApplication, QLabel; "
                   "from madoguchi.commands import version; app = QApplication([]); "
                   "label = QLabel('窓口 ' + version()); label.show(); app.processEvents(); "
                   "print(label.text())", env=("QT_QPA_PLATFORM=offscreen",)).stdout
    assert out.strip() == f"窓口 {VERSION}"
    status = root.run("runuser", "-u", "madoguchi", "--", "/opt/madoguchi/current/bin/madoguchi",
                      "status", "--config", "/etc/madoguchi/terminal.toml", "--require-idle")
    assert "(no journal yet)" in status.stdout


def test_terminal_rerun_changes_nothing(terminal: tuple[DebianRoot, str]) -> None:
    root, _ = terminal
    before = watched_state(root.path)
    stderr = install(root, "install-terminal.sh", "--config", f"{CONFIG}/terminal.toml",
                     label="terminal: re-run")
    assert "nothing to change" in stderr and "installing" not in stderr
    after = watched_state(root.path)
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == set()


def test_terminal_uninstall_keeps_data_then_purge(terminal: tuple[DebianRoot, str]) -> None:
    root, _ = terminal
    path = root.path
    key = (path / "var/lib/madoguchi/terminal.key").read_bytes()
    install(root, "install-terminal.sh", "--uninstall", label="terminal: --uninstall")
    assert not (path / "opt/madoguchi").exists()
    for unit in TERMINAL_UNITS:
        assert not (path / "etc/systemd/system" / unit).exists(), unit
    assert not (path / "etc/systemd/system/graphical.target.wants/madoguchi-kiosk.service"
                ).is_symlink()
    assert not (path / "etc/udev/rules.d/60-madoguchi.rules").exists()
    assert (path / "var/lib/madoguchi/terminal.key").read_bytes() == key
    assert (path / "etc/madoguchi/terminal.toml").is_file()
    ids(path)  # the user stays as the data's owner
    install(root, "install-terminal.sh", "--purge", label="terminal: --purge")
    assert not (path / "var/lib/madoguchi").exists() and not (path / "etc/madoguchi").exists()
    assert "madoguchi:" not in (path / "etc/passwd").read_text("utf-8")
    assert "madoguchi" not in members(path, "video")


def test_server_installs_in_a_fresh_debian_root(server: tuple[DebianRoot, str]) -> None:
    root, stderr = server
    path = root.path
    assert "PostgreSQL cannot be started here" in stderr
    assert not processes_in(path), "a daemon (PostgreSQL?) was started inside the chroot"
    assert not (path / "usr/sbin/policy-rc.d").exists()
    uid, gid, _ = ids(path)
    backups = path / "var/backups/madoguchi"
    assert mode(backups) == 0o700 and backups.stat().st_uid == uid
    env = path / "etc/madoguchi/server.env"
    assert mode(env) == 0o640 and (env.stat().st_uid, env.stat().st_gid) == (0, gid)
    assert (path / "usr/share/zoneinfo/Asia/Tokyo").is_file()
    system = path / "etc/systemd/system"
    assert (system / "multi-user.target.wants/madoguchi-server.service").is_symlink()
    assert (system / "timers.target.wants/madoguchi-server-backup.timer").is_symlink()
    assert_units_verify(root, SERVER_UNITS, stderr)
    assert_app_runs(root)
    assert "usage" in root.run("/opt/madoguchi/current/bin/madoguchi", "server", "--help"
                               ).stdout.lower()


def test_server_rerun_uninstall_purge(server: tuple[DebianRoot, str]) -> None:
    root, _ = server
    path = root.path
    before = watched_state(path)
    stderr = install(root, "install-server.sh", label="server: re-run")
    assert "nothing to change" in stderr
    after = watched_state(path)
    assert {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)} == set()
    install(root, "install-server.sh", "--uninstall", label="server: --uninstall")
    assert not (path / "opt/madoguchi").exists()
    assert not (path / "etc/systemd/system/madoguchi-server.service").exists()
    assert (path / "etc/madoguchi/server.env").is_file() and (path / "var/backups/madoguchi"
                                                              ).is_dir()
    install(root, "install-server.sh", "--purge", label="server: --purge")
    assert not (path / "etc/madoguchi").exists() and not (path / "var/backups/madoguchi").exists()
    assert "madoguchi:" not in (path / "etc/passwd").read_text("utf-8")


def test_report_timings() -> None:
    """Not a check: the measured times, for the -ra summary and docs/operations.md."""
    print({k: round(v, 1) for k, v in TIMINGS.items()})


def test_the_mirror_is_read_from_apt_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text("# none here\n", "utf-8")
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
        "\nTypes: deb\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n", "utf-8")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://old.example/debian bookworm main\n", "utf-8")
    assert debian_mirror(tmp_path) == "http://old.example/debian"
    (tmp_path / "sources.list").write_text("deb http://old.example/debian trixie main\n")
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"
