"""Tampering with exported journals is always detected (DESIGN.md "Journal entry", "Sync").

Exports of real ``madoguchi simulate`` journals (one of ~120 entries, smaller ones) are
mutated at random, seeded: bit flips anywhere in an entry line (and in the header), deletion
of an entry other than the tail, insertion of a duplicated or forged line, swaps, edits that
keep valid JSON (stale, re-hashed, re-linked or re-signed), and re-signing of the whole chain
with another key. Every mutation must fail ``verify_path`` with the pinned key, and the
verifier must never vouch for a mutated entry. A subset is uploaded as the journal of a
fresh, enrolled terminal: the server must refuse it (409/422) or store a genuine prefix and
raise a gap alarm, never a mutated line.

A deleted tail is invisible to the file alone: the server catches it against what it holds.

Reproduce one mutation: ``make_mutation(base, random.Random(f"{SEED}-{index}"))``.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from madoguchi_testing import ROOT, SAMPLES, cli_command
from server_harness import FACILITY, Term, enroll_terminal, running_server, sqlite_url
from sqlalchemy import Engine, select

from sync import protocol
from sync.server.audit import audit_signatures
from sync.server.db import make_engine
from sync.server.enroll import create_code
from sync.server.models import Alarm
from terminal.errors import NotAJournal
from terminal.journal import Journal, TerminalKey, VerifyReport, verify_path
from terminal.journal.canonical import canonical, entry_hash
from terminal.journal.export import header_line
from terminal.journal.keys import public_key_from_file

SEED = int(os.environ.get("MADOGUCHI_TAMPER_SEED", "20261126"))
MUTATIONS = int(os.environ.get("MADOGUCHI_TAMPER_MUTATIONS", "10000"))
INGEST_MUTATIONS = int(os.environ.get("MADOGUCHI_TAMPER_INGEST", "300"))
CONFIG = SAMPLES / "museum-01.toml"
TERMINAL = "hachinohe-museum-01"

# (name, sales, days, seed): ~120, ~50, ~25 and ~10 entries
SIMULATIONS = (("big", 35, 2, 11), ("medium", 12, 1, 12), ("small", 5, 1, 13), ("tiny", 1, 1, 14))


# -- the genuine exports -------------------------------------------------------------------
@dataclass(frozen=True)
class Base:
    """One genuine export: header and entry lines (bytes, without their newline)."""

    name: str
    header: bytes
    lines: tuple[bytes, ...]
    pinned: str  # the terminal's public key (base64), as the server enrolled it
    db: Path
    key: Path

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def data(
        self, lines: list[bytes] | tuple[bytes, ...] | None = None, header: bytes | None = None
    ) -> bytes:
        body = b"".join(line + b"\n" for line in (self.lines if lines is None else lines))
        return (self.header if header is None else header) + b"\n" + body


def seeded_key(rng: random.Random) -> TerminalKey:
    """A key drawn from ``rng``: runs are byte-for-byte reproducible."""
    return TerminalKey(Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)))


def simulate(journal: Path, sales: int, days: int, seed: int) -> None:
    """``madoguchi simulate``; a new journal gets a key derived from ``seed`` (placed where
    simulate looks for it), so the journal's bytes are the same on every run."""
    key_path = journal.with_suffix(".key")
    if not key_path.exists():
        journal.parent.mkdir(parents=True, exist_ok=True)
        key_path.write_bytes(seeded_key(random.Random(f"key-{seed}")).to_pem())
        key_path.chmod(0o600)
    subprocess.run(
        cli_command(
            "simulate",
            "--config",
            str(CONFIG),
            "--journal",
            str(journal),
            "--sales",
            str(sales),
            "--days",
            str(days),
            "--seed",
            str(seed),
        ),
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )


def export(journal: Path, out: Path) -> None:
    subprocess.run(
        cli_command("journal", "export", str(journal), "-o", str(out)),
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )


