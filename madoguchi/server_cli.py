"""``madoguchi server ...``: run the central server and its management commands.

Imports of the server stack (SQLAlchemy, FastAPI, uvicorn) happen inside the handlers so
``madoguchi --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Sub = argparse._SubParsersAction[argparse.ArgumentParser]

_DB_HELP = ("database URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB "
            "(default: $MADOGUCHI_DATABASE_URL, else sqlite:///madoguchi-server.db)")


def _database(parser: argparse.ArgumentParser, suppress: bool) -> None:
    parser.add_argument("--database", metavar="URL", help=_DB_HELP,
                        default=argparse.SUPPRESS if suppress else None)


def _serve_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default_host: Any = argparse.SUPPRESS if suppress else "127.0.0.1"
    default_port: Any = argparse.SUPPRESS if suppress else 8080
    parser.add_argument("--host", default=default_host, help="address to listen on "
                        "(default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=default_port, help="port (default 8080)")
    parser.add_argument("--forwarded-allow-ips", metavar="IPS",
                        default=argparse.SUPPRESS if suppress else None,
                        help="load balancer addresses whose X-Forwarded-For is trusted (the "
                        "client address counts enrollment failures; default 127.0.0.1)")


def add_commands(sub: Sub) -> None:
    """Register ``server`` and its subcommands (bare ``server`` = ``server run``)."""
    server = sub.add_parser("server", help="run the central server or manage it",
                            description="The central server: HTTP API and management. "
                            "'madoguchi server' alone serves, like 'madoguchi server run'.")
    _database(server, suppress=False)
    _serve_options(server, suppress=False)
    server.set_defaults(handler=server_run)
    ssub = server.add_subparsers(dest="server_command", metavar="COMMAND")
    run = ssub.add_parser("run", help="serve the HTTP API (OpenAPI at /openapi.json)")
    _database(run, suppress=True)
    _serve_options(run, suppress=True)
    run.set_defaults(handler=server_run)
    _add_management(ssub)


def _add_management(ssub: Sub) -> None:
    def add(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        parser = ssub.add_parser(name, help=help_text, description=help_text)
        _database(parser, suppress=True)
        parser.set_defaults(handler=handler)
        return parser

    add("init", "migrate the database to the newest schema; create the server key", init)
    admin = add("create-admin", "create an administrator; the password is read from stdin",
                create_admin)
    admin.add_argument("--user", required=True, help="administrator user name")
    admin.add_argument("--replace", action="store_true", help="replace an existing one")
    admin.add_argument("--role", default="admin",
                       choices=("admin", "auditor", "facility_manager"),
                       help="console role (default admin; auditor reads only)")
    admin.add_argument("--facility", help="the facility of a facility_manager")
    code = add("enroll-code", "print a one-time enrollment code for a terminal", enroll_code)
    code.add_argument("--facility", required=True, help="facility id")
    code.add_argument("--terminal", required=True, help="terminal id")
    code.add_argument("--expires-hours", type=float, default=24.0,
                      help="hours until the code expires (default 24)")
    revoke = add("revoke", "revoke a terminal (its requests get 403)", revoke_terminal)
    revoke.add_argument("--terminal", required=True, help="terminal id")
    publish = add("publish-config", "publish a new signed config version for a facility",
                  publish_config)
    publish.add_argument("--facility", required=True, help="facility id")
    publish.add_argument("--file", required=True, help="config file (its text is the payload)")
    report = add("report", "totals of a business day per terminal, tender and tax class",
                 report_day)
    report.add_argument("--day", required=True, help="business day YYYY-MM-DD")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    add("rebuild", "recompute every derived table from the stored entries and verify "
        "every stored entry's signature (a 'signature' alarm for each that fails)", rebuild)
    from madoguchi.server_points_cli import add_points_commands

    add_points_commands(add)


def _engine(args: argparse.Namespace) -> Any:
    from sync.server.db import database_url, make_engine

    return make_engine(database_url(getattr(args, "database", None)))


def _fail(message: str, code: int = 2) -> int:
    print(f"madoguchi server: {message}", file=sys.stderr)
    return code


def _guard(args: argparse.Namespace, work: Any) -> int:
    """Run ``work(engine)`` with clear messages for database and server errors."""
    from sqlalchemy.exc import SQLAlchemyError

    from sync.server.db import ServerError

    engine = _engine(args)
    try:
        result: int = work(engine)
        return result
    except ServerError as exc:
        return _fail(str(exc))
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return _fail(f"database error at {engine.url!r}: {first}; check --database and that "
                     "the database runs and was initialised ('madoguchi server init')", 1)
    finally:
        engine.dispose()


def server_run(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        import uvicorn

        from sync.server.app import create_app
        from sync.server.db import require_migrated
        from sync.server.keys import server_public_key

        require_migrated(engine)
        server_public_key(engine)
        app = create_app(engine.url.render_as_string(hide_password=False), engine=engine)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info",
                    forwarded_allow_ips=args.forwarded_allow_ips)
        return 0

    return _guard(args, work)


def init(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.db import migrate
        from sync.server.keys import ensure_server_key

        migrate(engine)
        with engine.begin() as conn:
            public_key, created = ensure_server_key(conn)
        print(f"database ready (schema at head); server key {'created' if created else 'kept'}")
        print(f"server public key: {public_key}")
        return 0

    return _guard(args, work)


def create_admin(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        return _fail("give the password (8 characters or more) on standard input")

    def work(engine: Any) -> int:
        from sync.server.admin import create_admin as create

        create(engine, args.user, password, replace=args.replace, role=args.role,
               facility=args.facility)
        print(f"administrator {args.user} saved ({args.role})")
        return 0

    return _guard(args, work)


def enroll_code(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.enroll import create_code

        code, expires = create_code(engine, args.facility, args.terminal, args.expires_hours)
        print(code)
        print(f"for terminal {args.terminal} of {args.facility}; single use; expires "
              f"{expires:%Y-%m-%dT%H:%M:%SZ}", file=sys.stderr)
        return 0

    return _guard(args, work)


def revoke_terminal(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.admin import revoke

        revoke(engine, args.terminal)
        print(f"terminal {args.terminal} revoked")
        return 0

    return _guard(args, work)


def publish_config(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        payload = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {path} as UTF-8 text: {exc}")

    def work(engine: Any) -> int:
        from sync.server.configs import publish

        version = publish(engine, args.facility, payload)
        print(f"published config version {version} for {args.facility}")
        return 0

    return _guard(args, work)


def report_day(args: argparse.Namespace) -> int:
    import re

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.day):
        return _fail(f"--day {args.day!r} is not a business day YYYY-MM-DD")

    def work(engine: Any) -> int:
        from sync.server.admin import format_day_report
        from sync.server.derived import day_report

        with engine.begin() as conn:
            report = day_report(conn, args.day)
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            print(format_day_report(report), end="")
        return 0

    return _guard(args, work)


def rebuild(args: argparse.Namespace) -> int:
    def work(engine: Any) -> int:
        from sync.server.audit import audit_all
        from sync.server.derived import rebuild as recompute_all

        with engine.begin() as conn:
            counts = recompute_all(conn)
        print(", ".join(f"{name} {count}" for name, count in counts.items()))
        from sync.server.points.statement import rebuild as points_rebuild

        with engine.begin() as conn:
            points = points_rebuild(conn)
        print("points: " + ", ".join(f"{name} {count}" for name, count in points.items()))
        with engine.begin() as conn:
            audit = audit_all(conn)
        print(f"signatures checked {audit.checked}, new signature alarms {audit.alarms}")
        return 0

    return _guard(args, work)
