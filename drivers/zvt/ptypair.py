"""A null-modem pair of pseudo-terminals made by socat, for the simulator and tests.

``socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B``: what is written to A is read from B
and back. Only the socat process this object started is ever stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from terminal.errors import DeviceUnavailable


class PtyPair:
    def __init__(self, directory: Path, name: str = "zvt") -> None:
        self.a = directory / f"{name}-ecr"
        self.b = directory / f"{name}-pt"
        self._proc: subprocess.Popen[bytes] | None = None
        # A simulator may pull the cable (stop) from its thread while a test plugs it back in.
        self._lock = threading.RLock()

    def start(self, timeout: float = 5.0) -> PtyPair:
        with self._lock:
            return self._start(timeout)

    def _start(self, timeout: float) -> PtyPair:
        socat = shutil.which("socat")
        if socat is None:
            raise DeviceUnavailable("socat is not installed (apt install socat)")
        self._proc = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not (os.path.exists(self.a) and os.path.exists(self.b)):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self._stop()
                raise DeviceUnavailable(f"socat did not create {self.a} and {self.b}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for link in (self.a, self.b):
            if os.path.islink(link):
                os.unlink(link)

    def restart(self) -> PtyPair:
        self.stop()
        return self.start()

    def __enter__(self) -> PtyPair:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