def load_base(name: str, db: Path, export_path: Path, pinned: str | None = None) -> Base:
    raw = export_path.read_bytes()
    assert raw.endswith(b"\n")
    header, *lines = raw[:-1].split(b"\n")
    key = db.with_suffix(".key")
    return Base(name, header, tuple(lines), pinned or public_key_from_file(key), db, key)


@pytest.fixture(scope="session")
def bases(tmp_path_factory: pytest.TempPathFactory) -> list[Base]:
    """Exports of ``madoguchi simulate`` journals, made once per session."""
    made = []
    for name, sales, days, seed in SIMULATIONS:
        work = tmp_path_factory.mktemp(f"tamper-{name}")
        db = work / f"{name}.db"
        simulate(db, sales, days, seed)
        export(db, work / f"{name}.jsonl")
        base = load_base(name, db, work / f"{name}.jsonl")
        report = verify_path(work / f"{name}.jsonl", public_key_b64=base.pinned)
        assert report.ok and report.key_pinned, report.describe()
        made.append(base)
    sizes = {b.name: len(b.lines) for b in made}
    assert 60 <= sizes["big"] <= 150, sizes
    return made


# -- sealing helpers (what a forger with another key can compute) --------------------------
def seal(entry: dict[str, Any], key: TerminalKey) -> dict[str, Any]:
    unsigned = {k: v for k, v in entry.items() if k not in ("hash", "sig")}
    digest = entry_hash(unsigned)
    return {**unsigned, "hash": digest, "sig": key.sign_hash(digest)}


def rehash(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "hash": entry_hash(entry)}


def text(entry: dict[str, Any]) -> bytes:
    return canonical(entry)


def relink(entries: list[dict[str, Any]], start: int, key: TerminalKey | None) -> None:
    """Recompute prev/hash (and sig with ``key``, else keep the stale sig) from ``start``."""
    for i in range(start, len(entries)):
        entry = dict(entries[i])
        if i > 0:
            entry["prev"] = entries[i - 1]["hash"]
        entries[i] = seal(entry, key) if key is not None else rehash(entry)


# -- mutations -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutation:
    kind: str
    variant: str
    data: bytes
    first_bad: int  # lowest seq whose line is not the genuine one (0: the header)


def _first_bad(base: Base, lines: list[bytes]) -> int:
    for i, line in enumerate(lines):
        if i >= len(base.lines) or line != base.lines[i]:
            return i + 1
    return len(lines) + 1


def _line_mutation(base: Base, kind: str, variant: str, lines: list[bytes]) -> Mutation:
    return Mutation(kind, variant, base.data(lines), _first_bad(base, lines))


def bitflip(base: Base, rng: random.Random) -> Mutation:
    """One bit of one byte of an entry line, its newline included."""
    i = rng.randrange(len(base.lines))
    start = len(base.header) + 1 + sum(len(line) + 1 for line in base.lines[:i])
    offset = start + rng.randrange(len(base.lines[i]) + 1)
    bit = rng.randrange(8)
    data = bytearray(base.data())
    data[offset] ^= 1 << bit
    where = "newline" if offset - start == len(base.lines[i]) else f"byte {offset - start}"
    return Mutation("bitflip", f"seq {i + 1} {where} bit {bit}", bytes(data), i + 1)


def header_bitflip(base: Base, rng: random.Random) -> Mutation:
    offset = rng.randrange(len(base.header) + 1)
    bit = rng.randrange(8)
    data = bytearray(base.data())
    data[offset] ^= 1 << bit
    return Mutation("header_bitflip", f"byte {offset} bit {bit}", bytes(data), 0)


def delete(base: Base, rng: random.Random) -> Mutation:
    i = rng.randrange(len(base.lines) - 1)  # never the tail: see test_deleted_tail_...
    lines = list(base.lines)
    del lines[i]
    return _line_mutation(base, "delete", f"seq {i + 1}", lines)


def insert_duplicate(base: Base, rng: random.Random) -> Mutation:
    i, j = rng.randrange(len(base.lines)), rng.randrange(len(base.lines) + 1)
    lines = list(base.lines)
    lines.insert(j, base.lines[i])
    return _line_mutation(base, "insert_duplicate", f"seq {i + 1} at {j + 1}", lines)


