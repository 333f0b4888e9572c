"""PayPay Open Payment API request signing (``Authorization: hmac OPA-Auth:...``), pure.

Shaped on PayPay's published SDKs (paypayopa-sdk-python ``Client.auth_header``):

    body_hash = base64(MD5(content_type + body))        or "empty" without a body
    signed    = "\\n".join([resource, method, nonce, epoch, content_type, body_hash])
    mac       = base64(HMAC-SHA256(api_secret, signed))
    header    = "hmac OPA-Auth:" + ":".join([api_key, mac, nonce, epoch, body_hash])

``resource`` is the request path without the query string; ``content_type`` is "empty" for a
request without a body. The replay window (EPOCH_WINDOW) is our guess; PayPay does not publish
it in the SDKs. Secrets are never logged or put in exception messages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

AUTH_TYPE = "hmac OPA-Auth"
CONTENT_TYPE = "application/json;charset=UTF-8"
EMPTY = "empty"
EPOCH_WINDOW = 120  # seconds; GUESSED


@dataclass(frozen=True, slots=True)
class OpaAuth:
    api_key: str
    mac: str
    nonce: str
    epoch: str
    body_hash: str


def body_hash(content_type: str, body: bytes | None) -> str:
    if body is None:
        return EMPTY
    digest = hashlib.md5(content_type.encode("utf-8"), usedforsecurity=False)
    digest.update(body)
    return base64.b64encode(digest.digest()).decode("ascii")


def mac_of(api_secret: str, resource: str, method: str, nonce: str, epoch: str,
           content_type: str, hashed_body: str) -> str:
    signed = "\n".join([resource, method.upper(), nonce, epoch, content_type, hashed_body])
    digest = hmac.new(api_secret.encode("utf-8"), signed.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def auth_header(api_key: str, api_secret: str, method: str, resource: str,
                body: bytes | None, epoch: int, nonce: str | None = None) -> str:
    nonce = nonce or secrets.token_hex(4)
    content_type = CONTENT_TYPE if body is not None else EMPTY
    hashed = body_hash(content_type, body)
    mac = mac_of(api_secret, resource.split("?")[0], method, nonce, str(epoch), content_type,
                 hashed)
    return f"{AUTH_TYPE}:{api_key}:{mac}:{nonce}:{epoch}:{hashed}"


def parse_header(value: str) -> OpaAuth:
    """Split an Authorization header; raises ValueError when it is not OPA-Auth."""
    prefix = AUTH_TYPE + ":"
    if not value.startswith(prefix):
        raise ValueError("not an OPA-Auth header")
    parts = value[len(prefix):].split(":")
    if len(parts) != 5 or not all(parts):
        raise ValueError("OPA-Auth header needs api key, mac, nonce, epoch and body hash")
    return OpaAuth(*parts)


def verify(header: str, api_secret: str, method: str, resource: str,
           content_type: str, body: bytes | None, now: int) -> str | None:
    """``None`` when the header authenticates the request, else the reason it does not."""
    try:
        auth = parse_header(header)
        epoch = int(auth.epoch)
    except ValueError as exc:
        return str(exc)
    if abs(now - epoch) > EPOCH_WINDOW:
        return "epoch outside the allowed window"
    signed_type = content_type if body else EMPTY
    hashed = body_hash(signed_type, body if body else None)
    if not hmac.compare_digest(hashed, auth.body_hash):
        return "body hash mismatch"
    expected = mac_of(api_secret, resource.split("?")[0], method, auth.nonce, auth.epoch,
                      signed_type, hashed)
    if not hmac.compare_digest(expected, auth.mac):
        return "signature mismatch"
    return None


__all__ = ["AUTH_TYPE", "CONTENT_TYPE", "OpaAuth", "auth_header", "body_hash", "parse_header",
           "verify"]
