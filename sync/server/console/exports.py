"""Exports: CSV for the accounting section, and a terminal's journal for auditors.

CSV (one row per sale line of every sale, refund and void in the period, in scope):
- encodings: ``utf-8-bom`` (UTF-8 with a byte order mark, so Excel opens it as UTF-8),
  ``cp932`` (Shift_JIS as Windows writes it, for older municipal accounting systems), and
  ``cp932-replace``. With ``cp932`` a character it cannot encode (e.g. 𠮷, ¥) stops the
  export with ``ExportEncodingError`` naming the row, the column and the character; with
  ``cp932-replace`` each such character becomes 〓 (the customary Japanese substitution mark
  ゲタ) and the rest is exported. Rows end in CRLF (what Excel and most importers expect).
- amounts are signed: refunds and voids negative, so each column sums to the net total.
  ``税額`` is the receipt's tax of that class (computed once per receipt, never per line),
  written on the receipt's first line of that class and 0 on its other lines: the column
  sums to the tax per class of the day totals.
Journal (``journal_lines``): the DESIGN.md export format (terminal.journal.export's header
line, then every stored canonical line from seq 1 in seq order, each ending in ``\\n``), so
``madoguchi journal verify FILE --public-key KEY`` checks it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from sync.server.console.reports import Document, Period, Scope, documents, int_field
from sync.server.models import StoredEntry, Terminal
from terminal.errors import MadoguchiError
from terminal.journal.export import header_line
from terminal.reports import TAX_CLASS_LABELS
from terminal.tenders import TENDER_LABELS

Encoding = Literal["utf-8-bom", "cp932", "cp932-replace"]
ENCODINGS: Final[dict[Encoding, str]] = {
    "utf-8-bom": "UTF-8 (BOM付き, Excel)",
    "cp932": "Shift_JIS (cp932, 変換できない文字はエラー)",
    "cp932-replace": "Shift_JIS (cp932, 変換できない文字は〓)",
}
REPLACEMENT: Final = "〓"
HEADERS: Final = ("日付", "施設", "端末", "連番", "受付番号", "種別", "時刻", "科目コード",
                  "会計", "品目コード", "品目", "数量", "単価", "金額", "税区分", "税額",
                  "支払方法")
KIND_LABELS: Final = {"sale": "売上", "refund": "返金", "void": "取消"}
JOURNAL_CHUNK: Final = 2000
Cell = str | int
_TENDER_LABELS: Final[dict[str, str]] = {str(k): v for k, v in TENDER_LABELS.items()}


class ExportError(MadoguchiError):
    """An export cannot be made (the message says what to do)."""


class ExportEncodingError(ExportError):
    """A character of the export has no Shift_JIS (cp932) code."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    data: bytes
    rows: int
    replaced: int  # characters written as 〓 (cp932-replace)
    filename: str



def tender_summary(body: Mapping[str, Any]) -> str:
    parts = []
    for tender in body.get("tenders") or ():
        if isinstance(tender, dict):
            kind = str(tender.get("kind"))
            label = _TENDER_LABELS.get(kind, kind)
            parts.append(f"{label} {int_field(tender.get('amount'))}")
    return " / ".join(parts)


def _taxes(body: Mapping[str, Any]) -> dict[str, int]:
    return {str(t.get("tax_class")): int_field(t.get("tax"))
            for t in body.get("taxes") or () if isinstance(t, dict)}


def document_rows(doc: Document) -> Iterator[list[Cell]]:
    """The CSV rows of one sale, refund or void (one per line)."""
    sign, body = doc.sign, doc.body
    unpaid_tax = _taxes(body)  # each class's tax goes on its first line only
    tenders = tender_summary(body)
    for line in body.get("lines") or ():
        if not isinstance(line, dict):
            continue
        tax_class = str(line.get("tax_class"))
        tax = unpaid_tax.pop(tax_class, 0)
        yield [doc.day, doc.facility, doc.terminal, doc.seq, doc.receipt_no or "",
               KIND_LABELS[doc.kind], doc.at, str(line.get("accounting_code", "")),
               str(line.get("account", "")), str(line.get("code", "")),
               str(line.get("name", "")), sign * int_field(line.get("qty")),
               int_field(line.get("unit_price")), sign * int_field(line.get("amount")),
               TAX_CLASS_LABELS.get(tax_class, tax_class), sign * tax, tenders]


def export_rows(conn: Connection, facilities: Scope, period: Period,
                facility: str | None = None) -> Generator[list[Cell]]:
    """The header, then the rows of every document in ``period`` and scope."""
    yield list(HEADERS)
    for doc in documents(conn, facilities, period, facility=facility):
        yield from document_rows(doc)


