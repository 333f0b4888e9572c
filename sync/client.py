"""The terminal's HTTP client for the central server (wire contract: ``sync.protocol``).

Every terminal request is signed with the terminal's own key. Library errors are translated
at this boundary into our own exceptions:

- ``ServerUnavailable``: no connection, timeout, 5xx or 429 — retry later (``retry_after``).
- ``ServerRefused``: any other 4xx but 409 (revoked, unauthenticated, bad request) — do not
  retry; the message says what to do.
- ``ForkDetected``: 409 — the server holds a different entry at a seq: a tamper alarm.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from sync import protocol
from terminal.errors import MadoguchiError
from terminal.journal.keys import TerminalKey


class SyncError(MadoguchiError):
    """Base of the sync client's errors."""


class ServerUnavailable(SyncError):
    """The server cannot be reached or is busy: retryable."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerRefused(SyncError):
    """The server refused the request (4xx other than 409): retrying will not help."""

    def __init__(self, message: str, status: int = 0, error: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class ForkDetected(SyncError):
    """The server holds a different entry at ``seq``: stop uploading and alert the operator."""

    def __init__(self, message: str, seq: int | None = None, ack: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq
        self.ack = ack


@dataclass(frozen=True, slots=True)
class Gap:
    expected: int
    found: int


@dataclass(frozen=True, slots=True)
class PushResult:
    ack: int
    stored: int
    duplicates: int
    gap: Gap | None


@dataclass(frozen=True, slots=True)
class PublishedConfig:
    facility: str
    version: int
    payload: str
    sha256: str
    signature: str
    published_at: str


_REFUSED_HINTS: dict[int, str] = {
    400: "リクエストが不正です (bad request)",
    401: "端末が認証されません (terminal not authenticated): 端末を登録し直してください "
    "(re-enroll the terminal: madoguchi enroll)",
    403: "端末が拒否されました (terminal refused or revoked): 管理者に連絡してください "
    "(ask the administrator)",
    404: "見つかりません (not found)",
    413: "送信データが大きすぎます (request too large)",
    422: "サーバーがデータを拒否しました (the server rejected the data)",
}


def _now_text() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from our server; fall back to the backoff


def _detail(response: requests.Response) -> tuple[str, dict[str, Any]]:
    """The server's error message and JSON body (if any), for our messages."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip(), {}
    if not isinstance(data, dict):
        return str(data)[:200], {}
    message = data.get("message") or data.get("detail") or data.get("error") or ""
    return str(message)[:300], data


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def raise_for_status(response: requests.Response) -> None:
    """Translate an HTTP error status into ServerUnavailable / ServerRefused / ForkDetected."""
    status = response.status_code
    if status < 400:
        return
    message, data = _detail(response)
    if status == 429 or status >= 500:
        raise ServerUnavailable(
            f"サーバーが応答できません (server busy or failing, HTTP {status}): {message}",
            _retry_after(response),
        )
    error = str(data.get("error", ""))
    if status == 409 and error == "conflict":  # enroll: not a journal fork
        raise ServerRefused(
            f"この端末IDは別の鍵で登録済みです (terminal already enrolled with another key) "
            f"(HTTP 409): {message}", 409, error)
    if status == 409:
        seq = _int_or_none(data.get("seq"))
        raise ForkDetected(
            f"改ざんの疑い: サーバーの seq {seq} が端末のジャーナルと異なります "
            f"(fork: the server holds a different entry at seq {seq}); 送信を停止しました、"
            f"管理者に連絡してください (uploading stopped; tell the administrator): {message}",
            seq,
            _int_or_none(data.get("ack")),
        )
    hint = _REFUSED_HINTS.get(status, "サーバーが拒否しました (refused)")
    if error == "chain":
        hint = (f"サーバーの控えと端末のジャーナルがつながりません (chain mismatch at seq "
                f"{data.get('seq')}: the server's copy and this journal differ); "
                "送信を停止しました、管理者に連絡してください "
                "(uploading stopped; tell the administrator)")
    raise ServerRefused(f"{hint} (HTTP {status}): {message}", status, error)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise ServerUnavailable(
            f"サーバーの応答が不正です (malformed server response, HTTP "
            f"{response.status_code}): {response.text[:120]!r}"
        ) from exc
    if not isinstance(data, dict):
        raise ServerUnavailable(f"サーバーの応答が不正です (malformed server response): {data!r}")
    return data


def _field_int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ServerUnavailable(
            f"サーバーの応答が不正です (malformed server response: {name!r} is {value!r})"
        )
    return value


