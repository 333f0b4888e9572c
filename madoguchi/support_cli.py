"""``madoguchi support-bundle``: one tar.gz for a support request, with secrets removed.

What goes in: versions (madoguchi, Python, Qt when importable), the device list, the
journal's status (entry count, head, open sale, verify result), the config (secret-looking
values redacted) and recent service logs (journalctl, when available). What never goes in:
key files (they are never read here, beyond the public key ``journal verify`` pins), PEM
bodies, passwords, PINs, codes and tokens; a 16-hex-digit run that could be a card IDm is
masked to its first 4 digits (``terminal.points.mask_idm``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal.points import mask_idm

SERVICES = ("madoguchi-kiosk", "madoguchi-backup", "madoguchi-server", "pcscd")
LOG_LINES = 2000

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
_SECRET_KEY = (r"pass(?:word|wd|phrase)?|secret|token|pin|code|enroll_code|api[_-]?key|"
               r"private[_-]?key|authorization|cookie|session")
_SECRET_ASSIGN = re.compile(
    rf"(?i)(?P<key>\b[\w.-]*?(?:{_SECRET_KEY})\b[\"']?)(?P<sep>\s*[:=]\s*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;&}\]]+)")
_SECRET_FLAG = re.compile(rf"(?i)(?P<flag>--(?:{_SECRET_KEY})(?:[= ]))(?P<value>\S+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@")
_IDM = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{16}(?![0-9A-Fa-f])")
REDACTED = "<redacted>"


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{match.group('sep')}{quote}{REDACTED}{quote}"


def scrub(text: str) -> str:
    """``text`` without PEM bodies, secret values, credentials in URLs and raw IDms."""
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}----- {REDACTED} -----END "
                    f"{m.group(1)}-----", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_FLAG.sub(lambda m: f"{m.group('flag')}{REDACTED}", text)
    text = _SECRET_ASSIGN.sub(_mask_value, text)
    return _IDM.sub(lambda m: mask_idm(bytes.fromhex(m.group(0))), text)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``support-bundle``."""
    bundle = sub.add_parser("support-bundle", help="write a tar.gz for a support request "
                            "(versions, devices, journal status, logs; secrets removed)")
    bundle.add_argument("--config", help="terminal config (.toml), for the journal status")
    bundle.add_argument("-o", "--output", metavar="FILE",
                        help="output file (default: madoguchi-support-HOST-TIME.tar.gz)")
    bundle.add_argument("--no-logs", action="store_true", help="leave out journalctl logs")
    bundle.set_defaults(handler=support_bundle_command)


def versions() -> dict[str, Any]:
    from madoguchi.commands import version

    found: dict[str, Any] = {
        "madoguchi": version(), "python": sys.version.split()[0],
        "python_executable": sys.executable, "platform": platform.platform(),
    }
    os_release = Path("/etc/os-release")
    if os_release.is_file():
        for line in os_release.read_text("utf-8", "replace").splitlines():
            if line.startswith("PRETTY_NAME="):
                found["os"] = line.split("=", 1)[1].strip('"')
    try:
        import PySide6
        from PySide6 import QtCore

        found["pyside6"] = PySide6.__version__
        found["qt"] = QtCore.qVersion()
    except ImportError as exc:  # Qt missing or its system libraries missing: say which
        found["qt"] = f"not importable: {exc}"
    return found


def _captured(work: Callable[[], object]) -> str:
    """Standard output of ``work()``, or the error it raised (the bundle reports, not fails)."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            work()
    except Exception as exc:  # a support bundle records every failure instead of stopping
        out.write(f"\nerror: {type(exc).__name__}: {exc}\n")
    return out.getvalue()


def devices_text(config: str | None) -> str:
    from madoguchi import devices_cli

    return _captured(lambda: devices_cli.devices_list(argparse.Namespace(config=config)))


def journal_report(config_path: str | None) -> dict[str, Any]:
    """Storage paths, replayed status and the verify result of the config's journal."""
    if config_path is None:
        return {"note": "no --config given: no journal status"}
    from kiosk_config.loader import load_config
    from madoguchi.commands import _report_json
    from madoguchi.status_cli import journal_status, storage_paths
    from terminal.errors import MadoguchiError
    from terminal.journal import verify_path

    try:
        config = load_config(Path(config_path))
        paths = storage_paths(config, None)
        report: dict[str, Any] = {"terminal": config.terminal_id,
                                  "facility": config.facility_id,
                                  **{k: str(v) for k, v in paths.items()},
                                  "key_present": paths["key_path"].exists()}
        report.update(journal_status(paths["journal_path"], config.terminal_id))
        if report["journal_exists"]:
            key = paths["key_path"] if paths["key_path"].exists() else None
            report["verify"] = _report_json(verify_path(paths["journal_path"], key_path=key))
    except (MadoguchiError, OSError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return report


def service_logs() -> dict[str, str]:
    """Recent journalctl lines of each madoguchi service ({} without journalctl)."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return {}
    logs = {}
    for service in SERVICES:
        try:
            run = subprocess.run(
                [journalctl, "-u", f"{service}.service", "-n", str(LOG_LINES), "--no-pager",
                 "-o", "short-iso"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            logs[service] = f"journalctl failed: {exc}\n"
            continue
        text = run.stdout + (f"\n(stderr) {run.stderr}" if run.stderr.strip() else "")
        if text.strip() and "-- No entries --" not in text:
            logs[service] = text
    return logs


def bundle_files(config: str | None, with_logs: bool) -> dict[str, str]:
    """Every file of the bundle (name -> text), already scrubbed."""
    files = {
        "versions.json": json.dumps(versions(), ensure_ascii=False, indent=2),
        "devices.txt": devices_text(config),
        "journal.json": json.dumps(journal_report(config), ensure_ascii=False, indent=2),
    }
    if config is not None and Path(config).is_file():
        files["config.toml"] = Path(config).read_text("utf-8", "replace")
    if with_logs:
        for service, text in service_logs().items():
            files[f"logs/{service}.log"] = text
    return {name: scrub(text) for name, text in files.items()}


def write_bundle(output: Path, files: dict[str, str]) -> None:
    """A tar.gz (mode 0600) of ``files`` under ``madoguchi-support/``, written atomically."""
    tmp = output.with_name(output.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    now = int(time.time())
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"madoguchi-support/{name}")
            info.size, info.mtime, info.mode = len(data), now, 0o600
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, output)


def support_bundle_command(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else Path(
        f"madoguchi-support-{platform.node() or 'host'}-{time.strftime('%Y%m%dT%H%M%S')}.tar.gz")
    files = bundle_files(args.config, with_logs=not args.no_logs)
    write_bundle(output, files)
    print(f"wrote {output} ({len(files)} files; keys, PEM bodies, passwords and codes removed, "
          "card IDs masked)")
    return 0
