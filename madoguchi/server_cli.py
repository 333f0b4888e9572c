"""``madoguchi server ...``: run the central server and its management commands."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``server`` and its subcommands (filled in by the central-server work)."""
