"""Configs, receipt lookup across a facility's terminals, the public receipt page."""

from __future__ import annotations

import json
from typing import Any

import requests
from server_harness import Term, fill
from sqlalchemy import Engine

from sync import protocol
from sync.server.configs import publish
from terminal.journal.keys import verify_hash_sig


def test_config_publish_fetch_and_verify(term: Term, engine: Engine) -> None:
    path = protocol.config_path(term.terminal)
    assert term.request("GET", path).status_code == 204
    assert publish(engine, "hachinohe-museum", "[tax]\nrate = 10\n") == 1
    assert publish(engine, "hachinohe-museum", "[tax]\nrate = 8\n") == 2
    assert publish(engine, "other-facility", "x") == 1
    config = term.request("GET", path).json()
    assert (config["facility"], config["version"], config["payload"]) == (
        "hachinohe-museum", 2, "[tax]\nrate = 8\n")
    digest = protocol.config_digest(config["facility"], config["version"], config["payload"])
    assert verify_hash_sig(term.server_key, digest, config["signature"])
    assert not verify_hash_sig(term.server_key, protocol.config_digest(
        config["facility"], 1, config["payload"]), config["signature"])


def test_receipt_lookup_across_terminals(make_term: Any) -> None:
    one, two = make_term("museum-01"), make_term("museum-02")
    outsider = make_term("library-01", facility="aomori-library")
    fill(one.journal, sales=3, receipt_prefix="M1")
    fill(two.journal, sales=2, receipt_prefix="M2")
    # a refund at counter two of a sale of counter one
    sale = json.loads(one.lines()[2])
    two.journal.append("refund", dict(sale["body"], original_seq=sale["seq"],
                                      original_terminal="museum-01", approved_by="s1",
                                      receipt_no="M2-R9"), _next(two))
    for term in (one, two):
        assert term.upload(term.lines()).json()["ack"] == len(term.lines())
    path = protocol.receipt_lookup_path("hachinohe-museum", "M1-1")
    response = two.request("GET", path)
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["terminal"], found["seq"], found["line"]) == ("museum-01", 3, one.lines()[2])
    assert len(found["refunds"]) == 2  # the one fill() makes at counter one, and two's
    assert two.lines()[-1] in found["refunds"]
    assert two.request("GET", protocol.receipt_lookup_path(
        "hachinohe-museum", "nope")).status_code == 404
    refused = outsider.request("GET", path)
    assert refused.status_code == 403
    refused = outsider.request("GET", protocol.receipt_lookup_path("aomori-library", "M1-1"))
    assert refused.status_code == 404


def _next(term: Term) -> Any:
    from datetime import datetime, timedelta

    head = term.journal.head()
    assert head is not None
    return datetime.fromisoformat(head.at) + timedelta(minutes=1)


def test_receipt_page_three_answers(term: Term) -> None:
    lines = term.lines()
    assert term.upload(lines[:3]).status_code == 200
    entry = json.loads(lines[2])
    page = requests.get(term.base_url + protocol.receipt_page_path(
        term.terminal, 3, entry["hash"][:16]), timeout=30)
    assert page.status_code == 200 and "真正" in page.text and "genuine" in page.text
    page = requests.get(term.base_url + protocol.receipt_page_path(
        term.terminal, 3, "0" * 16), timeout=30)
    assert "不一致" in page.text and "mismatch" in page.text
    page = requests.get(term.base_url + protocol.receipt_page_path(
        term.terminal, 5, json.loads(lines[4])["hash"][:16]), timeout=30)
    assert page.status_code == 404 and "未受信" in page.text and "not yet received" in page.text


def test_healthz_and_openapi(server: str) -> None:
    assert requests.get(server + "/healthz", timeout=30).json() == {"status": "ok"}
    spec = requests.get(server + "/openapi.json", timeout=30).json()
    assert protocol.entries_path("{terminal}") in spec["paths"]
    assert protocol.enroll_path() in spec["paths"]