def _send(
    session: requests.Session,
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
) -> requests.Response:
    try:
        return session.request(method, url, data=body or None, headers=dict(headers),
                               timeout=timeout, allow_redirects=False)
    except requests.Timeout as exc:
        raise ServerUnavailable(
            f"サーバーが時間内に応答しません (server timed out): {url}"
        ) from exc
    except requests.RequestException as exc:
        raise ServerUnavailable(
            f"サーバーに接続できません (server unreachable): {type(exc).__name__} {url}"
        ) from exc


class ServerClient:
    """Signed requests from one terminal to the server at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        terminal: str,
        key: TerminalKey,
        session: requests.Session | None = None,
        timeout: float = 10,
        *,
        clock: Callable[[], str] = _now_text,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal = terminal
        self._key = key
        self._own_session = session is None
        self._session = session or requests.Session()
        self._timeout = timeout
        self._clock = clock

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, payload: object | None = None) -> requests.Response:
        """Send one signed request (``path`` with its query); raise on an error status."""
        body = b"" if payload is None else json.dumps(
            payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = protocol.sign_request(self._key, self.terminal, method, path, body)
        headers[protocol.HEADER_CLOCK] = self._clock()
        if payload is not None:
            headers["Content-Type"] = "application/json"
        response = _send(self._session, method, self.base_url + path, body, headers,
                         self._timeout)
        with response:  # the body is already read (not streamed): release the connection
            raise_for_status(response)
        return response

    def head(self) -> int:
        """The server's ack: the highest contiguous seq it holds for this terminal."""
        data = _json(self.request("GET", protocol.head_path(self.terminal)))
        return _field_int(data, "ack")

    def push(self, lines: Sequence[str]) -> PushResult:
        """Send canonical entry lines (seq order, at most MAX_BATCH_ENTRIES)."""
        data = _json(self.request("POST", protocol.entries_path(self.terminal),
                                  {"entries": list(lines)}))
        gap = data.get("gap")
        return PushResult(
            _field_int(data, "ack"),
            _field_int(data, "stored"),
            _field_int(data, "duplicates"),
            Gap(_field_int(gap, "expected"), _field_int(gap, "found"))
            if isinstance(gap, dict) else None,
        )

    def fetch_entries(self, from_seq: int, limit: int) -> tuple[list[str], int]:
        """The server's copy of this terminal's lines from ``from_seq``, and its ack."""
        path = f"{protocol.entries_path(self.terminal)}?from_seq={from_seq}&limit={limit}"
        data = _json(self.request("GET", path))
        entries = data.get("entries")
        if not isinstance(entries, list) or not all(isinstance(x, str) for x in entries):
            raise ServerUnavailable("サーバーの応答が不正です (malformed entries list)")
        return list(entries), _field_int(data, "ack")

    def fetch_config(self) -> PublishedConfig | None:
        """The newest published config of this terminal's facility, or None."""
        response = self.request("GET", protocol.config_path(self.terminal))
        if response.status_code == 204 or not response.content:
            return None
        data = _json(response)
        try:
            return PublishedConfig(
                str(data["facility"]), _field_int(data, "version"), str(data["payload"]),
                str(data["sha256"]), str(data["signature"]), str(data.get("published_at", "")),
            )
        except KeyError as exc:
            raise ServerUnavailable(
                f"サーバーの応答が不正です (config response lacks {exc})") from exc

    def post_status(self, app_version: str, pending: int,
                    devices: Mapping[str, str] | None = None,
                    last_error: str | None = None) -> None:
        self.request("POST", protocol.status_path(self.terminal), {
            "app_version": app_version, "pending": pending,
            "devices": dict(devices or {}), "last_error": last_error,
        })

    def lookup_receipt(self, facility: str, receipt_no: str) -> dict[str, Any] | None:
        """The original sale of a receipt (for a refund at another counter), or None."""
        path = protocol.receipt_lookup_path(quote(facility, safe=""), quote(receipt_no, safe=""))
        try:
            return _json(self.request("GET", path))
        except ServerRefused as exc:
            if exc.status == 404:
                return None
            raise


def enroll(base_url: str, code: str, terminal: str, facility: str, public_key_b64: str,
           session: requests.Session | None = None, timeout: float = 10) -> str:
    """Enroll a terminal with a one-time code; returns the server's public key (base64)."""
    body = json.dumps({"code": code, "terminal": terminal, "facility": facility,
                       "public_key": public_key_b64}).encode("utf-8")
    url = base_url.rstrip("/") + protocol.enroll_path()
    own = session is None
    http = session or requests.Session()
    try:
        response = _send(http, "POST", url, body, {"Content-Type": "application/json"}, timeout)
        with response:
            raise_for_status(response)
            data = _json(response)
    finally:
        if own:
            http.close()
    key = data.get("server_public_key")
    if not isinstance(key, str) or not key:
        raise ServerUnavailable(
            "サーバーの応答が不正です (enroll response lacks server_public_key)")
    return key
