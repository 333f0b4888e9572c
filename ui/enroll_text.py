"""What the first-start enrollment screen says and checks, without Qt: its texts (ja first,
en second), the URL and code checks done before any request, and the types exchanged with
the composition root (``madoguchi.first_start`` wraps ``sync.enrollment.enroll_terminal``:
``ui`` may not import ``sync``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

CODE_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")  # RFC 4648 base32
CODE_LENGTH: Final = 16  # 80 random bits, printed as XXXX-XXXX-XXXX-XXXX

TEXT: Final[dict[str, tuple[str, str]]] = {  # (ja, en): the clerk languages, ja first
    "title": ("この窓口端末をサーバーに登録します", "Enroll this counter with the server"),
    "intro": ("サーバーのURLと、管理者から受け取った16文字の登録コード（madoguchi server "
              "enroll-code が表示）を入力して「登録」を押してください。",
              "Type the server URL and the 16-character code from the administrator "
              "(madoguchi server enroll-code), then press Enroll."),
    "terminal": ("端末ID", "Terminal"), "facility": ("施設", "Facility"),
    "url": ("サーバーのURL", "Server URL"),
    "code": ("登録コード", "Enrollment code"),
    "enroll": ("登録", "Enroll"), "start": ("開始", "Start"),
    "offline": ("サーバーなしで開始", "Run offline without a server"),
    "back": ("1字消す", "Delete"), "clear": ("クリア", "Clear"),
    "working": ("登録しています…（{seconds}秒）サーバー: {url}",
                "Enrolling… ({seconds} s) server: {url}"),
    "done": ("登録しました。「開始」を押すと窓口レジが始まります。",
             "Enrolled. Press Start to open the counter."),
    "keys": ("端末の鍵: {terminal}\nサーバーの鍵: {server}\nサーバー: {url}",
             "Terminal key: {terminal}\nServer key: {server}\nServer: {url}"),
    "replaced": ("注意: 以前と異なるサーバー鍵に置き換えました。",
                 "Note: this replaced a different pinned server key."),
    "url_empty": ("サーバーのURLを入力してください。", "Type the server URL."),
    "url_bad": ("サーバーのURL「{url}」は正しくありません。https:// で始まるアドレスを入力して"
                "ください（例: https://madoguchi.example.jp）。",
                "The server URL \"{url}\" is not valid. Type an address starting with https:// "
                "(e.g. https://madoguchi.example.jp)."),
    "code_short": ("登録コードは16文字です（入力は{count}文字）。",
                   "The enrollment code has 16 characters ({count} typed)."),
    "code_bad": ("登録コードに使えない文字があります。使えるのは A〜Z と 2〜7 です（0 は O、"
                 "1 は I）。", "The code holds characters codes never have: only A-Z and 2-7 "
                 "(0 is O, 1 is I)."),
    "unreachable": ("サーバー {url} に接続できません。URL、ネットワーク、サーバーが動いているかを"
                    "確認して、もう一度「登録」を押してください。",
                    "Cannot reach the server at {url}. Check the URL, the network and that the "
                    "server runs, then press Enroll again."),
    "busy": ("サーバーが今は応答できません。しばらく待ってから、もう一度「登録」を押してください。",
             "The server cannot answer now. Wait a while, then press Enroll again."),
    "code_unknown": ("この登録コードはサーバーにありません。入力を確かめるか、新しいコードを発行"
                     "してもらってください。", "The server does not know this code. Check it, "
                     "or ask for a new one."),
    "code_used": ("この登録コードは使用済みです。新しいコードを発行してもらってください。",
                  "This code was already used. Ask for a new one."),
    "code_expired": ("この登録コードは有効期限が切れています。新しいコードを発行してもらって"
                     "ください。", "This code has expired. Ask for a new one."),
    "code_other": ("この登録コードは別の端末用です。端末ID {terminal} 用のコードを発行してもらって"
                   "ください。", "This code was issued for another terminal. Ask for a code "
                   "for {terminal}."),
    "refused": ("サーバーが登録を断りました。コードを確かめるか、管理者に連絡してください。",
                "The server refused the enrollment. Check the code or ask the administrator."),
    "conflict": ("端末ID {terminal} はサーバーに別の鍵（または別の施設）で登録済みです。"
                 "バックアップから端末の鍵を戻すか、新しい端末IDで登録してください。",
                 "Terminal {terminal} is already enrolled with another key (or facility). "
                 "Restore the terminal key from the backup, or enroll a new terminal id."),
    "answer": ("サーバーの応答が正しくありません。URL が madoguchi のサーバーを指しているか確認"
               "してください。", "The server's answer is not valid. Check that the URL points "
               "to the madoguchi server."),
    "local": ("この端末のデータを保存できません。情報担当に連絡してください。",
              "This counter cannot save its data. Call IT support."),
    "unexpected": ("予期しないエラーが起きました。もう一度お試しください。直らなければ情報担当に"
                   "連絡してください。", "Something unexpected went wrong. Try again; if it "
                   "persists, call IT support."),
    "details": ("詳細", "details"),
}


def both(key: str, sep: str = "\n", **values: object) -> str:
    """The text of ``key`` in Japanese, then in English."""
    ja, en = TEXT[key]
    return f"{ja.format(**values)}{sep}{en.format(**values)}"


class Failure(StrEnum):
    """Why an enrollment failed; each kind has its own text in ``TEXT``."""

    UNREACHABLE = "unreachable"
    BUSY = "busy"
    CODE_UNKNOWN = "code_unknown"
    CODE_USED = "code_used"
    CODE_EXPIRED = "code_expired"
    CODE_OTHER = "code_other"
    REFUSED = "refused"
    CONFLICT = "conflict"
    ANSWER = "answer"
    LOCAL = "local"


class EnrollError(Exception):
    """An enrollment that failed: its kind, and the detail for the operator (never the code)."""

    def __init__(self, kind: Failure, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Enrolled:
    server_url: str
    terminal_fingerprint: str
    server_fingerprint: str
    replaced_server_key: bool


@dataclass(frozen=True, slots=True)
class EnrollFacts:
    """What the screen shows and offers: read-only facts from the kiosk config."""

    terminal: str
    facility: str
    server_url: str | None  # pre-fills the URL field
    offline_allowed: bool  # only a counter configured without a server may skip


@dataclass(frozen=True, slots=True)
class StartChoice:
    server_url: str | None  # None: run offline


EnrollFn = Callable[[str, str], Enrolled]
"""``enroll(server_url, code)``: blocking; returns ``Enrolled`` or raises ``EnrollError``."""


class InvalidInput(ValueError):
    """A URL or code refused before any request (the message is ja + en)."""


def check_server_url(text: str) -> str:
    """The http(s) URL in ``text`` without a trailing slash, or ``InvalidInput``."""
    url = unicodedata.normalize("NFKC", text).strip()
    if not url:
        raise InvalidInput(both("url_empty"))
    try:
        parts = urlsplit(url)
        ok = (parts.scheme in ("http", "https") and bool(parts.hostname)
              and parts.port != 0 and not (parts.query or parts.fragment or parts.username)
              and not any(ch.isspace() for ch in url) and url.isascii())
    except ValueError:  # a port that is not a number, an unbalanced [IPv6]
        ok = False
    if not ok:
        raise InvalidInput(both("url_bad", url=url))
    return url.rstrip("/")


def normalize_code(text: str) -> str:
    """The code's letters and digits in upper case (full-width input made half-width)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isalnum())


def grouped(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def check_code(text: str) -> str:
    """The code as printed (XXXX-XXXX-XXXX-XXXX), or ``InvalidInput``."""
    code = normalize_code(text)
    if any(ch not in CODE_ALPHABET for ch in code):
        raise InvalidInput(both("code_bad"))
    if len(code) != CODE_LENGTH:
        raise InvalidInput(both("code_short", count=len(code)))
    return grouped(code)


def failure_text(exc: BaseException, facts: EnrollFacts, url: str) -> str:
    """What the clerk reads for a failed enrollment: ja, en, then the details."""
    if isinstance(exc, EnrollError):
        text = both(exc.kind.value, url=url, terminal=facts.terminal)
        detail = exc.detail
    else:  # a bug below us: say so, keep the screen up for a retry
        text, detail = both("unexpected"), f"{type(exc).__name__}: {exc}"
    return f"{text}\n{both('details', ' / ')}: {detail}" if detail else text