_FORGED_BODIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("cash.out", {"amount": 50000, "clerk": "c1", "reason": "両替"}),
    ("cash.in", {"amount": 1, "clerk": "c2", "reason": "釣銭補充"}),
    ("login", {"clerk": "sup1"}),
    ("drawer.open", {"clerk": "c1"}),
)


def insert_forged(base: Base, rng: random.Random) -> Mutation:
    """A new entry linked into the chain at position j, sealed with another key (or with a
    neighbour's signature), the later entries renumbered and re-linked or not."""
    entries = base.entries
    j = rng.randrange(len(entries) + 1)
    near = entries[max(0, j - 1)]
    kind, body = rng.choice(_FORGED_BODIES)
    forged: dict[str, Any] = {
        "seq": j + 1,
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "terminal": near["terminal"],
        "kind": kind,
        "at": near["at"],
        "day": near["day"],
        "body": body,
        "prev": entries[j - 1]["hash"] if j else near["prev"],
    }
    variant = rng.choice(("other-key", "copied-sig", "other-key-renumbered", "other-key-relinked"))
    attacker = seeded_key(rng)
    if variant == "copied-sig":
        forged = {**rehash(forged), "sig": near["sig"]}
    else:
        forged = seal(forged, attacker)
    entries.insert(j, forged)
    if variant in ("other-key-renumbered", "other-key-relinked"):
        for k in range(j + 1, len(entries)):
            entries[k] = {**entries[k], "seq": k + 1}
        relink(entries, j + 1, attacker if variant == "other-key-relinked" else None)
    lines = list(base.lines[:j]) + [text(e) for e in entries[j:]]
    return _line_mutation(base, "insert_forged", f"{variant} at {j + 1}", lines)


