"""The terminal <-> server wire contract (``madoguchi-sync/1``), shared by client and server.

Every terminal request is signed with the terminal's own Ed25519 key (the one whose public
half was enrolled): the signature covers the method, the path with its query, a timestamp, a
one-time nonce and the SHA-256 of the body, so a request cannot be altered, moved to another
terminal or replayed. Journal entries travel as their exact canonical JSON text.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from terminal.journal.keys import TerminalKey, verify_hash_sig

API: Final = "/api/v1"
PROTOCOL: Final = "madoguchi-sync/1"

HEADER_TERMINAL: Final = "X-Madoguchi-Terminal"
HEADER_TIMESTAMP: Final = "X-Madoguchi-Timestamp"
HEADER_NONCE: Final = "X-Madoguchi-Nonce"
HEADER_SIGNATURE: Final = "X-Madoguchi-Signature"
HEADER_CLOCK: Final = "X-Madoguchi-Clock"  # the terminal clock, for drift (RFC 3339)

MAX_BATCH_ENTRIES: Final = 1000
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
CLOCK_WINDOW_SECONDS: Final = 24 * 3600
"""How far a request's timestamp may be from the server clock. Generous on purpose: a counter
with a drifting clock must still sync (drift is shown to administrators, not punished); the
nonce, kept for twice this window, is what refuses a replay."""


# -- paths ----------------------------------------------------------------------------------
def enroll_path() -> str:
    """POST {"code", "terminal", "facility", "public_key"} -> {"terminal", "facility",
    "server_public_key"}. Unauthenticated (the one-time code is the credential)."""
    return f"{API}/enroll"


def head_path(terminal: str) -> str:
    """GET -> {"ack": int, "head_hash": str | null, "server_time": str}."""
    return f"{API}/terminals/{terminal}/head"


def entries_path(terminal: str) -> str:
    """POST {"entries": [canonical line, ...]} (seq order, at most MAX_BATCH_ENTRIES) ->
    200 {"ack", "stored", "duplicates", "gap": null | {"expected", "found"}, "server_time"};
    409 {"error": "fork", "seq", "ack", "message"}; 422 {"error": "chain" | "format", "seq",
    "ack", "message"}.
    GET ?from_seq=N&limit=M -> {"entries": [line, ...], "ack"} (the terminal's own copy, for
    restore)."""
    return f"{API}/terminals/{terminal}/entries"


def config_path(terminal: str) -> str:
    """GET -> 200 {"facility", "version", "payload", "sha256", "signature", "published_at"}
    (the newest published config of the terminal's facility) or 204 when none."""
    return f"{API}/terminals/{terminal}/config"


def status_path(terminal: str) -> str:
    """POST {"app_version", "pending", "devices": {kind: status}, "last_error"} -> 204."""
    return f"{API}/terminals/{terminal}/status"


def receipt_lookup_path(facility: str, receipt_no: str) -> str:
    """GET -> {"terminal", "seq", "line", "refunds": [line, ...]} or 404. Only terminals of
    that facility may ask."""
    return f"{API}/facilities/{facility}/receipts/{receipt_no}"


def points_card_path(terminal: str, card: str) -> str:
    """GET -> {"card", "balance", "awarded", "cap", "cap_left"} (0s and the whole cap for an
    unknown card). ``card`` is the card token (docs/points.md), never an IDm."""
    return f"{API}/terminals/{terminal}/points/cards/{card}"


def points_redeem_path(terminal: str) -> str:
    """POST {"card", "points", "ref"} -> {"approved", "points", "balance", "message", "ref"};
    idempotent by ``ref`` (a known ref answers its first outcome, never spends twice)."""
    return f"{API}/terminals/{terminal}/points/redeem"


def points_cancel_path(terminal: str) -> str:
    """POST {"ref"} -> the redeem shape: gives back what ``ref`` spent (once) and refuses a
    later redeem with that ref; approved means nothing stays spent for it."""
    return f"{API}/terminals/{terminal}/points/cancel"


def points_refund_path(terminal: str) -> str:
    """POST {"card", "points", "ref", "original_ref"} -> the redeem shape: restores points of
    the refunded points tender ``original_ref``; idempotent by ``ref``."""
    return f"{API}/terminals/{terminal}/points/refund"


def points_result_path(terminal: str, ref: str) -> str:
    """GET -> the redeem shape for ``ref`` (URL-quoted), or 404 when never received."""
    return f"{API}/terminals/{terminal}/points/results/{ref}"


def points_quota_path(terminal: str) -> str:
    """POST {"used"} -> {"grant_id", "granted", "budget_left"}: tops the terminal up to the
    campaign's quota chunk of unused points while the budget lasts (asking again without
    using any gives the same ``granted``)."""
    return f"{API}/terminals/{terminal}/points/quota"


def receipt_page_path(terminal: str, seq: int, hash_prefix: str) -> str:
    """The receipt QR page (public HTML): genuine, not yet received, or mismatch."""
    return f"/r/{terminal}/{seq}/{hash_prefix}"


# -- request signatures ---------------------------------------------------------------------
def signing_payload(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a request signature covers. ``path`` includes the query string, if any."""
    return "\n".join((
        PROTOCOL, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest(),
    )).encode("utf-8")


def payload_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def sign_request(key: TerminalKey, terminal: str, method: str, path: str, body: bytes,
                 now: datetime | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers that authenticate one request as ``terminal``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    timestamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce or secrets.token_hex(16)
    digest = payload_digest(signing_payload(method, path, timestamp, nonce, body))
    return {
        HEADER_TERMINAL: terminal,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: key.sign_hash(digest),
    }


def check_request_signature(public_key_b64: str, headers: Mapping[str, str], method: str,
                            path: str, body: bytes) -> bool:
    """True when the signature headers were made by ``public_key_b64`` over this request.
    (Timestamp window and nonce reuse are the server's to check.)"""
    try:
        payload = signing_payload(method, path, headers[HEADER_TIMESTAMP],
                                  headers[HEADER_NONCE], body)
        return verify_hash_sig(public_key_b64, payload_digest(payload),
                               headers[HEADER_SIGNATURE])
    except (KeyError, ValueError):
        return False


def parse_timestamp(text: str) -> datetime | None:
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


# -- config signatures ----------------------------------------------------------------------
def config_digest(facility: str, version: int, payload: str) -> str:
    """What the server's signature on a published config covers."""
    text = "\n".join(("madoguchi-config/1", facility, str(version), payload))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
