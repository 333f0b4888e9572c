"""`make demo`'s local central server serves the web console with a demo administrator."""

from __future__ import annotations

from pathlib import Path

from console.console_seed import login

from madoguchi.local_server import DEMO_ADMIN, create_demo_admin, local_server


def test_the_demo_administrator_can_log_in_to_the_local_console(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'server.db'}"
    with local_server(database) as base_url:
        assert create_demo_admin(database) == DEMO_ADMIN
        create_demo_admin(database)  # a second demo start resets it, never fails
        user, password = DEMO_ADMIN
        session = login(base_url, user, password)
        page = session.get(f"{base_url}/console/", timeout=30)
        assert page.status_code == 200 and "照合" in page.text
