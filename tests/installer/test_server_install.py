"""install-server.sh --root: layout, units, idempotent re-run, uninstall and purge."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from conftest import INSTALLER, VERSION, install_server, manifest, run, user_ids

UNITS = ("madoguchi-server.service", "madoguchi-server-backup.service",
         "madoguchi-server-backup.timer")


def test_layout(server_root: Path) -> None:
    root = server_root
    uid, gid = user_ids(root)
    env = root / "etc/madoguchi/server.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o640 and env.stat().st_gid == gid
    assert "MADOGUCHI_DATABASE_URL=postgresql+psycopg://" in env.read_text("utf-8")
    backups = root / "var/backups/madoguchi"
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700 and backups.stat().st_uid == uid
    for unit in UNITS:
        assert (root / "etc/systemd/system" / unit).read_bytes() == \
            (INSTALLER / "systemd" / unit).read_bytes()
    service = (root / "etc/systemd/system/madoguchi-server.service").read_text("utf-8")
    assert "ExecStartPre=/opt/madoguchi/current/bin/madoguchi server init" in service
    assert "EnvironmentFile=/etc/madoguchi/server.env" in service
    assert (root / "etc/madoguchi/nginx-madoguchi-server.conf.example").is_file()
    assert os.readlink(root / "opt/madoguchi/current") == f"releases/{VERSION}"
    app = root / "opt/madoguchi/current/bin/madoguchi"
    assert run(app, "--version").stdout.strip() == f"madoguchi {VERSION}"


def test_server_init_runs_from_the_installed_release(server_root: Path, tmp_path: Path) -> None:
    """What ExecStartPre runs, on SQLite here (the unit's PostgreSQL needs a running server)."""
    app = server_root / "opt/madoguchi/current/bin/madoguchi"
    database = f"sqlite:///{tmp_path / 'server.db'}"
    for _ in range(2):  # idempotent
        out = run(app, "server", "init", "--database", database).stdout
        assert "database ready" in out


def test_rerun_changes_nothing(server_root: Path, wheel_dir: Path) -> None:
    before = manifest(server_root)
    result = install_server(server_root, wheel_dir)
    assert "nothing to change" in result.stderr
    after = manifest(server_root)
    assert {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)} == set()


def test_units_pass_systemd_analyze_verify(server_root: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing (apt-get install systemd)"
    vroot = tmp_path / "v"
    run("cp", "-al", server_root, vroot)
    (vroot / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", vroot / "usr/lib/systemd/system", symlinks=True)
    for unit in UNITS:
        result = run(analyze, "verify", f"--root={vroot}", f"/etc/systemd/system/{unit}",
                     check=False)
        assert (result.returncode, result.stdout + result.stderr) == (0, ""), unit


def test_uninstall_keeps_config_and_purge_removes_it(wheel_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    install_server(root, wheel_dir)
    install_server(root, wheel_dir, "--uninstall")
    assert not (root / "opt/madoguchi").exists()
    assert not (root / "etc/systemd/system/madoguchi-server.service").exists()
    assert (root / "etc/madoguchi/server.env").is_file()
    assert (root / "var/backups/madoguchi").is_dir()
    install_server(root, wheel_dir, "--purge")
    assert not (root / "etc/madoguchi").exists()
    assert not (root / "var/backups/madoguchi").exists()
    assert "madoguchi:" not in (root / "etc/passwd").read_text("utf-8")
