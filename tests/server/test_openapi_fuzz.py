"""Schemathesis against the live server's OpenAPI spec (/openapi.json): property-based
requests to every operation through the real HTTP server, on SQLite and on PostgreSQL.

No response may be a 5xx, and every response must match the spec (status code, content type,
body schema, headers). Terminal routes are signed (sync.protocol.sign_request over the exact
method, path with query and body bytes that go on the wire, by a requests auth hook) for most
cases, so the fuzzing gets past authentication into the handlers; the rest are unsigned
(the spec's generated garbage headers), signed by an unknown key, stale, by a revoked terminal
or by a terminal of another facility. Uploads also carry real journal lines (mutated or not)
and freshly signed entries with random bodies. Deterministic: derandomized, no example
database.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_harness import (
    FACILITY,
    OTHER_FACILITY,
    SALES,
    START,
    enroll_terminal,
    fill,
    pg_database,
    running_server,
    sqlite_url,
)
from sqlalchemy import select

from sync import protocol
from sync.server.admin import revoke
from sync.server.app import create_app
from sync.server.configs import publish
from sync.server.db import make_engine
from sync.server.derived import refresh
from sync.server.models import ZClosing
from terminal.journal import Journal, TerminalKey

MAX_EXAMPLES = 100
MAX_EXAMPLES_UPLOAD = 200
MAIN = "hachinohe-museum-01"
RANDOM = "hachinohe-museum-02"  # uploads entries with random bodies, freshly signed
REVOKED = "hachinohe-museum-03"
OTHER = "aomori-library-01"
UPLOADED_AT_START = 8  # of MAIN's journal lines; the rest are new to the server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, methods in create_app("sqlite://").openapi()["paths"].items()
    for method in methods
)


# -- signing -----------------------------------------------------------------------------
class Sign(AuthBase):
    """Signs the prepared request: the exact method, path with query and body bytes sent."""

    def __init__(self, key: TerminalKey, terminal: str, skew: timedelta = timedelta()) -> None:
        self.key, self.terminal, self.skew = key, terminal, skew

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        data = body.encode("utf-8") if isinstance(body, str) else body
        assert isinstance(data, bytes), type(data)
        assert request.method is not None
        request.headers.update(protocol.sign_request(
            self.key, self.terminal, request.method, request.path_url, data,
            now=datetime.now(UTC) + self.skew))
        return request


@dataclass(frozen=True)
class Identity:
    """Who signs a case, and which path parameters it then uses."""

    name: str
    sign: Sign | None
    path: dict[str, str] = field(default_factory=dict)


@dataclass
class Live:
    backend: str
    base_url: str
    schema: Any
    spec: dict[str, Any]
    identities: list[Identity]
    main_lines: list[str]
    other_lines: list[str]
    receipts: list[str]
    prefixes: list[str]
    random_journal: Journal
    random_key: TerminalKey
    session: requests.Session
    counts: dict[str, Counter[str]] = field(default_factory=dict)


def _identities(keys: dict[str, TerminalKey]) -> list[Identity]:
    own = {"terminal": MAIN, "facility": FACILITY}
    stale = timedelta(seconds=protocol.CLOCK_WINDOW_SECONDS + 3600)
    return [
        Identity("unsigned", None),
        Identity("own", Sign(keys[MAIN], MAIN), own),
        Identity("own-generated-path", Sign(keys[MAIN], MAIN)),
        Identity("other-facility", Sign(keys[OTHER], OTHER), own),
        Identity("revoked", Sign(keys[REVOKED], REVOKED),
                 {"terminal": REVOKED, "facility": FACILITY}),
        Identity("unknown-key", Sign(TerminalKey.generate(), MAIN), own),
        Identity("stale", Sign(keys[MAIN], MAIN, skew=-stale), own),
    ]


# weights: most signed cases should reach the handlers
WEIGHTS = {"unsigned": 3, "own": 8, "own-generated-path": 1, "other-facility": 1,
           "revoked": 1, "unknown-key": 1, "stale": 1}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        yield from _serve(request.param, sqlite_url(tmp), tmp)
    else:
        with pg_database() as url:
            yield from _serve(request.param, url, tmp)


def _serve(backend: str, database_url: str, tmp: Path) -> Iterator[Live]:
    with running_server(database_url) as base_url, requests.Session() as session:
        keys = {name: TerminalKey.generate() for name in (MAIN, RANDOM, REVOKED, OTHER)}
        journals = {name: Journal.open(tmp / f"{name}.db", name, keys[name])
                    for name in (MAIN, RANDOM, OTHER)}
        try:
            for name, key in keys.items():
                facility = OTHER_FACILITY if name == OTHER else FACILITY
                enroll_terminal(base_url, database_url, facility, name, key)
            fill(journals[MAIN])
            fill(journals[OTHER])
            main_lines = list(journals[MAIN].lines())
            upload = Sign(keys[MAIN], MAIN)
            response = session.post(base_url + protocol.entries_path(MAIN), auth=upload,
                                    json={"entries": main_lines[:UPLOADED_AT_START]},
                                    timeout=30)
            assert response.status_code == 200, response.text
            # A points ref the server has seen, so results/{ref} for a known path value ("1")
            # can answer 200 (an unknown ref is 404 by the contract).
            response = session.post(base_url + protocol.points_cancel_path(MAIN), auth=upload,
                                    json={"ref": "1"}, timeout=30)
            assert response.status_code == 200, response.text
            engine = make_engine(database_url)
            try:
                revoke(engine, REVOKED)
                publish(engine, FACILITY, json.dumps({"shop": "fuzz"}))
            finally:
                engine.dispose()
            receipts = sorted({json.loads(line)["body"]["receipt_no"] for line in main_lines
                               if json.loads(line)["kind"] in ("sale", "refund")})
            live = Live(
                backend, base_url,
                schemathesis.openapi.from_url(base_url + "/openapi.json"),
                session.get(base_url + "/openapi.json", timeout=30).json(),
                _identities(keys), main_lines, list(journals[OTHER].lines()), receipts,
                [json.loads(line)["hash"][:16] for line in main_lines[:UPLOADED_AT_START]],
                journals[RANDOM], keys[RANDOM], session)
            yield live
            _report(live)
        finally:
            for journal in journals.values():
                journal.close()


def _report(live: Live) -> None:
    print(f"\n[{live.backend}] cases per operation and identity -> statuses")
    for label, counter in sorted(live.counts.items()):
        print(f"  {label}: {sum(counter.values())} cases")
        for key, count in sorted(counter.items()):
            print(f"      {key}: {count}")


# -- strategies --------------------------------------------------------------------------
# Edge values the generated data reaches only rarely: U+0000 and lone surrogates (PostgreSQL
# text and UTF-8 refuse them), ints past the INTEGER columns and past int64, long strings.
EDGE_TEXT = ["\x00", "a\ud800b", "\ud800", "x" * 5000]
EDGE_INT = [0, -1, 2**31 - 1, 2**31, 2**53, 2**63, -(2**63) - 1, 10**30]
EDGE_QUERY = ["\x00", "x" * 5000, "\u0661\u0662", " 5 ", "1_0"]  # a URL holds no surrogate
EDGE_PATH = ["%00", "a%00b", "%ED%A0%80", "9" * 30, "-" + "9" * 30, "2147483648", "0", "-1",
             "x" * 300, "abcdef12"]
EDGE_CLOCK = ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00",
              "0001-01-01T00:00:00-14:00", "2026-01-01T00:00:00", "nonsense"]
# Ints in the random journal entries: anything a journal may hold (|n| < 2**53); the derived
# columns are BIGINT since migration 0002 (see test_derived_ints_beyond_int32).
JOURNAL_INT = 2**53 - 1

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                max_size=12)
_INTS = st.one_of(st.integers(-10, 10**6), st.integers(-JOURNAL_INT, JOURNAL_INT))
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | _INTS | _TEXT,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), inner, max_size=3),
    max_leaves=8)
_FIELDS = ("receipt_no", "total", "grand_total", "amount", "tender", "batch_no", "count",
           "by_tender", "original_seq", "original_terminal", "first_seq", "last_seq", "clerk")
_ITEM = st.dictionaries(st.sampled_from(["qty", "amount", "tax", "tax_class", "code", "kind"]),
                        _JSON, max_size=6)
_KINDS = st.sampled_from(["sale", "refund", "void", "cash.float", "cash.in", "cash.out",
                          "closing.z", "payment.daily_log", "login"]) | _TEXT.filter(bool)


@st.composite
def _random_body(draw: st.DrawFn) -> dict[str, Any]:
    base: dict[str, Any] = dict(draw(st.sampled_from(SALES))) if draw(st.booleans()) else {}
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=4, unique=True)):
        base[name] = draw(_JSON)
    for name in draw(st.lists(st.sampled_from(["lines", "taxes", "tenders"]), unique=True)):
        base[name] = draw(st.lists(_ITEM, max_size=3) | _JSON)
    return base


@st.composite
def _mutated_lines(draw: st.DrawFn, main: list[str], other: list[str]) -> list[str]:
    """A slice of MAIN's real lines (duplicates, new entries, gaps), maybe mutated."""
    start = draw(st.integers(0, len(main)))
    lines = main[start:draw(st.integers(start, len(main)))]
    how = draw(st.sampled_from(["as-is", "char", "swap", "foreign", "reserialize", "drop"]))
    if lines and how == "char":
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines[i]) - 1))
        lines[i] = lines[i][:j] + draw(st.characters(exclude_categories=["Cs"])) \
            + lines[i][j + 1:]
    elif len(lines) > 1 and how == "swap":
        lines[0], lines[-1] = lines[-1], lines[0]
    elif how == "foreign":
        lines.append(draw(st.sampled_from(other)))
    elif lines and how == "reserialize":
        i = draw(st.integers(0, len(lines) - 1))
        value = json.loads(lines[i])
        value[draw(st.sampled_from(sorted(value)))] = draw(_JSON)
        lines[i] = json.dumps(value, ensure_ascii=draw(st.booleans()))
    elif lines and how == "drop":
        del lines[draw(st.integers(0, len(lines) - 1))]
    return lines


