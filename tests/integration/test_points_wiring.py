"""The composition root wires a real counter's はちのへポイント to the central server: the
server-backed points service, the counter's own points key (0600), and award quota granted by
the server and journaled; the demo keeps the simulator."""

from __future__ import annotations

import shutil
import stat
from contextlib import ExitStack
from pathlib import Path

from server_harness import enroll_terminal, running_server, sqlite_url

from drivers.points_sim import PointsSimulator
from kiosk_config.loader import load_config
from madoguchi.app_cli import build_context
from madoguchi.paths import SAMPLES
from sync.points_client import ServerPointsService
from terminal.journal import TerminalKey
from terminal.points import card_token


def _config(tmp_path: Path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    return load_config(copy / "museum-01.toml")


def test_a_real_counter_uses_the_servers_points_service(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.key_path.parent.mkdir(parents=True, exist_ok=True)
    key = TerminalKey.load_or_create(config.key_path)
    database = sqlite_url(tmp_path)
    with running_server(database) as base_url, ExitStack() as stack:
        enroll_terminal(base_url, database, config.facility_id, config.terminal_id, key)
        context = build_context(config, config.data_dir, stack, demo=False,
                                server_url=base_url)
        counter = context.counter
        assert isinstance(context.points, ServerPointsService)
        assert counter.points is context.points
        assert context.points_quota_interval_s > 0
        points_key = config.data_dir / "points.key"
        assert context.points_key == points_key.read_bytes() and len(context.points_key) == 32
        assert stat.S_IMODE(points_key.stat().st_mode) == 0o600
        entry = counter.refresh_points_quota()
        assert entry is not None and entry.kind == "points.quota"
        assert entry.body["granted"] > 0
        assert counter.state.points.quota_left == entry.body["granted"]
        card = card_token(context.points_key, bytes.fromhex("012e4cd58a1b2c3d"))
        known = context.points.card_points(card)
        assert (known.balance, known.awarded) == (0, 0)
        assert known.cap_left == config.points.per_person_cap  # type: ignore[union-attr]


def test_without_a_server_a_real_counter_has_no_points_service(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with ExitStack() as stack:
        context = build_context(config, config.data_dir, stack, demo=False, server_url=None)
        assert context.points is None and context.counter.points is None
        assert context.points_quota_interval_s == 0


def test_the_demo_keeps_the_simulator_with_the_configured_campaign(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with ExitStack() as stack:
        context = build_context(config, tmp_path / "demo", stack, demo=True, server_url=None)
        assert isinstance(context.points, PointsSimulator)
        assert context.points.per_person_cap == config.points.per_person_cap  # type: ignore[union-attr]
        assert context.points_quota_interval_s > 0
