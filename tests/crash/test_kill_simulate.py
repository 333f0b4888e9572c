"""kill -9 of ``madoguchi simulate`` at random moments never loses a committed entry.

Each run resumes the same journal (as a restarted counter would), prints ``committed SEQ HASH``
after every commit, and is killed at a random moment. After each kill the last entry it
reported as committed must be in the journal with the same hash, the whole chain must verify,
and the next run must recover (resolve pending payments, cancel the open sale) and go on.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from madoguchi_testing import ROOT, SAMPLES, cli_command

from terminal.journal import Journal, verify_path

RUNS = int(os.environ.get("MADOGUCHI_CRASH_RUNS", "50"))


def _run_and_kill(journal: Path, seed: int, delay: float) -> tuple[int, str] | None:
    """Start simulate, kill -9 it after ``delay`` seconds of committing; the last reported
    committed (seq, hash), or None if it committed nothing."""
    proc = subprocess.Popen(
        cli_command("simulate", "--config", str(SAMPLES / "museum-01.toml"), "--journal",
                    str(journal), "--sales", "100000", "--days", "50", "--seed", str(seed),
                    "--trace"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # wait until it commits something
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    rest, err = proc.communicate(timeout=60)
    lines = [ln for ln in (first + rest).split("\n") if ln.startswith("committed ")]
    if not lines:
        assert proc.returncode == -signal.SIGKILL, err
        return None
    _, seq, digest = lines[-1].split()
    return int(seq), digest


def crash_runs(tmp_path: Path, runs: int) -> None:
    rng = random.Random(20261126)
    journal = tmp_path / "museum.db"
    killed_with_commits = 0
    for run in range(runs):
        last = _run_and_kill(journal, seed=run, delay=rng.uniform(0.0, 0.6))
        report = verify_path(journal, key_path=journal.with_suffix(".key"))
        assert report.ok, f"run {run}: {report.finding}"
        assert report.key_pinned
        if last is None:
            continue
        killed_with_commits += 1
        seq, digest = last
        with Journal.open_readonly(journal) as j:
            assert j.last_seq >= seq, f"run {run}: committed seq {seq} lost"
            assert j.entry(seq).hash == digest, f"run {run}: seq {seq} changed"
    assert killed_with_commits >= runs * 0.9
    print(f"\nkill -9 runs: {runs}, with commits: {killed_with_commits}, "
          f"entries: {report.entries}, lost: 0")


def test_kill_minus_nine_never_loses_a_committed_entry(tmp_path: Path) -> None:
    crash_runs(tmp_path, RUNS)


@pytest.mark.slow
def test_kill_minus_nine_many_runs(tmp_path: Path) -> None:
    crash_runs(tmp_path, 300)