def _random_entries(live: Live, data: st.DataObject) -> list[str]:
    """Entries with random kinds and bodies, genuinely signed by RANDOM's journal."""
    journal = live.random_journal
    first = journal.last_seq + 1
    at = START + timedelta(minutes=first)
    items = data.draw(st.lists(st.tuples(_KINDS, _random_body()), min_size=1, max_size=4))
    journal.append_many([(kind, body, at) for kind, body in items])
    return list(journal.lines(from_seq=first))


def _edge(live: Live, label: str, case: Case[Any], data: st.DataObject) -> bool:
    """Maybe put 1-3 edge or known values into the case; True when it did."""
    if not data.draw(st.booleans(), label="edge"):
        return False
    definition = _operation(live, label)[1]
    query = [p["name"] for p in definition.get("parameters", []) if p["in"] == "query"]
    known = [MAIN, FACILITY, *live.receipts, *live.prefixes, "1", "8", "9"]
    places = [place for place, there in (
        ("path", bool(case.path_parameters)), ("query", bool(query)),
        ("body", isinstance(case.body, dict)), ("clock", _is_signed(definition))) if there]
    if not places:
        return False
    for place in data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=3),
                           label="edge places"):
        if place == "path":
            name = data.draw(st.sampled_from(sorted(case.path_parameters)))
            case.path_parameters[name] = data.draw(st.sampled_from(EDGE_PATH + known))
        elif place == "query":
            case.query = {**(case.query or {}), data.draw(st.sampled_from(query)):
                          data.draw(st.sampled_from([*EDGE_INT, *EDGE_QUERY]))}
        elif place == "body":
            assert isinstance(case.body, dict)
            names = sorted({*case.body, *_body_properties(definition)})
            value: Any = data.draw(st.one_of(
                st.sampled_from(EDGE_TEXT), st.sampled_from(EDGE_INT), st.sampled_from(known),
                st.sampled_from([None, True, [], {}, [*EDGE_TEXT], {"\ud800": "\x00"}])))
            every = data.draw(st.booleans(), label="every field")
            chosen = names if every else [data.draw(st.sampled_from(names))]
            case.body = {**case.body, **{name: value for name in chosen}}
        else:
            if case.headers is None:
                case.headers = CaseInsensitiveDict()
            case.headers[protocol.HEADER_CLOCK] = data.draw(st.sampled_from(EDGE_CLOCK))
    if _has_surrogate(case.body):
        # sent as the JSON bytes themselves (\ud800 escaped): schemathesis's own
        # re-validation of a dict body cannot encode a lone surrogate
        case.body = json.dumps(case.body).encode("utf-8")
    return True


