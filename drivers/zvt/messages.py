"""ZVT commands and replies as values: builders for ECR -> PT commands, a parser for the
PT's status information, and the texts shown for intermediate status and result codes.

Choices where the published spec leaves room (all documented here, all ours):
- Our payment ``ref`` travels in BMP 3C (additional data, LLL-var, UTF-8) of Authorization,
  Reversal and Refund; the simulator echoes it in its Status-Information (04 0F).
- ``last_result(ref)`` uses Repeat Receipt (06 20) with a BMP 3C (by ref) or BMP 87 (by
  receipt number) selector: a vendor extension. The terminal answers 04 0F for that
  transaction + 06 0F, or 06 0F alone when it has none. A terminal that ignores the selector
  answers with its last receipt; the driver notices the other ref and refuses to guess.
- End-of-day totals per tender kind travel in the BMP 06 TLV container, private tags
  DF60 (repeated, ASCII "kind=signed yen") and DF61 (ASCII transaction count); BMP 88
  (turnover number) is the batch number. BMP 60 (single totals) groups by German-era card
  families and cannot tell transit IC from e-money.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.zvt.codec import (
    Apdu,
    ZvtProtocolError,
    bcd_decode,
    bcd_encode,
    decode_bmps,
    decode_tlv,
    encode_bmps,
    encode_tlv,
)

JPY = 392
TAG_TOTAL = 0xDF60
TAG_COUNT = 0xDF61
# Registration config byte: ECR prints payment (0x02) and admin (0x04) receipts, PT sends
# intermediate status information (0x08).
CONFIG_BYTE = 0x02 | 0x04 | 0x08

ACK_APDU = Apdu(0x80, 0x00)
COMPLETION = (0x06, 0x0F)
STATUS_INFO = (0x04, 0x0F)
INTERMEDIATE = (0x04, 0xFF)
PT_ABORT = (0x06, 0x1E)
PRINT_COMMANDS = ((0x06, 0xD1), (0x06, 0xD3))
RC_BUSY = 0x9C  # "please wait": our choice for a busy terminal's negative acknowledgement
RC_ABORTED = 0x6C  # abort via timeout or abort key


def negative_ack(code: int) -> Apdu:
    return Apdu(0x84, code)


def _password(password: str) -> bytes:
    if not (len(password) == 6 and password.isdigit()):
        raise ZvtProtocolError("the ZVT password is 6 digits")
    return bcd_encode(int(password), 3)


def _ref_bmp(ref: str) -> tuple[int, bytes]:
    return (0x3C, ref.encode("utf-8"))


def registration(password: str, currency: int = JPY) -> Apdu:
    # <password> <config-byte> <CC> (the currency code is untagged here, as in the spec)
    return Apdu(0x06, 0x00, _password(password) + bytes([CONFIG_BYTE]) + bcd_encode(currency, 2))


def authorization(amount: int, ref: str, currency: int = JPY, hint: int | None = None) -> Apdu:
    fields = [(0x04, bcd_encode(amount, 6)), (0x49, bcd_encode(currency, 2))]
    if hint is not None:
        fields.append((0x8A, bytes([hint])))
    fields.append(_ref_bmp(ref))
    return Apdu(0x06, 0x01, encode_bmps(fields))


def reversal(password: str, receipt_no: int, ref: str) -> Apdu:
    fields = [(0x87, bcd_encode(receipt_no, 2)), _ref_bmp(ref)]
    return Apdu(0x06, 0x30, _password(password) + encode_bmps(fields))


def refund(password: str, amount: int, ref: str, currency: int = JPY,
           hint: int | None = None) -> Apdu:
    fields = [(0x04, bcd_encode(amount, 6)), (0x49, bcd_encode(currency, 2))]
    if hint is not None:
        fields.append((0x8A, bytes([hint])))
    fields.append(_ref_bmp(ref))
    return Apdu(0x06, 0x31, _password(password) + encode_bmps(fields))


def end_of_day(password: str) -> Apdu:
    return Apdu(0x06, 0x50, _password(password))


def status_enquiry(password: str) -> Apdu:
    return Apdu(0x05, 0x01, _password(password))


def repeat_receipt(password: str, ref: str | None = None, receipt_no: int | None = None) -> Apdu:
    fields = []
    if ref is not None:
        fields.append(_ref_bmp(ref))
    if receipt_no is not None:
        fields.append((0x87, bcd_encode(receipt_no, 2)))
    return Apdu(0x06, 0x20, _password(password) + encode_bmps(fields))


def abort() -> Apdu:
    return Apdu(0x06, 0xB0)


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """The fields of a Status-Information (04 0F) we use. No card data: the codec drops it."""

    result_code: int | None = None
    amount: int | None = None
    trace_no: int | None = None
    receipt_no: int | None = None
    turnover_no: int | None = None
    approval_code: str = ""
    card_type: int | None = None
    card_name: str = ""
    ref: str = ""
    terminal_id: str = ""
    totals: dict[str, int] = field(default_factory=dict)
    count: int | None = None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip("\x00 ")
    except UnicodeDecodeError as exc:
        raise ZvtProtocolError(f"text field is not UTF-8/ASCII: {exc}") from exc


def _totals(container: bytes) -> tuple[dict[str, int], int | None]:
    totals: dict[str, int] = {}
    count = None
    for tag, value in decode_tlv(container):
        if tag == TAG_TOTAL:
            kind, sep, amount = _text(value).partition("=")
            if not sep or not amount.lstrip("-").isdigit():
                raise ZvtProtocolError(f"bad per-tender total {value!r}")
            totals[kind] = totals.get(kind, 0) + int(amount)
        elif tag == TAG_COUNT:
            if not _text(value).isdigit():
                raise ZvtProtocolError(f"bad transaction count {value!r}")
            count = int(_text(value))
    return totals, count


def parse_status(data: bytes) -> StatusInfo:
    values: dict[str, object] = {}
    bcd = {0x04: "amount", 0x0B: "trace_no", 0x87: "receipt_no", 0x88: "turnover_no"}
    for tag, value in decode_bmps(data):
        if tag in bcd:
            values[bcd[tag]] = bcd_decode(value)
        elif tag == 0x27:
            values["result_code"] = value[0]
        elif tag == 0x8A:
            values["card_type"] = value[0]
        elif tag == 0x3B:
            values["approval_code"] = _text(value)
        elif tag == 0x8B:
            values["card_name"] = _text(value)
        elif tag == 0x3C:
            values["ref"] = _text(value)
        elif tag == 0x29:
            values["terminal_id"] = value.hex()
        elif tag == 0x06:
            values["totals"], values["count"] = _totals(value)
    return StatusInfo(**values)  # type: ignore[arg-type]


def totals_container(totals: dict[str, int], count: int) -> bytes:
    items = [(TAG_TOTAL, f"{kind}={amount}".encode()) for kind, amount in sorted(totals.items())]
    return encode_tlv([*items, (TAG_COUNT, str(count).encode())])


# Intermediate status (04 FF) codes -> the text the visitor and clerk see.
INTERMEDIATE_TEXTS: dict[int, str] = {
    0x00: "金額を確認してください (confirm the amount)",
    0x01: "暗証番号を入力してください (enter your PIN)",
    0x02: "暗証番号を入力してください (enter your PIN)",
    0x03: "ご利用いただけません (not accepted)",
    0x04: "センターに問い合わせ中です (waiting for the host)",
    0x07: "このカードは使えません (card not admitted)",
    0x08: "不明なカードです (unknown card)",
    0x09: "有効期限切れのカードです (card expired)",
    0x0A: "カードを挿入/タッチしてください (insert or tap the card)",
    0x0B: "カードをお取りください (remove the card)",
    0x0C: "カードを読み取れません (card not readable)",
    0x0E: "お待ちください (please wait)",
    0x10: "無効なカードです (invalid card)",
    0x14: "残高が不足しています (balance not sufficient)",
    0x15: "暗証番号が違います (wrong PIN)",
    0x17: "お待ちください (please wait)",
    0x18: "暗証番号の入力回数を超えました (PIN try limit exceeded)",
    0x1C: "承認されました (approved)",
    0x1D: "承認されませんでした (declined)",
    0x5E: "読み取りました。カードを離してください (card read, remove it)",
}


def intermediate_text(data: bytes) -> str:
    if not data:
        raise ZvtProtocolError("intermediate status without a status byte")
    return INTERMEDIATE_TEXTS.get(data[0], f"処理中です (terminal status 0x{data[0]:02X})")


RESULT_TEXTS: dict[int, str] = {
    0x00: "承認 (approved)",
    0x05: "カード会社により承認されませんでした (declined by the issuer)",
    0x64: "カードを読み取れません (card not readable)",
    0x6C: "取引が中止されました (aborted by timeout or the abort key)",
    0x6F: "通貨が違います (wrong currency)",
    0x71: "残高が不足しています (balance not sufficient)",
    0x78: "有効期限切れのカードです (card expired)",
    0x7A: "不明なカードです (card unknown)",
    0x9A: "ZVT プロトコルエラー (ZVT protocol error)",
    0x9C: "端末が使用中です。少し待ってからやり直してください (terminal busy: retry shortly)",
    0xA0: "端末の準備ができていません (receiver not ready)",
    0xB4: "取消済みです (already reversed)",
    0xB5: "取消できません (reversal not possible)",
    0xC3: "上限金額を超えています (maximum amount exceeded)",
}


def result_text(code: int) -> str:
    if code in RESULT_TEXTS:
        return RESULT_TEXTS[code]
    if 0x01 <= code <= 0x63:
        return f"カード会社により承認されませんでした (declined by the host, code {code:02X})"
    return f"端末エラー (terminal result code 0x{code:02X})"