def swap(base: Base, rng: random.Random) -> Mutation:
    i, j = sorted(rng.sample(range(len(base.lines)), 2))
    lines = list(base.lines)
    lines[i], lines[j] = lines[j], lines[i]
    return _line_mutation(base, "swap", f"seq {i + 1} and {j + 1}", lines)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _changed(value: Any, rng: random.Random) -> Any:
    """Another JSON value near ``value`` (same type most of the time)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((-1, 1, -100, 100, 1000, -value - 1, 10**6))
    if isinstance(value, str):
        if not value or rng.random() < 0.2:
            return value + rng.choice(("0", " ", "円", "\u2028", "x"))
        i = rng.randrange(len(value))
        return value[:i] + rng.choice("019aAz-:※") + value[i + 1 :]
    if value is None:
        return 0
    if isinstance(value, list):
        if value and rng.random() < 0.5:
            return value[:-1]
        return [*value, value[0] if value else 0]
    assert isinstance(value, dict)
    if value and rng.random() < 0.5:
        drop = rng.choice(sorted(value))
        return {k: v for k, v in value.items() if k != drop}
    return {**value, rng.choice(("note", "x", "approved_by", "total")): rng.choice((0, "", None))}


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _set(value[head], rest, new)}
    copy = list(value)
    copy[head] = _set(value[head], rest, new)
    return copy


_ENVELOPE_EDITS = ("seq", "id", "terminal", "kind", "at", "day", "prev", "hash", "sig")


def _edited(
    entry: dict[str, Any], entries: list[dict[str, Any]], rng: random.Random
) -> tuple[dict[str, Any], str]:
    for _ in range(20):
        if rng.random() < 0.7:
            path, value = rng.choice(list(_leaves(entry["body"])))
            new = {**entry, "body": _set(entry["body"], path, _changed(value, rng))}
            what = "body." + ".".join(map(str, path))
        else:
            field = rng.choice(_ENVELOPE_EDITS)
            value = entry[field]
            if field == "at":
                at = datetime.fromisoformat(value) + timedelta(seconds=rng.choice((-60, 1, 3600)))
                changed: Any = at.isoformat()
            elif field in ("prev", "hash", "sig"):  # another entry's value
                changed = rng.choice(entries)[field]
            else:
                changed = _changed(value, rng)
            new, what = {**entry, field: changed}, field
        if text(new) != text(entry):
            return new, what
    raise AssertionError("no edit changed the entry")


def edit(base: Base, rng: random.Random) -> Mutation:
    """Edit one entry (body or envelope), keeping valid JSON, then: keep the stale hash,
    re-hash it, re-link every later entry, or re-link and re-sign with another key."""
    entries = base.entries
    i = rng.randrange(len(entries))
    entries[i], what = _edited(entries[i], entries, rng)
    variant = rng.choice(("stale", "rehashed", "relinked", "resigned"))
    if what in ("prev", "hash", "sig"):
        variant = "stale"  # re-sealing would undo the edit
    if variant == "rehashed":
        entries[i] = rehash(entries[i])
    elif variant == "relinked":
        relink(entries, i, None)
    elif variant == "resigned":
        relink(entries, i, seeded_key(rng))
    lines = list(base.lines[:i]) + [text(e) for e in entries[i:]]
    return _line_mutation(base, "edit", f"{what} of seq {i + 1}, {variant}", lines)


def resign(base: Base, rng: random.Random) -> Mutation:
    """The whole chain re-signed with another key (prev/hash/sig consistent), with or
    without an edit first; the header carries the new key, or still the pinned one."""
    entries = base.entries
    what = "no edit"
    if rng.random() < 0.7:
        i = rng.randrange(len(entries))
        entries[i], field = _edited(entries[i], entries, rng)
        what = f"{field} of seq {i + 1}"
    attacker = seeded_key(rng)
    relink(entries, 0, attacker)
    lines = [text(e) for e in entries]
    header = json.loads(base.header)
    rekey = rng.random() < 0.6
    if rekey:
        header["public_key"] = attacker.public_key_b64
    header_line = json.dumps(header, ensure_ascii=False).encode("utf-8")
    data = base.data(lines, header_line)
    variant = f"{what}, header {'re-keyed' if rekey else 'kept'}"
    return Mutation("resign", variant, data, 0 if rekey else 1)


Mutator = Callable[[Base, random.Random], Mutation]
MUTATORS: tuple[tuple[Mutator, int], ...] = (
    (bitflip, 30),
    (header_bitflip, 4),
    (delete, 10),
    (insert_duplicate, 8),
    (insert_forged, 10),
    (swap, 10),
    (edit, 20),
    (resign, 8),
)
INGEST_MUTATORS = tuple((m, w) for m, w in MUTATORS if m is not header_bitflip)


def make_mutation(
    base: Base, rng: random.Random, mutators: tuple[tuple[Mutator, int], ...] = MUTATORS
) -> Mutation:
    funcs, weights = zip(*mutators, strict=True)
    mutator: Mutator = rng.choices(funcs, weights)[0]
    return mutator(base, rng)


# -- verification --------------------------------------------------------------------------
def verdict(path: Path, base: Base, mutation: Mutation) -> str | None:
    """The finding's reason if detected, else None; raises if the verifier vouches for a
    mutated entry (its verified count reaches the first bad seq)."""
    path.write_bytes(mutation.data)
    try:
        report: VerifyReport = verify_path(path, public_key_b64=base.pinned)
    except NotAJournal:
        return "not-a-journal"
    if report.ok:
        return None
    assert report.finding is not None
    assert report.entries < max(mutation.first_bad, 1), (
        f"{mutation}: verified {report.entries} entries past the first bad seq"
    )
    return report.finding.reason


def run_mutations(bases: list[Base], count: int, tmp_path: Path) -> None:
    started = time.perf_counter()
    by_kind: collections.Counter[str] = collections.Counter()
    reasons: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    missed: list[str] = []
    path = tmp_path / "mutated.jsonl"
    for index in range(count):
        rng = random.Random(f"{SEED}-{index}")
        base = rng.choice(bases)
        mutation = make_mutation(base, rng)
        assert mutation.data != base.data()
        by_kind[mutation.kind] += 1
        reason = verdict(path, base, mutation)
        reasons[mutation.kind][reason or "UNDETECTED"] += 1
        if reason is None:
            missed.append(
                f"seed {SEED} index {index}: {base.name} {mutation.kind} ({mutation.variant})"
            )
    elapsed = time.perf_counter() - started
    print(f"\ntamper: {count} mutations (seed {SEED}) in {elapsed:.1f} s, undetected {len(missed)}")
    for kind, n in sorted(by_kind.items()):
        print(f"  {kind:17} {n:6}  {dict(sorted(reasons[kind].items()))}")
    assert not missed, "undetected mutations:\n" + "\n".join(missed[:50])


def test_random_mutations_are_all_detected(bases: list[Base], tmp_path: Path) -> None:
    run_mutations(bases, MUTATIONS, tmp_path)


@pytest.mark.slow
def test_random_mutations_many(bases: list[Base], tmp_path: Path) -> None:
    run_mutations(bases, 100_000, tmp_path)


def test_every_single_bit_flip_of_an_entry_line_is_detected(
    bases: list[Base], tmp_path: Path
) -> None:
    """Exhaustive: each bit of each byte of seq 1 of the smallest export (newline too)."""
    base = min(bases, key=lambda b: len(b.lines))
    line = base.lines[0]
    start = len(base.header) + 1
    missed = []
    for offset in range(len(line) + 1):
        for bit in range(8):
            data = bytearray(base.data())
            data[start + offset] ^= 1 << bit
            mutation = Mutation("bitflip", f"seq 1 byte {offset} bit {bit}", bytes(data), 1)
            if verdict(tmp_path / "flip.jsonl", base, mutation) is None:
                missed.append(
                    f"byte {offset} ({chr(line[offset]) if offset < len(line) else 'LF'}) bit {bit}"
                )
    print(
        f"\nexhaustive bit flips of seq 1 ({base.name}): {(len(line) + 1) * 8}, "
        f"undetected {len(missed)}"
    )
    assert not missed, (
        f"bit flips of seq 1 that verify_path accepts (line: {line.decode()}):\n"
        + "\n".join(missed)
    )


def test_signature_in_noncanonical_base64_is_detected(bases: list[Base], tmp_path: Path) -> None:
    """The same 64 signature bytes written with other (unused) trailing bits: the line's
    bytes changed, so verify must refuse it (a canonical base64 check)."""
    base = bases[0]
    entry = json.loads(base.lines[0])
    sig: str = entry["sig"]
    raw = base64.b64decode(sig)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = alphabet.index(sig[-3])
    other = next(c for c in alphabet[value & ~0xF : (value & ~0xF) + 16] if c != sig[-3])
    forged_sig = sig[:-3] + other + "=="
    assert base64.b64decode(forged_sig, validate=True) == raw
    lines = [text({**entry, "sig": forged_sig}), *base.lines[1:]]
    mutation = Mutation(
        "sig-base64", f"seq 1 sig {sig[-3:]} -> {forged_sig[-3:]}", base.data(lines), 1
    )
    assert verdict(tmp_path / "b64.jsonl", base, mutation) is not None, (
        f"{mutation.variant}: verify_path accepts a changed line (non-canonical base64 sig)"
    )


def test_reformatted_export_line_keeps_its_meaning(bases: list[Base], tmp_path: Path) -> None:
    """Same entry, other JSON spelling (spaces, key order, escapes). The contract hashes and
    signs canonical(entry), not the line's bytes, and the shared vectors' valid.jsonl is itself
    not in canonical spelling: so a reformatted export line still verifies (its meaning is
    unchanged) — while the same reformatting with any content change is still refused. (The
    server stores only exact canonical lines; ingest refuses other spellings.)"""
    base = bases[0]
    entry = json.loads(base.lines[1])
    variants = {
        "spaces": json.dumps(entry, sort_keys=True, ensure_ascii=False),
        "unsorted": json.dumps(
            dict(reversed(list(entry.items()))), ensure_ascii=False, separators=(",", ":")
        ),
        "escaped": json.dumps(entry, sort_keys=True, separators=(",", ":")),
    }
    for name, line in variants.items():
        assert line.encode() != base.lines[1]
        lines = [base.lines[0], line.encode("utf-8"), *base.lines[2:]]
        mutation = Mutation("reformat", name, base.data(lines), 2)
        assert verdict(tmp_path / "fmt.jsonl", base, mutation) is None, name
        changed = {**entry, "body": {**entry["body"], "madoguchi_test": name}}
        spelled = json.dumps(changed, sort_keys=name != "unsorted", ensure_ascii=name != "escaped")
        lines = [base.lines[0], spelled.encode("utf-8"), *base.lines[2:]]
        mutation = Mutation("reformat+edit", name, base.data(lines), 2)
        assert verdict(tmp_path / "fmt.jsonl", base, mutation) is not None, name


def test_deleted_tail_passes_verify_alone(bases: list[Base], tmp_path: Path) -> None:
    """The limit the server covers: a cut-off tail is a valid shorter journal."""
    for base in bases:
        for k in (1, 2, 3):
            if k >= len(base.lines):
                continue
            path = tmp_path / f"{base.name}-minus-{k}.jsonl"
            path.write_bytes(base.data(base.lines[:-k]))
            report = verify_path(path, public_key_b64=base.pinned)
            assert report.ok and report.entries == len(base.lines) - k


# -- the server ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(database URL, base URL) of a real server on SQLite."""
    url = sqlite_url(tmp_path_factory.mktemp("tamper-server"))
    with running_server(url) as base_url:
        yield url, base_url