def _has_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _body_properties(definition: dict[str, Any]) -> list[str]:
    content = definition.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return sorted(schema.get("properties", {})) or ["x"]


# -- the test ----------------------------------------------------------------------------
def _operation(live: Live, label: str) -> tuple[Any, dict[str, Any]]:
    method, path = label.split(" ", 1)
    return live.schema[path][method], live.spec["paths"][path][method.lower()]


def _is_signed(definition: dict[str, Any]) -> bool:
    return any(p["name"] == protocol.HEADER_SIGNATURE for p in definition.get("parameters", []))


def _strategies(live: Live, label: str) -> dict[str, st.SearchStrategy[Case[Any]]]:
    """Per identity (and, for receipts, a known receipt number) a case strategy."""
    operation, definition = _operation(live, label)
    names = {p["name"] for p in definition.get("parameters", []) if p["in"] == "path"}
    modes = [GenerationMode.POSITIVE]
    if definition.get("parameters") or definition.get("requestBody"):
        modes.append(GenerationMode.NEGATIVE)

    def cases(path: dict[str, str]) -> st.SearchStrategy[Case[Any]]:
        fixed = {name: value for name, value in path.items() if name in names} or None
        return st.one_of([operation.as_strategy(mode, path_parameters=fixed)
                          for mode in modes])

    if not _is_signed(definition):
        return {"public": cases({})}
    result: dict[str, st.SearchStrategy[Case[Any]]] = {}
    for identity in live.identities:
        result[identity.name] = cases(identity.path)
        if identity.name == "own" and "receipt_no" in names:
            for receipt in live.receipts[:3]:
                result[f"own:{receipt}"] = cases({**identity.path, "receipt_no": receipt})
        if identity.name == "own" and "ref" in names:  # a points ref the server holds
            result["own:ref"] = cases({**identity.path, "ref": "1"})
    return result


