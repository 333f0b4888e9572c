"""``madoguchi demo`` and ``madoguchi run``: the counter app, composed from a kiosk config."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from madoguchi.paths import SAMPLES

if TYPE_CHECKING:
    from kiosk_config.schema import KioskConfig
    from terminal.clerks import Clerk
    from terminal.ports import PointsService
    from ui.context import AppContext

DEFAULT_DEMO_CONFIG = SAMPLES / "museum-01.toml"


class SystemClock:
    """The terminal clock: local time with its offset."""

    def now(self) -> datetime:
        return datetime.now().astimezone()


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="the counter app on a sample config, simulated devices "
                          "and a local central server")
    demo.add_argument("--config", default=str(DEFAULT_DEMO_CONFIG), help="terminal config")
    demo.add_argument("--data", help="data folder (default: demo-data/<terminal id>)")
    demo.add_argument("--offscreen", action="store_true", help="no window (Qt offscreen)")
    demo.add_argument("--tour", metavar="DIR",
                      help="walk through every screen, save PNGs into DIR and exit")
    demo.add_argument("--no-server", action="store_true", help="without the local server")
    demo.set_defaults(handler=demo_command)
    run = sub.add_parser("run", help="the counter app for a real counter")
    run.add_argument("--config", required=True, help="terminal config (.toml)")
    run.set_defaults(handler=run_command)


def _clerks(config: KioskConfig, demo: bool) -> dict[str, Clerk]:
    from kiosk_config.clerks_file import load_clerks

    clerks = load_clerks(config.clerks_path)
    if clerks or not demo:
        return clerks
    from ui.demo import DEMO_CLERKS  # c1 / 1111, c2 / 2222, sup1 / 9999

    return dict(DEMO_CLERKS)


@contextmanager
def _sync(stack: ExitStack, config: KioskConfig, key: Any, journal_path: Path,
          server_url: str | None) -> Iterator[Any]:
    """A background uploader to ``server_url`` (None without a server)."""
    if server_url is None:
        yield None
        return
    from sync.client import ServerClient
    from sync.uploader import Uploader

    client = ServerClient(server_url, config.terminal_id, key)
    stack.callback(client.close)
    uploader = Uploader(journal_path, client)
    uploader.start()
    try:
        yield uploader
    finally:
        uploader.stop()
        _last_push(uploader)


def _last_push(uploader: Any) -> None:
    """On the way out, one last push so the server sees the day's final entries. Failing is
    fine: the journal keeps them and the next start sends them."""
    from sync.client import SyncError

    try:
        uploader.push_once()
    except SyncError as exc:
        print(f"madoguchi: not every entry reached the server yet ({exc}); "
              "they are sent at the next start", file=sys.stderr)


def _receipt_lookup(stack: ExitStack, config: KioskConfig, key: Any,
                    server_url: str | None) -> Callable[[str], Mapping[str, Any] | None] | None:
    """``lookup_receipt`` for the refund screen: a sale of another counter of the facility,
    looked up on the server (its own client: the uploader's runs on another thread)."""
    if server_url is None:
        return None
    from sync.client import ServerClient

    client = ServerClient(server_url, config.terminal_id, key, timeout=5)
    stack.callback(client.close)
    facility = config.facility_id

    def lookup_receipt(receipt_no: str) -> Mapping[str, Any] | None:
        return client.lookup_receipt(facility, receipt_no)

    return lookup_receipt


POINTS_QUOTA_INTERVAL_S = 60.0
"""How often the app asks the points service for award quota (and retries give-backs)."""
DEMO_POINTS_KEY = b"madoguchi demo points key (demo)"
"""The demo's points key: a fixed sample (32 bytes), never a real counter's."""


def points_key_at(path: Path) -> bytes:
    """The counter's points key in ``path``: 32 random bytes, created (mode 0600) if missing."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32:
            from terminal.errors import ConfigError

            raise ConfigError(f"ポイント鍵が不正です (the points key {path} must hold 32 bytes, "
                              f"found {len(key)}): restore it from the backup") from None
        return key
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    return key


def _points(config: KioskConfig, data_dir: Path, stack: ExitStack, *, demo: bool, key: Any,
            server_url: str | None) -> tuple[PointsService | None, bytes | None]:
    """The points service and key, when the points tender and [points] are on.

    The demo runs the simulator (its demo card holds 1,000 points; the key is a fixed sample).
    A real counter uses the central server's points service (its own client: the uploader's
    runs on another thread) and its own key; without a server it has no points service, so it
    neither awards nor redeems."""
    rules = config.points
    if "points" not in config.tenders or rules is None or not rules.enabled:
        return None, None
    if demo:
        from drivers.points_sim import DEMO_POINTS, PointsSimulator
        from madoguchi.devices import DEMO_IDM
        from terminal.points import card_token

        simulator = PointsSimulator(
            {card_token(DEMO_POINTS_KEY, DEMO_IDM): DEMO_POINTS},
            data_dir / "points-sim.jsonl", per_person_cap=rules.per_person_cap,
            budget=rules.campaign_budget)
        return simulator, DEMO_POINTS_KEY
    if server_url is None:
        return None, None
    from sync.client import ServerClient
    from sync.points_client import ServerPointsService

    client = ServerClient(server_url, config.terminal_id, key, timeout=5)
    stack.callback(client.close)
    return ServerPointsService(client), points_key_at(data_dir / "points.key")


def build_context(config: KioskConfig, data_dir: Path, stack: ExitStack, *, demo: bool,
                  server_url: str | None) -> AppContext:
    from madoguchi.bootstrap import build_counter, open_journal
    from madoguchi.devices import build_devices
    from madoguchi.qr_merchant import qr_payload_for
    from ui.context import AppContext

    data_dir.mkdir(parents=True, exist_ok=True)
    journal_path, key_path = data_dir / "journal.db", data_dir / "terminal.key"
    if not demo:
        journal_path, key_path = config.journal_path, config.key_path
    journal = open_journal(journal_path, key_path, config.terminal_id)
    stack.callback(journal.close)
    devices = build_devices(config, data_dir)
    stack.callback(devices.close)
    from terminal.journal import TerminalKey

    key = TerminalKey.load(key_path)
    uploader = stack.enter_context(_sync(stack, config, key, journal_path, server_url))
    points, points_key = _points(config, data_dir, stack, demo=demo, key=key,
                                 server_url=server_url)
    counter = build_counter(config, journal, SystemClock(), _clerks(config, demo),
                            devices.payment_terminal, qr_gateway=devices.qr_gateway,
                            points=points)
    terminal = config.terminal_id

    def receipt_url(seq: int, entry_hash: str) -> str | None:
        return None if server_url is None else f"{server_url}/r/{terminal}/{seq}/{entry_hash[:16]}"

    return AppContext(
        counter=counter, header=config.receipt, languages=config.languages,
        printer=devices.printer, card_reader=devices.card_reader, uploader=uploader,
        receipt_url=receipt_url, simulators=devices.simulators if demo else {},
        auto_lock_seconds=config.auto_lock_seconds,
        qr_payload=qr_payload_for(config) if "qr" in config.tenders else None,
        lookup_receipt=_receipt_lookup(stack, config, key, server_url),
        points=points, points_key=points_key,
        points_quota_interval_s=POINTS_QUOTA_INTERVAL_S if points is not None else 0.0,
    )


def demo_command(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config

    if args.offscreen or args.tour:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    config = load_config(Path(args.config))
    data_dir = Path(args.data) if args.data else Path("demo-data") / config.terminal_id
    with ExitStack() as stack:
        server_url = None
        if not args.no_server:
            from madoguchi.local_server import create_demo_admin, enroll_locally, local_server
            from terminal.journal import TerminalKey

            database = f"sqlite:///{(data_dir / 'server.db').resolve()}"
            data_dir.mkdir(parents=True, exist_ok=True)
            server_url = stack.enter_context(local_server(database))
            key = TerminalKey.load_or_create(data_dir / "terminal.key")
            enroll_locally(database, config.facility_id, config.terminal_id, key)
            print(f"local central server: {server_url} (database {database})")
            user, password = create_demo_admin(database)
            print(f"web console: {server_url}/console/ (demo administrator {user} / {password})")
        context = build_context(config, data_dir, stack, demo=True, server_url=server_url)
        from ui.app import run_app

        return run_app(context, tour_dir=Path(args.tour) if args.tour else None)


def run_command(args: argparse.Namespace) -> int:
    from kiosk_config.loader import load_config
    from madoguchi.first_start import first_start

    config = load_config(Path(args.config))
    start = first_start(config)  # the enrollment screen while not enrolled yet
    if start is None:
        return 1
    with ExitStack() as stack:
        context = build_context(config, config.data_dir, stack, demo=False,
                                server_url=start.server_url)
        from ui.app import run_app

        return run_app(context)