def _rebuild(base: Base, path: Path, terminal: str, key: TerminalKey) -> Journal:
    """``base``'s entries (kinds, bodies, clocks) as the journal of another terminal."""
    journal = Journal.open(path, terminal, key)
    journal.append_many(
        (e["kind"], e["body"], datetime.fromisoformat(e["at"])) for e in base.entries
    )
    return journal


def _upload(term: Term, lines: list[str]) -> requests.Response:
    try:
        return term.upload(lines)
    except UnicodeEncodeError:  # lone surrogates from invalid UTF-8: send them escaped
        body = json.dumps({"entries": lines}).encode("ascii")
        return term.request(
            "POST", protocol.entries_path(term.terminal), body, {"Content-Type": "application/json"}
        )


def _stored(term: Term) -> list[str]:
    path = f"{protocol.entries_path(term.terminal)}?from_seq=1&limit=1000"
    response = term.request("GET", path)
    assert response.status_code == 200, response.text
    entries: list[str] = response.json()["entries"]
    return entries


def test_ingest_refuses_mutated_uploads(
    bases: list[Base], server: tuple[str, str], tmp_path: Path
) -> None:
    """Mutations of a fresh terminal's journal, uploaded in one batch: the server answers
    409/422 or stores a genuine prefix and raises a gap alarm; it never stores a line past
    the first bad entry (duplicates of already stored lines are idempotent resends). The one
    exception is DESIGN's per-batch signature rule: an earlier entry whose ``sig`` alone was
    changed is authenticated by the hash chain up to the verified newest entry and stored
    as sent; the background signature audit (run here right after the upload) must then
    raise exactly one "signature" alarm for that seq."""
    database_url, base_url = server
    engine = make_engine(database_url)
    started = time.perf_counter()
    outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    missed = []
    small = [b for b in bases if len(b.lines) <= 60]
    try:
        with requests.Session() as session:
            for index in range(INGEST_MUTATIONS):
                rng = random.Random(f"{SEED}-ingest-{index}")
                base = rng.choice(small if rng.random() < 0.8 else bases)
                terminal, key = f"tamper-{index:05d}", seeded_key(rng)
                journal = _rebuild(base, tmp_path / f"{terminal}.db", terminal, key)
                genuine = list(journal.lines())
                header = header_line(terminal, key.public_key_b64).encode("utf-8")
                fresh = Base(
                    base.name,
                    header,
                    tuple(g.encode("utf-8") for g in genuine),
                    key.public_key_b64,
                    journal.path,
                    journal.path,
                )
                code = create_code(engine, FACILITY, terminal, 1)[0]
                enrolled = session.post(
                    base_url + protocol.enroll_path(),
                    json={
                        "code": code,
                        "terminal": terminal,
                        "facility": FACILITY,
                        "public_key": key.public_key_b64,
                    },
                    timeout=30,
                )
                assert enrolled.status_code == 200, enrolled.text
                term = Term(base_url, terminal, key, journal, "", session)
                mutation = make_mutation(fresh, rng, INGEST_MUTATORS)
                text_lines = mutation.data.decode("utf-8", "surrogateescape").split("\n")[1:]
                if text_lines and text_lines[-1] == "":
                    text_lines.pop()
                response = _upload(term, text_lines)
                stored = _stored(term)
                journal.close()
                audit_signatures(engine)
                alarms = _signature_alarms(engine, terminal)
                outcome = _judge(response, stored, genuine, text_lines, mutation.kind, alarms)
                outcomes[mutation.kind][outcome] += 1
                if outcome.startswith("ACCEPTED"):
                    missed.append(
                        f"seed {SEED} ingest index {index}: {base.name} "
                        f"{mutation.kind} ({mutation.variant}): {outcome}"
                    )
    finally:
        engine.dispose()
    print(
        f"\ningest: {INGEST_MUTATIONS} mutated uploads (seed {SEED}) in "
        f"{time.perf_counter() - started:.1f} s, accepted {len(missed)}"
    )
    for kind, counter in sorted(outcomes.items()):
        print(f"  {kind:17} {sum(counter.values()):5}  {dict(sorted(counter.items()))}")
    assert not missed, "uploads the server did not refuse:\n" + "\n".join(missed)


