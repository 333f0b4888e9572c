"""Export files: a header line, then every stored entry line, each ending in ``\\n``.

Readers split on ``\\n`` only: a string in a body may hold U+2028, which ``str.splitlines``
would treat as a line break.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from terminal.errors import JournalError, NotAJournal
from terminal.journal.canonical import FORMAT, CanonicalError, loads_strict
from terminal.journal.files import fsync_dir
from terminal.journal.store import Journal

HEADER_KEYS: Final = frozenset({"format", "terminal", "public_key"})
_PROGRESS_EVERY: Final = 1000


class TruncatedExport(JournalError):
    """The export's last line has no newline: the file was cut short."""


def header_line(terminal: str, public_key_b64: str) -> str:
    """Line 1 of an export (json.dumps default separators, ensure_ascii=False), no newline."""
    header = {"format": FORMAT, "terminal": terminal, "public_key": public_key_b64}
    return json.dumps(header, ensure_ascii=False)


def _write(journal: Journal, out: BinaryIO, progress: Callable[[int], None] | None) -> int:
    out.write((header_line(journal.terminal, journal.public_key_b64) + "\n").encode("utf-8"))
    count = 0
    for line in journal.lines():
        out.write(line.encode("utf-8") + b"\n")
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return count


def export_journal(
    journal_path: Path, out: BinaryIO | Path, progress: Callable[[int], None] | None = None
) -> int:
    """Write the export of the journal at ``journal_path``; return the number of entries.

    A Path is written atomically (temporary file, fsync, rename): it is never half-written.
    """
    with Journal.open_readonly(journal_path) as journal:
        if not isinstance(out, Path):
            return _write(journal, out, progress)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                count = _write(journal, f, progress)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, out)
            fsync_dir(out.parent)
        except BaseException:
            os.unlink(tmp)
            raise
        return count


def _bad_header(path: Path, why: str) -> NotAJournal:
    return NotAJournal(
        f"{path} is not a madoguchi journal export ({why}); line 1 must be "
        f'{{"format": "{FORMAT}", "terminal": ..., "public_key": ...}}: '
        "export it again with 'madoguchi journal export'"
    )


def _parse_header(path: Path, raw: bytes) -> dict[str, str]:
    if not raw:
        raise _bad_header(path, "the file is empty")
    if not raw.endswith(b"\n"):
        raise _bad_header(path, "line 1 has no newline: the file is truncated or not an export")
    try:
        header = loads_strict(raw)
    except CanonicalError as exc:
        raise _bad_header(path, f"line 1: {exc}") from exc
    if not isinstance(header, dict) or set(header) != HEADER_KEYS:
        raise _bad_header(path, "line 1 is not the header object")
    if header["format"] != FORMAT:
        raise _bad_header(path, f"format {header['format']!r}, expected {FORMAT!r}")
    if not all(isinstance(header[key], str) and header[key] for key in HEADER_KEYS):
        raise _bad_header(path, "terminal and public_key must be non-empty strings")
    return {key: str(value) for key, value in header.items()}


def read_export(path: Path) -> tuple[dict[str, str], Iterator[str]]:
    """The header of the export at ``path`` and an iterator over its entry lines (as text).

    Invalid UTF-8 comes through as lone surrogates (which the verifier reports). The iterator
    raises TruncatedExport if the last line has no newline.
    """
    try:
        with path.open("rb") as f:
            header = _parse_header(path, f.readline())
            offset = f.tell()
    except OSError as exc:
        raise NotAJournal(f"cannot read {path}: {exc.strerror or exc}") from exc
    return header, _lines(path, offset)


def _lines(path: Path, offset: int) -> Iterator[str]:
    with path.open("rb") as f:
        f.seek(offset)
        for number, raw in enumerate(f, start=2):
            if not raw.endswith(b"\n"):
                raise TruncatedExport(
                    f"{path}: line {number} has no newline: the export was cut short; "
                    "export the journal again"
                )
            yield raw[:-1].decode("utf-8", "surrogateescape")
