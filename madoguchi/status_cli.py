"""``madoguchi status``: the counter's state, replayed read-only from its journal.

The installer asks it before switching releases (``--require-idle``: exit 1 while a sale or
a payment is open), the backup script for the config's storage paths (``--paths``).
Exit codes: 0 done (idle, with ``--require-idle``); 1 a sale or payment is open
(``--require-idle`` only); 2 usage errors, an unreadable config or journal.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk_config.schema import KioskConfig


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``status``."""
    status = sub.add_parser("status", help="the counter's state from its journal (read-only): "
                            "open sale, pending payments, journal head")
    status.add_argument("--config", required=True, help="terminal config (.toml)")
    status.add_argument("--root", metavar="DIR",
                        help="resolve the config's absolute storage paths under DIR (a tree "
                        "made by install-terminal.sh --root)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--paths", action="store_true",
                        help="print only data_dir=, journal_path=, key_path= lines")
    status.add_argument("--require-idle", action="store_true",
                        help="exit 1 while a sale or a payment is open (for updates)")
    status.set_defaults(handler=status_command)


def under_root(path: Path, root: str | None) -> Path:
    """``path`` inside the tree ``root`` (absolute paths only; relative ones are kept)."""
    if not root or not path.is_absolute():
        return path
    return Path(root) / path.relative_to(path.anchor)


def storage_paths(config: KioskConfig, root: str | None) -> dict[str, Path]:
    return {
        "data_dir": under_root(config.data_dir, root),
        "journal_path": under_root(config.journal_path, root),
        "key_path": under_root(config.key_path, root),
    }


def journal_status(journal_path: Path, terminal: str) -> dict[str, Any]:
    """Entry count, head and the replayed open sale of the journal at ``journal_path``."""
    from terminal.counter import replay
    from terminal.journal import Journal

    if not journal_path.exists():
        return {"journal_exists": False, "entries": 0, "head_seq": 0, "head_hash": None,
                "open_sale": False, "open_sale_seq": None, "pending_payments": 0,
                "approved_payments": 0, "clerk": None, "training": False,
                "period_entries": 0}
    with Journal.open_readonly(journal_path) as journal:
        head = journal.head()
        entries = journal.count()
        state = replay((entry.as_dict() for entry in journal.entries()), terminal)
    sale = state.open_sale
    return {
        "journal_exists": True,
        "entries": entries,
        "head_seq": 0 if head is None else head.seq,
        "head_hash": None if head is None else head.hash,
        "open_sale": sale is not None,
        "open_sale_seq": None if sale is None else sale.open_seq,
        "pending_payments": 0 if sale is None else len(sale.pending),
        "approved_payments": 0 if sale is None else len(sale.approved),
        "clerk": state.clerk,
        "training": state.training,
        "period_entries": len(state.period),
    }


def is_idle(status: Mapping[str, Any]) -> bool:
    return not status["open_sale"] and not status["pending_payments"]


def _text(status: Mapping[str, Any]) -> str:
    lines = [f"terminal {status['terminal']} ({status['facility']})",
             f"  journal  {status['journal_path']}"]
    if not status["journal_exists"]:
        lines.append("  (no journal yet)")
    else:
        lines.append(f"  entries  {status['entries']:,} (head seq {status['head_seq']})")
        lines.append(f"  clerk    {status['clerk'] or '(logged out)'}"
                     + ("  練習 (training)" if status["training"] else ""))
        if status["open_sale"]:
            lines.append(f"  取引中 (sale open) since seq {status['open_sale_seq']}: "
                         f"{status['pending_payments']} payment(s) pending, "
                         f"{status['approved_payments']} approved")
        else:
            lines.append("  no open sale")
    return "\n".join(lines)


def status_command(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config

    config = load_config(Path(args.config))
    paths = storage_paths(config, args.root)
    if args.paths:
        for name, path in paths.items():
            print(f"{name}={path}")
        return 0
    status: dict[str, Any] = {
        "terminal": config.terminal_id, "facility": config.facility_id,
        **{name: str(path) for name, path in paths.items()},
        **journal_status(paths["journal_path"], config.terminal_id),
    }
    status["idle"] = is_idle(status)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print(_text(status))
    return 1 if args.require_idle and not status["idle"] else 0