def _signature_alarms(engine: Engine, terminal: str) -> collections.Counter[int]:
    """How many "signature" alarms each seq of ``terminal`` has."""
    with engine.connect() as conn:
        seqs = conn.execute(
            select(Alarm.seq).where(Alarm.terminal == terminal, Alarm.kind == "signature")
        ).scalars()
        return collections.Counter(seq for seq in seqs if seq is not None)


def _only_sig_differs(line: str, genuine: str) -> bool:
    """Both parse and differ in their ``sig`` field alone (the hash chain covers the rest)."""
    try:
        a, b = json.loads(line), json.loads(genuine)
    except ValueError:
        return False
    if not isinstance(a, dict) or not isinstance(b, dict) or a.get("sig") == b.get("sig"):
        return False
    return {k: v for k, v in a.items() if k != "sig"} == {k: v for k, v in b.items() if k != "sig"}


def _judge(
    response: requests.Response,
    stored: list[str],
    genuine: list[str],
    sent: list[str],
    kind: str,
    signature_alarms: collections.Counter[int],
) -> str:
    """How the server dealt with one mutated upload (``ACCEPTED...`` when it failed to).

    A stored line that differs from the genuine one in its ``sig`` alone is what DESIGN's
    per-batch signature rule lets through (a newer entry's verified signature covers its
    content): it counts as detected only with exactly one "signature" alarm at its seq."""
    audited: set[int] = set()
    for i, line in enumerate(stored):
        if i < len(genuine) and line != genuine[i] and _only_sig_differs(line, genuine[i]):
            if signature_alarms[i + 1] != 1:
                return (
                    f"ACCEPTED: status {response.status_code}, stored seq {i + 1} with a "
                    f"signature not the terminal's and {signature_alarms[i + 1]} signature "
                    "alarms from the audit (want 1)"
                )
            audited.add(i + 1)
    first_bad = next(
        (
            i + 1
            for i, line in enumerate(sent)
            if (i >= len(genuine) or line != genuine[i]) and i + 1 not in audited
        ),
        len(sent) + 1,
    )
    for i, line in enumerate(stored):
        if i + 1 in audited:
            continue
        if i >= len(genuine) or line != genuine[i]:
            return (
                f"ACCEPTED: status {response.status_code}, stored seq {i + 1} that is not "
                f"genuine ({_differs(line, genuine[i] if i < len(genuine) else '')})"
            )
    if kind == "insert_duplicate" and response.status_code == 200 and not response.json()["gap"]:
        return "200 duplicate of a stored line ignored (idempotent resend)"
    if len(stored) >= first_bad:
        return f"ACCEPTED: stored {len(stored)} entries, first bad seq {first_bad}"
    if response.status_code in (409, 422):
        return f"{response.status_code} {response.json().get('error')}"
    if response.status_code == 200 and response.json().get("gap") is not None:
        return "200 gap alarm" + (" and signature alarm (audit)" if audited else "")
    if response.status_code == 200 and audited:
        return "200 signature alarm (audit)"
    return f"ACCEPTED: status {response.status_code} without an alarm"


