"""``make bench``: run every benchmark and write docs/benchmarks.md with the machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPERS = {"run_all.py", "ratio_report.py"}  # not benchmarks themselves
BENCHES = sorted(p for p in (ROOT / "bench").glob("*.py") if p.name not in HELPERS)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> int:
    rows = []
    failed = 0
    for bench in BENCHES:
        print(f"running {bench.name} ...", flush=True)
        result = subprocess.run([sys.executable, str(bench)], capture_output=True, text=True,
                                cwd=ROOT, timeout=1800)
        summary = [ln for ln in result.stdout.splitlines() if ln.strip()]
        line = summary[-1] if summary else "(no output)"
        if result.returncode != 0:
            failed += 1
            line = (f"{line} — BELOW TARGET (exit {result.returncode})" if summary else
                    f"FAILED (exit {result.returncode}): {result.stderr.strip()[-300:]}")
        print(line)
        rows.append(f"| `{bench.name}` | {line} |")
    doc = ROOT / "docs" / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n"
        f"Run by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on {machine()}.\n"
        "Each figure is measured against the raw limit in the same run (ratio = ours / raw).\n\n"
        "| benchmark | result |\n|---|---|\n" + "\n".join(rows) + "\n",
        "utf-8",
    )
    print(f"wrote {doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
