"""Independent verification of a journal (an SQLite journal or an export file).

For each entry, in order: exact envelope keys and field types, seq contiguity, terminal,
``prev`` link, recomputed ``hash``, signature (against the pinned key when one is given),
then the business-day rule. The first failing entry (lowest seq) is reported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from terminal.day import CLOSING_KIND, TOKYO
from terminal.errors import JournalError, NotAJournal
from terminal.journal import schema
from terminal.journal.canonical import (
    ENVELOPE_KEYS,
    CanonicalError,
    canonical_parsed,
    check_value,
    genesis_prev,
    loads_strict,
    unsigned_part,
)
from terminal.journal.export import TruncatedExport, read_export
from terminal.journal.keys import fingerprint_of, load_public_key, public_key_from_file
from terminal.journal.signatures import CHUNK, SignatureChecker
from terminal.journal.store import Journal

_ENVELOPE: Final = frozenset(ENVELOPE_KEYS)
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_STR_FIELDS: Final = ("id", "terminal", "kind", "at", "day", "prev", "hash", "sig")
_PROGRESS_EVERY: Final = 1000


@dataclass(frozen=True)
class Finding:
    seq: int | None
    reason: str
    message: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    terminal: str
    key_pinned: bool
    key_fingerprint: str
    finding: Finding | None
    last_hash: str

    def describe(self) -> str:
        """Human text for ``madoguchi journal verify``."""
        key = (
            f"key {self.key_fingerprint} pinned"
            if self.key_pinned
            else f"key not pinned (header key {self.key_fingerprint}): anyone could have "
            "re-signed this file; pass --public-key with the key the server enrolled"
        )
        if self.ok:
            return f"OK: {self.entries} entries of terminal {self.terminal} verified; {key}"
        assert self.finding is not None
        where = "header" if self.finding.seq is None else f"seq {self.finding.seq}"
        return (
            f"FAILED at {where} ({self.finding.reason}): {self.finding.message}; "
            f"{self.entries} entries verified before it; {key}"
        )


class _Fail(Exception):
    def __init__(self, seq: int | None, reason: str, message: str) -> None:
        super().__init__(message)
        self.finding = Finding(seq, reason, message)


def _parse(item: str | bytes | Mapping[str, object], seq: int) -> Mapping[str, object]:
    try:
        if isinstance(item, Mapping):
            check_value(item)  # a caller's dict was not vetted by the parser
            return item
        entry = loads_strict(item)
    except CanonicalError as exc:
        raise _Fail(seq, "format", f"seq {seq}: the line is not journal JSON: {exc}") from exc
    if not isinstance(entry, dict):
        raise _Fail(seq, "format", f"seq {seq}: the line is not a JSON object")
    return entry


def _check_format(entry: Mapping[str, object], seq: int) -> None:
    if set(entry) != _ENVELOPE:
        missing = sorted(_ENVELOPE - set(entry))
        extra = sorted(set(entry) - _ENVELOPE)
        raise _Fail(
            seq,
            "format",
            f"seq {seq}: envelope keys wrong (missing {missing}, "
            f"unexpected {extra}; extra fields belong in body)",
        )
    bad = [k for k in _STR_FIELDS if not isinstance(entry[k], str)]
    if type(entry["seq"]) is not int or not isinstance(entry["body"], dict) or bad:
        raise _Fail(
            seq,
            "format",
            f"seq {seq}: field types wrong (seq int, body object, strings: {bad or 'ok'})",
        )


class _Chain:
    """Checks one entry after another; signatures go to a SignatureChecker."""

    def __init__(self, terminal: str, sigs: SignatureChecker) -> None:
        self.terminal = terminal
        self.sigs = sigs
        self.expected = 1
        self.prev = genesis_prev(terminal)
        self.prev_kind: str | None = None
        self.prev_day = ""

    def check(self, item: str | bytes | Mapping[str, object]) -> None:
        seq = self.expected
        entry = _parse(item, seq)
        _check_format(entry, seq)
        if entry["seq"] != seq:
            raise _Fail(seq, "seq", f"seq {entry['seq']} found where {seq} was expected")
        if entry["terminal"] != self.terminal:
            raise _Fail(
                seq,
                "terminal",
                f"seq {seq}: terminal {entry['terminal']!r}, expected {self.terminal!r}",
            )
        if entry["prev"] != self.prev:
            raise _Fail(seq, "prev", f"seq {seq}: prev does not match the hash of seq {seq - 1}")
        try:
            digest = hashlib.sha256(canonical_parsed(unsigned_part(entry))).hexdigest()
        except CanonicalError as exc:
            raise _Fail(seq, "format", f"seq {seq}: {exc}") from exc
        if entry["hash"] != digest:
            raise _Fail(
                seq, "hash", f"seq {seq}: content does not match its hash (the entry was altered)"
            )
        self.sigs.add(seq, self.prev, digest, str(entry["sig"]))
        self._check_day(entry, seq)
        self.expected, self.prev = seq + 1, digest
        self.prev_kind, self.prev_day = str(entry["kind"]), str(entry["day"])

    def _check_day(self, entry: Mapping[str, object], seq: int) -> None:
        day = str(entry["day"])
        if self.prev_kind is not None and self.prev_kind != CLOSING_KIND:
            if day != self.prev_day:
                raise _Fail(
                    seq,
                    "day",
                    f"seq {seq}: day {day} changed without a closing.z "
                    f"(previous entry's day is {self.prev_day})",
                )
            return
        try:
            at = datetime.fromisoformat(str(entry["at"]))
            opened = at.astimezone(TOKYO).date().isoformat() if at.tzinfo else None
        except ValueError:
            opened = None
        if not _DAY.fullmatch(day) or day != opened:
            raise _Fail(
                seq,
                "day",
                f"seq {seq}: day {day} is not the Asia/Tokyo date of "
                f"at {entry['at']} (a day opens after closing.z or seq 1)",
            )


def _signature_failure(bad: tuple[int, str]) -> Finding:
    seq = bad[0]
    return Finding(
        seq,
        "signature",
        f"seq {seq}: the signature does not verify with the key "
        "(re-signed with another key, or altered)",
    )


def verify_entries(
    lines: Iterable[str | bytes | Mapping[str, object]],
    terminal: str,
    header_key_b64: str,
    pinned_key_b64: str | None,
    progress: Callable[[int], None] | None = None,
    *,
    parallel_threshold: int = 5000,
    workers: int = 2,
    chunk_size: int = CHUNK,
) -> VerifyReport:
    """Verify entry lines (or entry dicts) of ``terminal`` in seq order.

    Signatures are checked against the pinned key if given (which must equal the header key),
    else the header key. From ``parallel_threshold`` entries on, signatures are checked by a
    pool of ``workers`` processes in chunks of ``chunk_size``.
    """
    key = pinned_key_b64 or header_key_b64

    def report(finding: Finding | None, entries: int = 0, last_hash: str = "") -> VerifyReport:
        return VerifyReport(
            finding is None,
            entries,
            terminal,
            pinned_key_b64 is not None,
            fingerprint_of(key),
            finding,
            last_hash if entries else "",
        )

    try:
        load_public_key(key)
    except JournalError as exc:
        return report(Finding(None, "key", str(exc)))
    if pinned_key_b64 is not None and pinned_key_b64 != header_key_b64:
        return report(
            Finding(
                None,
                "key",
                (
                    f"the header key {fingerprint_of(header_key_b64)} is not the pinned key "
                    f"{fingerprint_of(pinned_key_b64)}: the file was re-signed by another key"
                ),
            )
        )
    with SignatureChecker(key, parallel_threshold, workers, chunk_size) as sigs:
        chain = _Chain(terminal, sigs)
        finding = _run(chain, lines, progress)
        bad = sigs.first_bad()
    if bad is not None and (finding is None or finding.seq is None or bad[0] <= finding.seq):
        return report(_signature_failure(bad), bad[0] - 1, bad[1])
    return report(finding, chain.expected - 1, chain.prev)


def _run(
    chain: _Chain,
    lines: Iterable[str | bytes | Mapping[str, object]],
    progress: Callable[[int], None] | None,
) -> Finding | None:
    try:
        for item in lines:
            chain.check(item)
            if chain.sigs.failed:
                break
            if progress is not None and chain.expected % _PROGRESS_EVERY == 1:
                progress(chain.expected - 1)
    except _Fail as fail:
        return fail.finding
    except TruncatedExport as exc:
        return Finding(chain.expected, "truncated", str(exc))
    finally:
        if progress is not None:
            progress(chain.expected - 1)
    return None


def _pinned(public_key_b64: str | None, key_path: Path | None) -> str | None:
    if public_key_b64 is not None:
        return public_key_b64.strip()
    if key_path is not None and key_path.exists():
        return public_key_from_file(key_path)
    return None


def verify_path(
    path: Path,
    public_key_b64: str | None = None,
    key_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Verify an SQLite journal or an export file at ``path``.

    The key is pinned by ``public_key_b64``, else by the key file at ``key_path`` if it exists
    (the terminal's own key, or a file with the base64 public key); otherwise only the file's
    own key is used, and the report says the key is not pinned.
    """
    try:
        with path.open("rb") as f:
            magic = f.read(len(schema.SQLITE_MAGIC))
    except OSError as exc:
        raise NotAJournal(f"cannot read {path}: {exc.strerror or exc}; check the path") from exc
    pinned = _pinned(public_key_b64, key_path)
    if magic == schema.SQLITE_MAGIC:
        with Journal.open_readonly(path) as journal:
            return verify_entries(
                journal.lines(), journal.terminal, journal.public_key_b64, pinned, progress
            )
    if magic.startswith(b"{"):
        header, lines = read_export(path)
        return verify_entries(lines, header["terminal"], header["public_key"], pinned, progress)
    raise NotAJournal(
        f"{path} is neither a madoguchi journal (SQLite) nor an export (JSON lines); check the path"
    )
