"""OPA-Auth HMAC request signing and the simulator's verification of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import requests

from drivers.qr.opa_auth import CONTENT_TYPE, auth_header, parse_header, verify
from drivers.qr.paypay_sim import PayPaySimulator

BODY = json.dumps({"sampleRequestBodyKey1": "sampleRequestBodyValue1",
                   "sampleRequestBodyKey2": "sampleRequestBodyValue2"},
                  separators=(",", ":")).encode()


def test_header_matches_the_published_recipe() -> None:
    header = auth_header("APIKeyGenerated", "APIKeySecretGenerated", "POST", "/v2/codes",
                         BODY, epoch=1579843452, nonce="acd028")
    # The recipe of PayPay's SDKs, written out step by step.
    body_hash = base64.b64encode(hashlib.md5(CONTENT_TYPE.encode() + BODY).digest()).decode()
    signed = "\n".join(["/v2/codes", "POST", "acd028", "1579843452", CONTENT_TYPE, body_hash])
    mac = base64.b64encode(hmac.new(b"APIKeySecretGenerated", signed.encode(),
                                    hashlib.sha256).digest()).decode()
    assert header == f"hmac OPA-Auth:APIKeyGenerated:{mac}:acd028:1579843452:{body_hash}"


def test_get_without_body_signs_empty() -> None:
    header = auth_header("k", "s", "GET", "/v2/payments/X?x=1", None, epoch=100, nonce="n1")
    auth = parse_header(header)
    assert auth.body_hash == "empty"
    assert verify(header, "s", "GET", "/v2/payments/X", "", None, now=100) is None


def test_verify_refuses_tampering() -> None:
    header = auth_header("k", "s", "POST", "/v2/payments", BODY, epoch=1000, nonce="n2")
    assert verify(header, "s", "POST", "/v2/payments", CONTENT_TYPE, BODY, now=1000) is None
    assert verify(header, "wrong", "POST", "/v2/payments", CONTENT_TYPE, BODY, 1000) == \
        "signature mismatch"
    assert verify(header, "s", "POST", "/v2/payments", CONTENT_TYPE, BODY + b" ", 1000) == \
        "body hash mismatch"
    assert verify(header, "s", "POST", "/v2/refunds", CONTENT_TYPE, BODY, 1000) == \
        "signature mismatch"
    assert verify(header, "s", "POST", "/v2/payments", CONTENT_TYPE, BODY, 5000) == \
        "epoch outside the allowed window"
    assert verify("Bearer x", "s", "POST", "/v2/payments", CONTENT_TYPE, BODY, 1000) == \
        "not an OPA-Auth header"


def test_simulator_refuses_old_and_foreign_signatures() -> None:
    with PayPaySimulator() as sim, requests.Session() as http:
        def post(header: str) -> requests.Response:
            return http.post(sim.url + "/v2/payments", data=BODY, timeout=5,
                             headers={"Authorization": header, "Content-Type": CONTENT_TYPE})

        old = auth_header("sim-key", "sim-secret", "POST", "/v2/payments", BODY,
                          epoch=int(time.time()) - 3600)
        foreign = auth_header("other-key", "sim-secret", "POST", "/v2/payments", BODY,
                              epoch=int(time.time()))
        for header in (old, foreign, ""):
            answer = post(header)
            assert answer.status_code == 401
            assert answer.json()["resultInfo"]["code"] == "UNAUTHORIZED"
        fresh = auth_header("sim-key", "sim-secret", "POST", "/v2/payments", BODY,
                            epoch=int(time.time()))
        good = post(fresh)
        assert good.status_code == 400  # authenticated, but not a payment request
        assert good.json()["resultInfo"]["code"] == "INVALID_PARAMS"
        assert post(fresh).status_code == 401  # the same nonce again: a replay
        assert sim.auth_failures == 4
