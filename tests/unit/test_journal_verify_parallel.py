"""Signatures checked in a process pool still report the lowest bad seq."""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey, signatures, verify_entries
from terminal.journal.canonical import canonical, loads_strict
from terminal.journal.signatures import SignatureChecker

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
TERMINAL = "hachinohe-gym-02"
N = 120
POOL = {"parallel_threshold": 10, "workers": 2, "chunk_size": 7}


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], str]:
    db = tmp_path_factory.mktemp("pool") / "journal.db"
    key = TerminalKey.generate()
    with Journal.open(db, TERMINAL, key) as journal:
        journal.append_many(
            ("sale", {"receipt_no": f"r{i}"}, T0 + timedelta(seconds=i)) for i in range(N)
        )
        return list(journal.lines()), key.public_key_b64


def resign(lines: list[str], seq: int, key: TerminalKey) -> None:
    entry = loads_strict(lines[seq - 1])
    assert isinstance(entry, dict)
    entry["sig"] = key.sign_hash(entry["hash"])
    lines[seq - 1] = canonical(entry).decode()


def edit_body(lines: list[str], seq: int) -> None:
    lines[seq - 1] = lines[seq - 1].replace(f'"r{seq - 1}"', '"edited"')


def run(lines: list[str], public_key: str) -> tuple[int | None, str] | None:
    report = verify_entries(lines, TERMINAL, public_key, public_key, **POOL)  # type: ignore[arg-type]
    return None if report.finding is None else (report.finding.seq, report.finding.reason)


def test_pool_verifies_a_good_journal(
    signed: tuple[list[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, public_key = signed
    pools: list[object] = []
    real = signatures.ProcessPoolExecutor

    def spy(*args: Any, **kwargs: Any) -> ProcessPoolExecutor:
        pools.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(signatures, "ProcessPoolExecutor", spy)
    report = verify_entries(lines, TERMINAL, public_key, None, **POOL)  # type: ignore[arg-type]
    assert report.ok and report.entries == N
    assert len(pools) == 1
    assert report.last_hash == loads_strict(lines[-1])["hash"]  # type: ignore[index]


@pytest.mark.parametrize("bad_sigs", [[37], [90, 38, 110], [1], [N]])
def test_pool_reports_the_lowest_bad_signature(
    signed: tuple[list[str], str], bad_sigs: list[int]
) -> None:
    lines, public_key = list(signed[0]), signed[1]
    for seq in bad_sigs:
        resign(lines, seq, TerminalKey.generate())
    assert run(lines, public_key) == (min(bad_sigs), "signature")


def test_signature_before_a_later_hash_failure_wins(signed: tuple[list[str], str]) -> None:
    lines, public_key = list(signed[0]), signed[1]
    resign(lines, 41, TerminalKey.generate())
    edit_body(lines, 100)
    assert run(lines, public_key) == (41, "signature")


def test_hash_failure_before_a_later_bad_signature_wins(signed: tuple[list[str], str]) -> None:
    lines, public_key = list(signed[0]), signed[1]
    edit_body(lines, 20)
    resign(lines, 80, TerminalKey.generate())
    assert run(lines, public_key) == (20, "hash")


def test_pool_from_a_threaded_process_uses_a_safe_start_method(
    signed: tuple[list[str], str],
) -> None:
    lines, public_key = list(signed[0]), signed[1]
    resign(lines, 55, TerminalKey.generate())
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert run(lines, public_key) == (55, "signature")
    finally:
        stop.set()
        worker.join()


def test_checker_in_process_below_threshold(signed: tuple[list[str], str]) -> None:
    lines, public_key = signed
    with SignatureChecker(public_key, threshold=1000) as checker:
        for line in lines[:5]:
            entry = loads_strict(line)
            assert isinstance(entry, dict)
            checker.add(entry["seq"], entry["prev"], entry["hash"], "AAAA")
        assert checker.first_bad() == (1, loads_strict(lines[0])["prev"])  # type: ignore[index]
