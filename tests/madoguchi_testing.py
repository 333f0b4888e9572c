"""Helpers shared by the suites: where shared/ lies, how to run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "kiosk_config" / "samples"


def shared_dir() -> Path:
    """../shared beside the checkout (CI lays a copy there), or $MADOGUCHI_SHARED."""
    env = os.environ.get("MADOGUCHI_SHARED")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared"]:
        if (candidate / "vectors" / "journal").is_dir():
            return candidate
    raise FileNotFoundError(
        "shared/ with vectors/journal not found beside the checkout; set MADOGUCHI_SHARED"
    )


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "madoguchi", *args]


def run_cli(*args: str, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), input=stdin, capture_output=True, text=True, timeout=timeout,
        cwd=ROOT,
    )


def vectors_dir() -> Path:
    """shared/vectors/journal (the contract's test vectors)."""
    return shared_dir() / "vectors" / "journal"


def vector_entries() -> list[dict[str, Any]]:
    """The entries of the valid vector export (its header line left out)."""
    lines = (vectors_dir() / "valid.jsonl").read_text(encoding="utf-8").split("\n")
    return [json.loads(line) for line in lines[1:] if line]
