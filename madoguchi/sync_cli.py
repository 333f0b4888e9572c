"""``madoguchi enroll``, ``madoguchi sync``, ``madoguchi restore``: the terminal's side of sync.

Exit codes: 0 done (sync: every entry acknowledged); 1 the server refused, a fork was
detected, or the server was unreachable (then the message says to retry later); 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[int, int], None]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``enroll``, ``sync`` and ``restore``."""
    enroll = sub.add_parser("enroll", help="enroll this terminal with the server (one-time code)")
    enroll.add_argument("--server", required=True, help="server base URL, e.g. https://...")
    enroll.add_argument("--code", required=True, help="one-time enrollment code")
    enroll.add_argument("--config", required=True, help="terminal config (.toml)")
    enroll.set_defaults(handler=enroll_command)

    sync = sub.add_parser("sync", help="push the journal to the server once")
    sync.add_argument("--journal", required=True, help="journal database")
    sync.add_argument("--server", required=True, help="server base URL")
    sync.add_argument("--key", help="terminal key file (default: JOURNAL.key or terminal.key "
                      "beside the journal)")
    sync.add_argument("--terminal", help="terminal id (default: the journal's)")
    sync.add_argument("--batch", type=int, default=500, help="entries per request (<= 1000)")
    sync.set_defaults(handler=sync_command)

    restore = sub.add_parser("restore", help="rebuild a replaced counter's journal from the "
                             "server")
    restore.add_argument("--server", required=True, help="server base URL")
    restore.add_argument("--config", required=True, help="terminal config (.toml)")
    restore.set_defaults(handler=restore_command)


def _progress(label: str) -> Progress | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        print(f"\r{label}: {done:,} / {total:,} entries", end="", file=sys.stderr, flush=True)

    return show


def _end_progress() -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)


def _fail(message: str, code: int = 1) -> int:
    print(f"madoguchi: {message}", file=sys.stderr)
    return code


def enroll_command(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config
    from sync.enrollment import enroll_terminal

    config = load_config(Path(args.config))
    result = enroll_terminal(config, args.server, args.code)
    print(f"登録しました (enrolled): terminal {result.terminal}, facility {result.facility}")
    print(f"  terminal key {result.terminal_fingerprint}")
    print(f"  server key   {result.server_fingerprint} (pinned in {config.data_dir})")
    if result.replaced_server_key:
        print("  注意: 以前と異なるサーバー鍵に置き換えました "
              "(note: this replaced a different pinned server key)")
    return 0


def _sync_key(args: argparse.Namespace, journal: Path) -> Path | None:
    from madoguchi.commands import _default_key

    return Path(args.key) if args.key else _default_key(journal)


def sync_command(args: argparse.Namespace) -> int:
    from sync.client import ServerClient, ServerUnavailable
    from sync.uploader import Uploader
    from terminal.journal import Journal, TerminalKey

    path = Path(args.journal)
    with Journal.open_readonly(path) as journal:
        terminal = journal.terminal
    if args.terminal and args.terminal != terminal:
        return _fail(f"{path} is the journal of terminal {terminal!r}, not {args.terminal!r}", 2)
    key_path = _sync_key(args, path)
    if key_path is None or not key_path.exists():
        return _fail(f"端末の鍵がありません (terminal key not found for {path}); pass --key", 2)
    if not 1 <= args.batch <= 1000:
        return _fail("--batch must be 1..1000", 2)
    key = TerminalKey.load(key_path)
    with ServerClient(args.server, terminal, key) as client:
        uploader = Uploader(path, client, batch_size=args.batch)
        try:
            outcome = uploader.push_once(_progress("sync"))
        except ServerUnavailable as exc:
            _end_progress()
            return _fail(f"{exc}; 後で再試行してください (retry later); "
                         f"pending {uploader.pending():,}")
        _end_progress()
    print(f"sent {outcome.sent:,}, stored {outcome.stored:,}, duplicates "
          f"{outcome.duplicates:,}, ack {outcome.ack:,} / {outcome.last_seq:,}")
    if outcome.ack > outcome.last_seq:
        from sync.uploader import behind_message

        return _fail(behind_message(outcome))
    return 0 if outcome.complete else 1


def restore_command(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config
    from sync.client import ServerClient
    from sync.restore import restore_journal
    from terminal.journal import TerminalKey

    config = load_config(Path(args.config))
    if not config.key_path.exists():
        return _fail(f"端末の鍵 {config.key_path} がありません (terminal key missing): "
                     "バックアップから戻してください (restore it from the backup first)", 2)
    key = TerminalKey.load(config.key_path)
    with ServerClient(args.server, config.terminal_id, key) as client:
        count = restore_journal(client, config, key, _progress("restore"))
    _end_progress()
    print(f"復元しました (restored): {count:,} entries of {config.terminal_id} into "
          f"{config.journal_path}")
    return 0
