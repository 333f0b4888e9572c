"""The journal: append-only, hash-chained, Ed25519-signed entries on SQLite.

Format ``madoguchi-journal/1`` (see DESIGN.md, "Journal entry").
"""

from terminal.journal.canonical import CanonicalError, canonical, entry_hash, genesis_prev
from terminal.journal.export import TruncatedExport, export_journal, read_export
from terminal.journal.keys import TerminalKey, verify_hash_sig
from terminal.journal.store import Entry, Journal
from terminal.journal.verify import Finding, VerifyReport, verify_entries, verify_path

__all__ = [
    "CanonicalError",
    "Entry",
    "Finding",
    "Journal",
    "TerminalKey",
    "TruncatedExport",
    "VerifyReport",
    "canonical",
    "entry_hash",
    "export_journal",
    "genesis_prev",
    "read_export",
    "verify_entries",
    "verify_hash_sig",
    "verify_path",
]