def _differs(line: str, genuine: str) -> str:
    try:
        a, b = json.loads(line), json.loads(genuine)
    except ValueError:
        return "unparsable"
    return "fields " + ",".join(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))


def test_deleted_tail_is_caught_by_the_server(tmp_path: Path) -> None:
    """An older copy of the journal (its tail cut off) verifies on its own; the server,
    holding the full journal, tells the terminal it holds more (sync exits 1), and a copy
    re-extended with other entries is refused: 422 chain by the uploader (which resumes at
    the server's ack), 409 fork when the divergent seqs are presented."""
    full, old = tmp_path / "counter" / "museum.db", tmp_path / "backup" / "museum.db"
    simulate(full, 8, 1, 31)
    old.parent.mkdir()
    shutil.copy(full, old)
    shutil.copy(full.with_suffix(".key"), old.with_suffix(".key"))
    simulate(full, 8, 1, 31)  # the counter goes on selling after the backup
    key = TerminalKey.load(full.with_suffix(".key"))
    with Journal.open_readonly(full) as j:
        full_lines = list(j.lines())
    with Journal.open_readonly(old) as j:
        old_lines = list(j.lines())
    assert full_lines[: len(old_lines)] == old_lines and len(full_lines) > len(old_lines)
    export(old, tmp_path / "old.jsonl")
    assert verify_path(tmp_path / "old.jsonl", public_key_b64=key.public_key_b64).ok

    database_url = sqlite_url(tmp_path)
    with running_server(database_url) as base_url, requests.Session() as session:
        server_key = enroll_terminal(base_url, database_url, FACILITY, TERMINAL, key)

        def sync(journal: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                cli_command(
                    "sync",
                    "--journal",
                    str(journal),
                    "--server",
                    base_url,
                    "--key",
                    str(full.with_suffix(".key")),
                ),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )

        done = sync(full)
        assert done.returncode == 0, done.stderr
        behind = sync(old)
        assert behind.returncode == 1
        assert (
            f"the server holds {len(full_lines):,} entries, this journal only {len(old_lines):,}"
        ) in behind.stderr

        simulate(old, 12, 1, 99)  # the old copy re-extended: a divergent tail
        with Journal.open_readonly(old) as j:
            forked = list(j.lines())
        assert (
            len(forked) > len(full_lines) and forked[len(old_lines)] != full_lines[len(old_lines)]
        )
        refused = sync(old)
        assert refused.returncode == 1
        assert "does not link to the stored head" in refused.stderr, refused.stderr
        term = Term(base_url, TERMINAL, key, Journal.open_readonly(old), server_key, session)
        try:
            response = term.upload(forked[:200])
            assert response.status_code == 409, response.text
            assert response.json()["error"] == "fork"
            assert response.json()["seq"] == len(old_lines) + 1
            assert _stored(term) == full_lines
        finally:
            term.journal.close()
