"""``needs_enrollment``: a counter is enrolled once it holds a valid pinned server key and
knows a server URL; and how the sync client's errors become the screen's failure kinds."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from kiosk_config.loader import load_config
from kiosk_config.schema import KioskConfig
from madoguchi.first_start import enroll_facts, enroller, first_start, needs_enrollment
from madoguchi.paths import SAMPLES
from sync.enrollment import SERVER_KEY_FILE, SERVER_URL_FILE
from terminal.journal.keys import TerminalKey
from ui.enroll_text import EnrollError, EnrollFacts, EnrollFn, Failure, StartChoice


def sample_config(tmp_path: Path, server_url: str | None = "keep") -> KioskConfig:
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    config = load_config(copy / "museum-01.toml")
    if server_url != "keep":
        config = dataclasses.replace(config, server_url=server_url)
    return config


def pin(config: KioskConfig, key: str) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    (config.data_dir / SERVER_KEY_FILE).write_text(key + "\n", "utf-8")


def test_a_counter_with_a_server_url_needs_only_the_pinned_key(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    assert config.server_url is not None
    assert needs_enrollment(config)
    pin(config, TerminalKey.generate().public_key_b64)
    assert not needs_enrollment(config)


def test_without_any_server_url_the_saved_one_counts(tmp_path: Path) -> None:
    config = sample_config(tmp_path, server_url=None)
    pin(config, TerminalKey.generate().public_key_b64)
    assert needs_enrollment(config)  # a key, but no URL to reach its server
    (config.data_dir / SERVER_URL_FILE).write_text("https://madoguchi.example.jp\n", "utf-8")
    assert not needs_enrollment(config)
    assert first_start(config) == StartChoice("https://madoguchi.example.jp")


def test_a_damaged_pinned_key_needs_enrollment_again(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    pin(config, "not a key")
    assert needs_enrollment(config)


def test_facts_offer_offline_only_without_a_configured_server(tmp_path: Path) -> None:
    with_server = enroll_facts(sample_config(tmp_path / "a"))
    assert not with_server.offline_allowed and with_server.server_url == "http://127.0.0.1:8765"
    offline = enroll_facts(sample_config(tmp_path / "b", server_url=None))
    assert offline.offline_allowed and offline.server_url is None
    assert offline.terminal == "hachinohe-museum-01" and "八戸市博物館" in offline.facility


def test_first_start_shows_the_screen_only_when_needed(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = sample_config(tmp_path)
    shown: list[EnrollFacts] = []

    def closed_without_choice(facts: EnrollFacts, enroll: EnrollFn) -> StartChoice | None:
        shown.append(facts)
        return None

    assert first_start(config, closed_without_choice) is None
    assert len(shown) == 1 and "未登録" in capsys.readouterr().err
    pin(config, TerminalKey.generate().public_key_b64)
    assert first_start(config, closed_without_choice) == StartChoice(config.server_url)
    assert len(shown) == 1


def test_an_unusable_terminal_key_is_a_local_failure(tmp_path: Path) -> None:
    config = sample_config(tmp_path)
    config.key_path.parent.mkdir(parents=True, exist_ok=True)
    config.key_path.write_text("garbage", "utf-8")
    with pytest.raises(EnrollError) as caught:
        enroller(config)("http://127.0.0.1:9", "AAAA-BBBB-CCCC-DDDD")
    assert caught.value.kind is Failure.LOCAL and str(config.key_path) in caught.value.detail
