"""``madoguchi``: the operator command line. Every command has --help; errors exit non-zero.

Exit codes: 0 success; 1 the check failed (a tampered journal, a refused operation);
2 usage errors, unreadable or invalid input (config, not a journal, wrong terminal).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from madoguchi import app_cli, commands, devices_cli, server_cli, status_cli, support_cli, sync_cli
from terminal.errors import ConfigError, JournalError, MadoguchiError, NotAJournal, WrongTerminal

Handler = Callable[[argparse.Namespace], int]


def _add_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = sub.add_parser("config", help="check kiosk configurations")
    csub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    check = csub.add_parser("check", help="validate a config file or a folder of configs")
    check.add_argument("path", help="a terminal config (.toml) or a folder of them")
    check.set_defaults(handler=commands.config_check)


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("simulate", help="ring up random realistic sales (headless)")
    sim.add_argument("--config", required=True, help="terminal config (.toml)")
    sim.add_argument("--journal", required=True, help="journal database to append to")
    sim.add_argument("--sales", type=int, required=True, help="number of sales")
    sim.add_argument("--seed", type=int, default=0, help="random seed (deterministic runs)")
    sim.add_argument("--days", type=int, default=1, help="business days (a Z closes each)")
    sim.add_argument("--start", default="2026-11-26T09:00:00+09:00",
                     help="simulated clock start, RFC 3339 with offset")
    sim.add_argument("--open", action="store_true",
                     help="leave the last business day open (no Z closing)")
    sim.add_argument("--trace", action="store_true",
                     help="print 'committed SEQ HASH' after every committed entry")
    sim.add_argument("--cards", type=int, default=0,
                     help="simulated Hachica cards tapped in about 60%% of the sales (points)")
    sim.add_argument("--offline-share", type=float, default=0.0,
                     help="share of the sales (0-1) with the points service unreachable")
    sim.set_defaults(handler=commands.simulate)


def _add_journal(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    journal = sub.add_parser("journal", help="verify or export a journal")
    jsub = journal.add_subparsers(dest="journal_command", required=True, metavar="COMMAND")
    verify = jsub.add_parser("verify", help="check the hash chain and every signature")
    verify.add_argument("path", help="a journal database or an export file (.jsonl)")
    verify.add_argument("--public-key", help="pin this base64 Ed25519 key (as enrolled)")
    verify.add_argument("--key", help="pin the terminal's own key file")
    verify.add_argument("--json", action="store_true", help="machine-readable result")
    verify.set_defaults(handler=commands.journal_verify)
    export = jsub.add_parser("export", help="write the madoguchi-journal/1 export")
    export.add_argument("path", help="a journal database")
    export.add_argument("-o", "--output", help="output file (default: standard output)")
    export.set_defaults(handler=commands.journal_export)


def _add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="X report (read-only) or a Z closing")
    report.add_argument("which", choices=("x", "z"), help="x: running totals; z: a closing")
    report.add_argument("--journal", required=True, help="journal database or export")
    report.add_argument("--day", help="business day YYYY-MM-DD (default: the open period / "
                        "the last closing)")
    report.add_argument("--json", action="store_true", help="JSON with closing.z field names")
    report.set_defaults(handler=commands.report)


def _add_clerk(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clerk = sub.add_parser("clerk", help="manage the terminal's clerks")
    ksub = clerk.add_subparsers(dest="clerk_command", required=True, metavar="COMMAND")
    add = ksub.add_parser("add", help="add a clerk; the PIN is read from standard input")
    add.add_argument("--config", required=True, help="terminal config (.toml)")
    add.add_argument("--id", required=True, dest="clerk_id", help="clerk id")
    add.add_argument("--role", required=True, choices=("clerk", "supervisor", "admin"))
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--replace", action="store_true", help="replace an existing clerk")
    add.set_defaults(handler=commands.clerk_add)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="madoguchi",
        description="madoguchi (窓口): point of sale for public-facility counters.",
    )
    parser.add_argument("--version", action="version", version=f"madoguchi {commands.version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_config, _add_simulate, _add_journal, _add_report, _add_clerk,
                server_cli.add_commands, sync_cli.add_commands, app_cli.add_commands,
                devices_cli.add_commands, status_cli.add_commands, support_cli.add_commands):
        add(sub)
    return parser


def _quiet_libraries() -> None:
    """Operators want warnings only, prefixed so they can tell them from results."""
    logging.basicConfig(level=logging.WARNING, format="madoguchi: %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (ConfigError, NotAJournal, WrongTerminal) as exc:
        print(f"madoguchi: {exc}", file=sys.stderr)
        return 2
    except (JournalError, MadoguchiError) as exc:
        print(f"madoguchi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("madoguchi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
