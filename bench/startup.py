"""Benchmark: process start to the login screen shown, against a minimal PySide6 window.

Ours: ``python -m ui.startup_probe`` (the real app on a temporary journal; it prints the
wall-clock time at which the login screen is shown). Raw: a process that imports PySide6,
shows one QLabel and prints the time it is shown. Both run offscreen, alternately, 5 times
each in the same run; the summary compares medians (target: ratio <= 6).

    python bench/startup.py [--n 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 6.0
RAW = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv[:1])
label = QLabel("窓口")
label.show()
def shown():
    print(f"shown {time.time():.6f}")
    app.exit(0)
QTimer.singleShot(0, shown)
sys.exit(app.exec())
"""


def one(command: list[str]) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    start = time.time()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("shown "):
            return float(line.split()[1]) - start
    raise RuntimeError(f"{command} never reported the window shown: {done.stderr[-500:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()
    ours_cmd = [sys.executable, "-m", "ui.startup_probe"]
    raw_cmd = [sys.executable, "-c", RAW]
    one(ours_cmd)  # warm the file cache for both (fonts, shared libraries)
    one(raw_cmd)
    ours, raw = [], []
    for _ in range(args.n):
        ours.append(one(ours_cmd))
        raw.append(one(raw_cmd))
    ours_ms, raw_ms = statistics.median(ours) * 1000, statistics.median(raw) * 1000
    ratio = ours_ms / raw_ms
    verdict = "ok" if ratio <= TARGET else "over target"
    print(f"startup: login screen shown in {ours_ms:.0f} ms (median of {args.n}) vs minimal "
          f"PySide6 window {raw_ms:.0f} ms: {ratio:.2f}x (target <= {TARGET:.0f}x, {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
