"""install-terminal.sh --root: layout, permissions, the installed app, idempotent re-runs."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from conftest import INSTALLER, VERSION, install_terminal, manifest, run, terminal_config, user_ids

UNITS = ("madoguchi-kiosk.service", "madoguchi-backup.service", "madoguchi-backup.timer")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_layout_and_permissions(terminal_root: Path) -> None:
    root = terminal_root
    uid, gid = user_ids(root)
    assert 100 <= uid < 1000
    assert f"madoguchi:x:{gid}:" in (root / "etc/group").read_text("utf-8")
    data = root / "var/lib/madoguchi"
    assert mode(data) == 0o700 and (data.stat().st_uid, data.stat().st_gid) == (uid, gid)
    key = data / "terminal.key"
    assert mode(key) == 0o600 and key.stat().st_uid == uid
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    config = root / "etc/madoguchi/terminal.toml"
    assert mode(config) == 0o640 and config.stat().st_gid == gid
    assert (root / "etc/madoguchi/catalogues/museum.toml").is_file()
    rules = root / "etc/udev/rules.d/60-madoguchi.rules"
    assert mode(rules) == 0o644
    for unit in UNITS:
        installed = root / "etc/systemd/system" / unit
        assert mode(installed) == 0o644
        assert installed.read_bytes() == (INSTALLER / "systemd" / unit).read_bytes()
    assert mode(root / "opt/madoguchi/libexec/madoguchi-backup") == 0o755
    assert os.readlink(root / "opt/madoguchi/current") == f"releases/{VERSION}"
    assert not (root / "opt/madoguchi/previous").exists()
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Tokyo"
    assert (root / "etc/timezone").read_text("utf-8") == "Asia/Tokyo\n"
    release = root / "opt/madoguchi/releases" / VERSION
    assert (release / ".madoguchi-release").read_text("utf-8").startswith(f"version={VERSION}")
    assert not list((root / "opt/madoguchi/releases").glob("*.new"))


def test_installed_app_prints_its_version(terminal_root: Path) -> None:
    app = terminal_root / "opt/madoguchi/current/bin/madoguchi"
    assert run(app, "--version").stdout.strip() == f"madoguchi {VERSION}"
    assert run(app, "status", "--help").returncode == 0


def test_installed_app_starts_qt_offscreen(terminal_root: Path) -> None:
    python = terminal_root / "opt/madoguchi/current/bin/python"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = run(python, "-c", "from PySide6.QtWidgets import QApplication, QLabel; "
              "from madoguchi.commands import version; app = QApplication([]); "
              "label = QLabel('窓口 ' + version()); label.show(); app.processEvents(); "
              "print(label.text())", env=env).stdout
    assert out.strip() == f"窓口 {VERSION}"


def test_status_of_the_installed_counter(terminal_root: Path) -> None:
    app = terminal_root / "opt/madoguchi/current/bin/madoguchi"
    out = run(app, "status", "--config", terminal_root / "etc/madoguchi/terminal.toml",
              "--root", terminal_root, "--require-idle").stdout
    assert "(no journal yet)" in out


def test_rerun_changes_nothing(terminal_root: Path, wheel_dir: Path, tmp_path: Path) -> None:
    before = manifest(terminal_root)
    config = terminal_config(tmp_path)
    result = install_terminal(terminal_root, wheel_dir, "--config", config)
    assert "nothing to change" in result.stderr
    after = manifest(terminal_root)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert not changed


def test_units_pass_systemd_analyze_verify(terminal_root: Path, tmp_path: Path) -> None:
    """systemd-analyze verify --root on a hard-linked copy of the tree plus this machine's
    systemd units and cage (ExecStart binaries must exist in the root)."""
    analyze, cage = shutil.which("systemd-analyze"), shutil.which("cage")
    assert analyze is not None, "systemd-analyze is missing (apt-get install systemd)"
    assert cage is not None, "cage is missing (apt-get install cage)"
    vroot = tmp_path / "v"
    run("cp", "-al", terminal_root, vroot)
    (vroot / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", vroot / "usr/lib/systemd/system", symlinks=True)
    (vroot / "usr/bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(cage, vroot / "usr/bin/cage")
    for unit in UNITS:
        result = run(analyze, "verify", f"--root={vroot}", f"/etc/systemd/system/{unit}",
                     check=False)
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), unit


def test_uninstall_keeps_data_and_purge_removes_it(wheel_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    config = terminal_config(tmp_path / "config")
    install_terminal(root, wheel_dir, "--config", config)
    key = (root / "var/lib/madoguchi/terminal.key").read_bytes()
    install_terminal(root, wheel_dir, "--uninstall")
    assert not (root / "opt/madoguchi").exists()
    assert not (root / "etc/systemd/system/madoguchi-kiosk.service").exists()
    assert not (root / "etc/udev/rules.d/60-madoguchi.rules").exists()
    assert (root / "var/lib/madoguchi/terminal.key").read_bytes() == key
    assert (root / "etc/madoguchi/terminal.toml").is_file()
    install_terminal(root, wheel_dir, "--purge")
    assert not (root / "var/lib/madoguchi").exists()
    assert not (root / "etc/madoguchi").exists()
    assert "madoguchi:" not in (root / "etc/passwd").read_text("utf-8")
    assert "madoguchi:" not in (root / "etc/group").read_text("utf-8")


def test_help_documents_root_mode() -> None:
    for script in ("install-terminal.sh", "install-server.sh"):
        out = run("bash", INSTALLER / script, "--help").stdout
        assert "--root DIR" in out and "no useradd" in out and "--purge" in out
    bad = run("bash", INSTALLER / "install-terminal.sh", "--bogus", check=False)
    assert bad.returncode == 2
