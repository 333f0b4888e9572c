"""The first-start enrollment screen against a real server (SQLite): a good code pins the
server key and the counter app starts on the enrolled URL; wrong, used, expired and foreign
codes show the server's reason and allow a retry; an unreachable server and a malformed URL
say so (the latter before any request); the on-screen keyboard types the code."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import (
    OTHER_FACILITY,
    enroll_terminal,
    enrollment_code,
    prepare,
    running_server,
    sqlite_url,
)

from kiosk_config.loader import load_config
from kiosk_config.schema import KioskConfig
from madoguchi.first_start import enroll_facts, enroller, needs_enrollment
from madoguchi.paths import SAMPLES
from sync.client import enroll
from sync.enrollment import SERVER_KEY_FILE, SERVER_URL_FILE
from terminal.journal.keys import TerminalKey, fingerprint_of
from ui.enroll_screen import EnrollScreen
from ui.enroll_text import Enrolled, EnrollFacts, StartChoice

TIMEOUT_MS = 20_000
FACTS = EnrollFacts("t-1", "f-1（テスト）", None, offline_allowed=True)


@dataclasses.dataclass
class Served:
    database: str
    base_url: str
    server_key: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    database = sqlite_url(tmp_path)
    server_key = prepare(database)
    with running_server(database) as base_url:
        yield Served(database, base_url, server_key)


@pytest.fixture
def config(tmp_path: Path) -> KioskConfig:
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    return load_config(copy / "museum-01.toml")


def screen_for(qtbot: Any, config: KioskConfig) -> EnrollScreen:
    screen = EnrollScreen(enroll_facts(config), enroller(config))
    qtbot.addWidget(screen)
    screen.show()
    return screen


def type_in(screen: EnrollScreen, url: str | None, code: str) -> None:
    """Type with the on-screen keyboard, as a finger would (the code without its hyphens)."""
    if url is not None:
        screen.choose_target("url")
        screen.keyboard.clear_key.click()
        screen.keyboard.type_text(url)
    screen.choose_target("code")
    screen.keyboard.clear_key.click()
    screen.keyboard.type_text(code.replace("-", ""))


def enroll_and_wait(qtbot: Any, screen: EnrollScreen) -> str:
    screen.enroll_button.click()
    assert not screen.enroll_button.isEnabled()  # working: no second tap
    qtbot.waitUntil(lambda: not screen.runner.busy, timeout=TIMEOUT_MS)
    assert screen.enroll_button.isEnabled() or screen.result is not None
    return screen.message.text()


def test_a_good_code_pins_the_key_and_start_continues(qtbot: Any, served: Served,
                                                      config: KioskConfig) -> None:
    assert needs_enrollment(config)
    screen = screen_for(qtbot, config)
    assert screen.url_field.text() == config.server_url  # pre-filled from the config
    assert screen.offline_button is None  # configured for a server: it must enroll
    assert "端末ID / Terminal: hachinohe-museum-01" in screen.facts_label.text()
    code = enrollment_code(served.database, config.facility_id, config.terminal_id)
    type_in(screen, served.base_url, code)
    assert screen.code_field.text() == code and screen.url_field.text() == served.base_url
    text = enroll_and_wait(qtbot, screen)
    assert "登録しました" in text and "Enrolled" in text
    pinned = (config.data_dir / SERVER_KEY_FILE).read_text("utf-8").strip()
    assert pinned == served.server_key
    assert (config.data_dir / SERVER_URL_FILE).read_text("utf-8").strip() == served.base_url
    terminal_key = TerminalKey.load(config.key_path)
    shown = screen.keys_label.text()
    assert terminal_key.fingerprint in shown and fingerprint_of(served.server_key) in shown
    assert not needs_enrollment(config)
    assert screen.code_field.text() == ""  # a used code is not left on screen
    with qtbot.waitSignal(screen.chosen, timeout=TIMEOUT_MS) as started:
        screen.start_button.click()
    assert started.args == [StartChoice(served.base_url)]


def test_wrong_codes_show_the_servers_reason_and_allow_a_retry(
        qtbot: Any, served: Served, config: KioskConfig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    terminal, facility = config.terminal_id, config.facility_id
    used = enrollment_code(served.database, facility, terminal)
    enroll(served.base_url, used, terminal, facility, TerminalKey.generate().public_key_b64)
    expired = enrollment_code(served.database, facility, terminal, hours=1e-6)
    foreign = enrollment_code(served.database, facility, "another-counter")
    good = enrollment_code(served.database, facility, terminal)
    screen = screen_for(qtbot, config)
    cases = [("ABCD-EFGH-IJKL-MNOP", "登録コードはサーバーにありません", "is not known"),
             (used, "使用済み", "already used"),
             (expired, "有効期限が切れています", "has expired"),
             (foreign, "別の端末用", "issued for terminal 'another-counter'")]
    for index, (code, ja, server_says) in enumerate(cases):
        type_in(screen, served.base_url if index == 0 else None, code)
        text = enroll_and_wait(qtbot, screen)
        assert text.startswith("この") and ja in text and server_says in text, text
        assert "HTTP 403" in text and screen.result is None and needs_enrollment(config)
        assert code.replace("-", "") not in text.replace("-", "")
    type_in(screen, None, good)  # the screen stayed up: retry with the right code
    assert "登録しました" in enroll_and_wait(qtbot, screen)
    assert not needs_enrollment(config)
    for code, *_ in cases:
        assert code.replace("-", "") not in caplog.text.replace("-", "")
    assert good.replace("-", "") not in caplog.text.replace("-", "")


def test_a_terminal_enrolled_elsewhere_is_a_clear_conflict(qtbot: Any, served: Served,
                                                           config: KioskConfig) -> None:
    enroll_terminal(served.base_url, served.database, OTHER_FACILITY, config.terminal_id,
                    TerminalKey.generate())
    screen = screen_for(qtbot, config)
    type_in(screen, served.base_url,
            enrollment_code(served.database, config.facility_id, config.terminal_id))
    text = enroll_and_wait(qtbot, screen)
    assert f"端末ID {config.terminal_id} はサーバーに別の鍵" in text and "HTTP 409" in text
    assert OTHER_FACILITY in text and "改ざん" not in text
    assert not (config.data_dir / SERVER_KEY_FILE).exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_server_names_the_url(qtbot: Any, config: KioskConfig) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    screen = screen_for(qtbot, config)
    type_in(screen, url, "ABCD-EFGH-IJKL-MNOP")
    text = enroll_and_wait(qtbot, screen)
    assert text.startswith(f"サーバー {url} に接続できません")
    assert f"Cannot reach the server at {url}" in text
    assert screen.url_field.isEnabled() and screen.pages.currentIndex() == 0


def test_malformed_urls_and_codes_are_refused_before_any_request(qtbot: Any) -> None:
    calls: list[str] = []

    def enroll(server_url: str, code: str) -> Enrolled:
        calls.append(server_url)
        raise AssertionError("no request for a malformed URL")

    screen = EnrollScreen(FACTS, enroll)
    qtbot.addWidget(screen)
    for url, ja in (("", "URLを入力"), ("htp://madoguchi.example.jp", "正しくありません"),
                    ("madoguchi.example.jp", "正しくありません"),
                    ("https://exa mple.jp", "正しくありません"),
                    ("https://madoguchi.example.jp:port", "正しくありません"),
                    ("http://", "正しくありません")):
        screen.url_field.setText(url)
        screen.code_field.setText("ABCD-EFGH-IJKL-MNOP")
        screen.enroll_button.click()
        assert ja in screen.message.text() and "URL" in screen.message.text(), url
    screen.url_field.setText("https://madoguchi.example.jp/")
    for code, ja in (("ABCD-EFGH", "16文字です（入力は8文字）"),
                     ("ABCD-EFGH-IJKL-MN01", "使えない文字")):
        screen.code_field.setText(code)
        screen.enroll_button.click()
        assert ja in screen.message.text(), code
    assert calls == [] and not screen.runner.busy


def test_the_keyboard_types_codes_and_urls(qtbot: Any) -> None:
    screen = EnrollScreen(FACTS, lambda url, code: Enrolled(url, "a", "b", False))
    qtbot.addWidget(screen)
    assert not screen.keyboard.code_mode  # no URL configured: the URL comes first
    screen.keyboard.type_text("https://a.jp")
    assert screen.url_field.text() == "https://a.jp"
    screen.choose_target("code")
    keys = screen.keyboard.keys
    assert keys["q"].text() == "Q" and keys["2"].isEnabled() and keys["7"].isEnabled()
    assert not any(keys[k].isEnabled() for k in "0189-.:/_")
    screen.keyboard.type_text("abcdefghijklmnop2")  # one too many: the 17th is dropped
    assert screen.code_field.text() == "ABCD-EFGH-IJKL-MNOP"
    screen.keyboard.back_key.click()
    screen.keyboard.back_key.click()
    assert screen.code_field.text() == "ABCD-EFGH-IJKL-MN"
    screen.code_field.setText("ｗｘｙｚ２３")  # a hardware keyboard through a Japanese IME
    screen.code_field.textEdited.emit(screen.code_field.text())
    assert screen.code_field.text() == "WXYZ-23"


def test_offline_only_without_a_configured_server_and_failures_never_crash(qtbot: Any) -> None:
    def broken(url: str, code: str) -> Enrolled:
        raise RuntimeError("a bug below the screen")

    screen = EnrollScreen(FACTS, broken)
    qtbot.addWidget(screen)
    screen.url_field.setText("https://madoguchi.example.jp")
    screen.code_field.setText("ABCD-EFGH-IJKL-MNOP")
    text = enroll_and_wait(qtbot, screen)
    assert "予期しないエラー" in text and "RuntimeError: a bug below the screen" in text
    assert screen.offline_button is not None
    with qtbot.waitSignal(screen.chosen, timeout=TIMEOUT_MS) as chosen:
        screen.offline_button.click()
    assert chosen.args == [StartChoice(None)]


def test_madoguchi_run_enrolls_then_opens_the_counter(served: Served,
                                                     config: KioskConfig) -> None:
    """``madoguchi run`` on an unenrolled counter, in its own process as on a real start: the
    enrollment window, then the counter app on the enrolled URL."""
    code = enrollment_code(served.database, config.facility_id, config.terminal_id)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("enroll_run_driver.py")),
         str(config.source), served.base_url, code],
        capture_output=True, text=True, timeout=180,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["enroll_screen"] and seen["returned"] == 0
    assert seen["receipt_url"].startswith(f"{served.base_url}/r/{config.terminal_id}/7/")
    assert code not in done.stdout + done.stderr  # the code is never logged
    assert not needs_enrollment(config)