def _encode_row(text: str, row: int, cells: Sequence[Cell], encoding: Encoding
                ) -> tuple[bytes, int]:
    try:
        return text.encode("cp932"), 0
    except UnicodeEncodeError:
        pass
    out, replaced = [], 0
    for char in text:
        try:
            out.append(char.encode("cp932"))
        except UnicodeEncodeError:
            if encoding == "cp932":
                column = next((HEADERS[i] for i, cell in enumerate(cells)
                               if char in str(cell)), "?")
                entry = f" (端末 {cells[2]} 連番 {cells[3]})" if row > 1 else ""
                raise ExportEncodingError(
                    f"{row} 行目{entry}の「{column}」にある文字 {char!r} (U+{ord(char):04X}) は "
                    "Shift_JIS (cp932) にありません。UTF-8 (BOM付き) か「〓で置換」を選んで"
                    f"ください (row {row}, column {column}: character U+{ord(char):04X} "
                    "has no cp932 code; export as UTF-8 with BOM, or with replacement)"
                ) from None
            out.append(REPLACEMENT.encode("cp932"))
            replaced += 1
    return b"".join(out), replaced


def encode_csv(rows: Iterator[list[Cell]], encoding: Encoding) -> tuple[bytes, int, int]:
    """(the CSV bytes, data rows, characters replaced); row numbers count the header as 1."""
    if encoding not in ENCODINGS:
        raise ExportError(f"unknown encoding {encoding!r}; choose one of "
                          f"{', '.join(ENCODINGS)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    parts: list[bytes] = [b"\xef\xbb\xbf"] if encoding == "utf-8-bom" else []
    count = replaced = 0
    for number, cells in enumerate(rows, start=1):
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if encoding == "utf-8-bom":
            parts.append(text.encode("utf-8"))
        else:
            data, lost = _encode_row(text, number, cells, encoding)
            parts.append(data)
            replaced += lost
        count = number - 1
    return b"".join(parts), count, replaced


def export_filename(period: Period, facility: str | None, encoding: Encoding) -> str:
    """madoguchi_<period>_<facility or all>_<encoding>.csv"""
    span = period.first if period.first == period.last else (
        period.first[:7] if period.first[:7] == period.last[:7]
        and period.first.endswith("-01") else f"{period.first}_{period.last}")
    return f"madoguchi_{span}_{facility or 'all'}_{encoding}.csv"


def export_csv(conn: Connection, facilities: Scope, period: Period, facility: str | None,
               encoding: Encoding) -> ExportResult:
    """The CSV of ``period`` (a day or a month) for ``facility`` (None: all in scope)."""
    with closing(export_rows(conn, facilities, period, facility)) as rows_in:
        data, rows, replaced = encode_csv(rows_in, encoding)
    return ExportResult(data, rows, replaced, export_filename(period, facility, encoding))


def content_disposition(filename: str) -> str:
    """An attachment header: an ASCII fallback plus the RFC 5987 UTF-8 name."""
    fallback = "".join(c if c.isascii() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


# -- journal export for auditors ------------------------------------------------------------
def journal_header(conn: Connection, facilities: Scope, terminal: str) -> str:
    """The export's header line (with the enrolled key); ExportError for a terminal that is
    unknown or outside the scope (the same message: a manager learns nothing)."""
    row = conn.execute(select(Terminal.facility, Terminal.public_key)
                       .where(Terminal.terminal == terminal)).one_or_none()
    if row is None or (facilities is not None and row.facility not in facilities):
        raise ExportError(f"端末 {terminal!r} は見つかりません (no terminal {terminal!r} "
                          "here)")
    return header_line(terminal, row.public_key)


def journal_lines(engine: Engine, facilities: Scope, terminal: str) -> Iterator[bytes]:
    """The export, chunk by chunk: the header, then every stored line from seq 1. Checks
    the scope before the first chunk; reads in short transactions (keyset by seq)."""
    with engine.begin() as conn:
        header = journal_header(conn, facilities, terminal)

    def chunks() -> Iterator[bytes]:
        yield (header + "\n").encode("utf-8")
        after = 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(select(StoredEntry.seq, StoredEntry.line).where(
                    StoredEntry.terminal == terminal, StoredEntry.seq > after)
                    .order_by(StoredEntry.seq).limit(JOURNAL_CHUNK)).all()
            if not rows:
                return
            yield b"".join(line.encode("utf-8") + b"\n" for _seq, line in rows)
            after = rows[-1].seq

    return chunks()
