"""``madoguchi enroll``, ``madoguchi sync``, ``madoguchi restore``: the terminal's side of sync."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``enroll``, ``sync`` and ``restore`` (filled in by the sync-client work)."""
