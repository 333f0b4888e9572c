"""Central server processes for the server kill suites: forked from ``sync/server_zygote.py``
(the server stack imported once) or ``madoguchi server run`` itself; and PostgreSQL restarts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import requests
from madoguchi_testing import ROOT, cli_command

ZYGOTE = Path(__file__).with_name("sync") / "server_zygote.py"
TIMEOUT = 60.0
PG_CLUSTER = "main"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base_url: str, proc_alive: Callable[[], bool]) -> None:
    """Wait until the server's /healthz answers 200 (it checks the database too)."""
    deadline = time.monotonic() + TIMEOUT
    with requests.Session() as session:
        while time.monotonic() < deadline:
            try:
                if session.get(f"{base_url}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert proc_alive(), "the server process died while starting"
            time.sleep(0.02)
    raise AssertionError(f"{base_url}/healthz did not answer 200 within {TIMEOUT}s")


class Servers(Protocol):
    base_url: str

    def start(self) -> None: ...

    def kill(self) -> None: ...

    def close(self) -> None: ...


class ForkedServers:
    """Server processes forked from ``server_zygote.py`` on one port."""

    def __init__(self, database_url: str, log: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with log.open("ab") as err:
            self.zygote = subprocess.Popen(
                [sys.executable, str(ZYGOTE), database_url, str(port)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.log = log
        self.pid: int | None = None
        assert self._ask("") == ["ready"], log.read_text()

    def _ask(self, command: str) -> list[str]:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        if command:
            self.zygote.stdin.write(command + "\n")
            self.zygote.stdin.flush()
        return self.zygote.stdout.readline().split()

    def _alive(self) -> bool:
        return self.zygote.poll() is None

    def start(self) -> None:
        words = self._ask("start")
        assert words[:1] == ["started"], f"{words}: {self.log.read_text()[-2000:]}"
        self.pid = int(words[1])
        wait_healthy(self.base_url, self._alive)

    def kill(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        words = self._ask(f"wait {self.pid}")
        assert words == ["status", str(self.pid), str(-signal.SIGKILL)], words
        self.pid = None

    def close(self) -> None:
        if self.pid is not None:
            self.kill()
        self._ask("quit")
        self.zygote.wait(timeout=TIMEOUT)
        for pipe in (self.zygote.stdin, self.zygote.stdout):
            if pipe is not None:
                pipe.close()


class CliServer:
    """``madoguchi server run`` itself, restarted as a new process after each kill."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(
                cli_command("server", "run", "--database", self.database_url, "--port",
                            str(self.port)), stdout=err, stderr=err, cwd=ROOT)
        proc = self.proc
        wait_healthy(self.base_url, lambda: proc.poll() is None)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.kill()


def pg_ctlcluster(action: str) -> subprocess.CompletedProcess[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, PG_CLUSTER,
                           action], capture_output=True, text=True, timeout=TIMEOUT)


def restart_postgresql() -> None:
    """Restart the cluster (root only) and wait until it accepts connections again; if the
    restart failed, start it, so that PostgreSQL is left running whatever happened."""
    done = pg_ctlcluster("restart")
    if not wait_postgresql(TIMEOUT / 2):
        pg_ctlcluster("start")
        assert wait_postgresql(TIMEOUT), "PostgreSQL did not come back within 90 s"
    assert done.returncode == 0, f"pg_ctlcluster restart failed: {done.stderr}"


def wait_postgresql(timeout: float = TIMEOUT) -> bool:
    """Wait until pg_isready says PostgreSQL accepts connections (False: not in time)."""
    deadline = time.monotonic() + timeout
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", "5"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