def _weight(key: str) -> int:
    return WEIGHTS.get(key.split(":")[0], 1)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error(live: Live, label: str) -> None:
    strategies = _strategies(live, label)
    keys = [key for key in sorted(strategies) for _ in range(_weight(key))]
    identities = {identity.name: identity for identity in live.identities}
    upload = label == f"POST {protocol.entries_path('{terminal}')}"
    counts = live.counts.setdefault(label, Counter())

    @given(data=st.data())
    @settings(max_examples=MAX_EXAMPLES_UPLOAD if upload else MAX_EXAMPLES,
              derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    def run(data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(keys), label="identity")
        case = data.draw(strategies[key], label="case")
        identity = identities.get(key.split(":")[0])
        sign = identity.sign if identity else None
        positive = case.meta is None or case.meta.generation.mode.is_positive
        tag = key
        if upload and identity is not None and identity.name == "own" and positive:
            body = data.draw(st.sampled_from(["generated", "real", "random"]), label="body")
            if body == "real":
                lines: list[Any] = data.draw(_mutated_lines(live.main_lines, live.other_lines))
                case.body = {"entries": lines}
            elif body == "random":
                case.path_parameters = {"terminal": RANDOM}
                fresh: list[Any] = _random_entries(live, data)
                case.body = {"entries": fresh}
                sign = Sign(live.random_key, RANDOM)
            tag = f"{key}/{body}"
        edged = _edge(live, label, case, data)
        if edged:
            tag += "/edge"
        negative = sign is None and not edged  # else the case may have turned valid
        checks = [*CHECKS, negative_data_rejection] if negative else CHECKS
        response = case.call(base_url=live.base_url, session=live.session, auth=sign,
                             timeout=30)
        counts[f"{tag} {'+' if positive else '-'} -> {response.status_code}"] += 1
        case.validate_response(response, checks=checks)

    started = time.monotonic()
    run()
    print(f"[{live.backend}] {label}: {sum(counts.values())} cases in "
          f"{time.monotonic() - started:.1f} s")
    if _is_signed(_operation(live, label)[1]):
        reached = [key for key in counts if key.startswith("own") and " -> 2" in key]
        assert reached, f"no signed case of {label} got past authentication: {counts}"


def test_live_spec_lists_every_fuzzed_operation(live: Live) -> None:
    served = sorted(f"{method.upper()} {path}" for path, methods in live.spec["paths"].items()
                    for method in methods)
    assert served == OPERATIONS



def test_derived_ints_beyond_int32(tmp_path: Path) -> None:
    """Found by the fuzzing: INTEGER derived columns overflowed on PostgreSQL (now BIGINT)."""
    key = TerminalKey.generate()
    with pg_database() as url, running_server(url) as base_url, \
            Journal.open(tmp_path / "j.db", MAIN, key) as journal:
        enroll_terminal(base_url, url, FACILITY, MAIN, key)
        journal.append("closing.z", {"total": 2**40, "grand_total": 2**52}, START)
        journal.append("payment.daily_log", {"count": 1, "total": 2**40}, START)
        response = requests.post(base_url + protocol.entries_path(MAIN), auth=Sign(key, MAIN),
                                 json={"entries": list(journal.lines())}, timeout=30)
        assert response.status_code == 200, response.text
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                refresh(conn)
                assert conn.execute(select(ZClosing.total, ZClosing.grand_total)).one() == (
                    2**40, 2**52)
        finally:
            engine.dispose()


# The 5xx the fuzzing found (fixed), replayed exactly: the fuzzing reaches each only by luck.
_KEY = TerminalKey.generate().public_key_b64
FOUND = [  # (method, path, signed, body, extra headers, expected status)
    ("GET", "/r/x/99999999999999999999999/abcdef12", False, b"", {}, 404),
    ("GET", "/r/x/-99999999999999999999999/abcdef12", False, b"", {}, 404),
    ("GET", "/r/x%00/1/abcdef12", False, b"", {}, 404),
    ("GET", "/r/%ED%A0%80/1/abcdef12", False, b"", {}, 404),
    ("GET", protocol.head_path(MAIN), True, b"",
     {protocol.HEADER_CLOCK: "9999-12-31T23:59:59+00:00"}, 200),
    ("GET", protocol.head_path(MAIN), True, b"",
     {protocol.HEADER_CLOCK: "0001-01-01T00:00:00+14:00"}, 200),
    ("GET", protocol.receipt_lookup_path(FACILITY, "a%00b"), True, b"", {}, 404),
    ("POST", protocol.status_path(MAIN), True, b'{"app_version": "\\ud800"}', {}, 422),
    ("POST", protocol.status_path(MAIN), True, b'{"devices": {"\\ud800": 1}}', {}, 422),
    ("POST", protocol.status_path(MAIN), True, b'{"last_error": "a\\u0000"}', {}, 422),
    ("POST", protocol.enroll_path(), False, json.dumps(
        {"code": "a\x00", "terminal": "t", "facility": "f", "public_key": _KEY}).encode(), {},
     422),
    ("POST", protocol.enroll_path(), False, json.dumps(
        {"code": "a", "terminal": "\ud800", "facility": "f", "public_key": _KEY}).encode(), {},
     422),
]


@pytest.mark.parametrize(("method", "path", "signed", "body", "headers", "expected"), FOUND)
def test_found_server_errors_stay_fixed(live: Live, method: str, path: str, signed: bool,
                                        body: bytes, headers: dict[str, str],
                                        expected: int) -> None:
    own = next(identity for identity in live.identities if identity.name == "own")
    response = live.session.request(method, live.base_url + path, data=body, timeout=30,
                                    headers={"Content-Type": "application/json", **headers},
                                    auth=own.sign if signed else None)
    assert response.status_code == expected, response.text
