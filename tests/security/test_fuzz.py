"""Point 6: property-based fuzzing of the route-table validator, the matcher, the catalog ACL translators
and the data plane's request-header handling."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acl.catalog.records import ProductRecord, ProductStatus
from acl.catalog.translators import (
    product_from_legacy_json,
    product_from_legacy_row,
    product_to_legacy_json,
    product_to_legacy_row,
)
from acl.errors import LegacyDataError
from strangler_proxy.dataplane.headers import TrustedPeers, prepare_request_headers
from strangler_proxy.dataplane.routing import Target, compile_table
from strangler_proxy.routes import (
    RouteTable,
    RouteTableInvalid,
    Rule,
    Upstream,
    table_problems,
    validate_table,
)

pytestmark = pytest.mark.unit
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEGMENT = st.sampled_from(["api", "products", "orders", "x", "a-b", "v1", "Api", "p%20q", ""])
PATHS = st.lists(SEGMENT, min_size=0, max_size=4).map(lambda parts: "/" + "/".join(parts))
UPSTREAMS = {
    "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
    "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
}


VALID_ACTIONS = [
    {"mode": "legacy"},
    {"mode": "new", "upstream": "catalog"},
    {"mode": "canary", "upstream": "catalog", "weight": 30},
    {"mode": "shadow", "upstream": "catalog"},
]
INVALID_ACTIONS = [
    {"mode": "new", "upstream": "legacy"},
    {"mode": "new", "upstream": "missing"},
    {"mode": "new"},
    {"mode": "legacy", "upstream": "catalog"},
    {"mode": "new", "upstream": "catalog", "weight": 30},
]


def _mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nine draws in ten from ``valid``: fuzz the checks without drowning every table in problems."""
    return st.integers(0, 9).flatmap(lambda n: invalid if n == 0 else valid)


@st.composite
def rules(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["exact", "prefix", "prefix", "pattern"]))
    pattern = _mostly(st.sampled_from(["^/api/.*$", "^/(a|b)$"]), st.sampled_from(["[", "(?P<x"]))
    path = draw(PATHS) if kind != "pattern" else draw(pattern)
    action = draw(_mostly(st.sampled_from(VALID_ACTIONS), st.sampled_from(INVALID_ACTIONS)))
    methods = draw(st.none() | st.sets(st.sampled_from(["GET", "POST", "PUT"]), min_size=1))
    name = draw(_mostly(st.just(f"r{index}"), st.just("dup")))
    return {
        "name": name,
        "match": {"kind": kind, "path": path, "methods": sorted(methods) if methods else None},
        "action": action,
    }


@st.composite
def tables(draw: st.DrawFn) -> RouteTable:
    count = draw(st.integers(0, 6))
    documents = [draw(rules(i)) for i in range(count)]
    upstreams = draw(_mostly(st.just(dict(UPSTREAMS)), st.just({"catalog": UPSTREAMS["catalog"]})))
    return RouteTable(upstreams=upstreams, rules=tuple(Rule.model_validate(d) for d in documents))


@FUZZ
@given(tables())
def test_the_validator_reports_instead_of_raising_and_valid_tables_compile(table: RouteTable) -> None:
    problems = table_problems(table, UPSTREAMS)
    assert all(isinstance(p, str) and p for p in problems)
    if problems:
        with pytest.raises(RouteTableInvalid) as caught:
            validate_table(table, UPSTREAMS)
        assert caught.value.problems == problems
    else:
        compiled = compile_table(validate_table(table, UPSTREAMS))
        for rule in table.rules:
            if rule.match.kind.value == "pattern":
                break  # the validator compares patterns only with equal patterns: stop at the first
            # A witness request only this rule or an earlier covering one can take.
            witness = (
                rule.match.path if rule.match.kind.value == "exact" else rule.match.path.rstrip("/") + "/zz"
            )
            methods = sorted(rule.match.methods or {"GET", "POST", "PUT", "DELETE"})
            routes = {compiled.decide(method, witness, []).route for method in methods}
            assert rule.name in routes, "a rule of a valid table can never match"


def _reference_match(table: RouteTable, method: str, path: str) -> str | None:
    for rule in table.rules:
        match = rule.match
        if match.methods is not None and method not in match.methods:
            continue
        if match.kind.value == "exact" and path == match.path:
            return rule.name
        if match.kind.value == "prefix":
            base = match.path.rstrip("/")
            if match.path == "/" or path == base or path.startswith(base + "/"):
                return rule.name
        if match.kind.value == "pattern" and re.fullmatch(match.path, path):
            return rule.name
    return None


@FUZZ
@given(tables(), PATHS, st.sampled_from(["GET", "POST", "DELETE"]))
def test_the_matcher_agrees_with_a_plain_first_match_reference(
    table: RouteTable, path: str, method: str
) -> None:
    if table_problems(table, UPSTREAMS):
        return
    decision = compile_table(table).decide(method, path, [])
    assert (decision.rule.name if decision.rule else None) == _reference_match(table, method, path)
    if decision.rule is None:
        assert decision.target is Target.LEGACY and decision.upstream == "legacy"


@FUZZ
@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=60)), max_size=8),
)
def test_the_matcher_never_raises_on_hostile_input(path: str, headers: list[tuple[bytes, bytes]]) -> None:
    table = RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            Rule.model_validate(
                {
                    "name": "c",
                    "match": {"path": "/api", "headers": [{"name": "x-a"}], "cookies": [{"name": "s"}]},
                    "action": {"mode": "canary", "upstream": "catalog", "weight": 50},
                }
            ),
        ),
    )
    decision = compile_table(table, override_key=b"k" * 32).decide("GET", path, headers)
    assert decision.upstream in UPSTREAMS


HEADER_NAMES = st.sampled_from(
    [
        b"host",
        b"x-forwarded-for",
        b"x_forwarded_for",
        b"x-real-ip",
        b"forwarded",
        b"x-strangler-identity",
        b"x_strangler_identity",
        b"connection",
        b"transfer-encoding",
        b"content-length",
        b"x-request-id",
        b"traceparent",
        b"te",
        b"upgrade",
        b"accept",
        b"x-custom",
    ]
)
HOP_BY_HOP = {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"}


@FUZZ
@given(st.lists(st.tuples(HEADER_NAMES, st.binary(max_size=40)), max_size=12), st.booleans())
def test_request_headers_never_carry_client_claims_upstream(
    raw: list[tuple[bytes, bytes]], trusted: bool
) -> None:
    import ipaddress

    peers = TrustedPeers([ipaddress.ip_network("127.0.0.0/8")] if trusted else [])
    out = prepare_request_headers(
        raw, client_host="127.0.0.1", scheme="http", trusted=peers, default_host="d"
    )
    names = [name for name, _ in out.headers]
    assert not [n for n in names if n.replace("_", "-").startswith("x-strangler-")]
    assert not set(names) & HOP_BY_HOP
    assert "x-real-ip" not in names and "x_forwarded_for" not in names
    assert names.count("host") == 1 and names.count("x-request-id") == 1 and names.count("traceparent") == 1
    forwarded_for = [v for n, v in out.headers if n == "x-forwarded-for"]
    assert len(forwarded_for) == 1 and forwarded_for[0].endswith("127.0.0.1")
    if not trusted:
        assert forwarded_for == ["127.0.0.1"] and "forwarded" not in names
    if out.chunked:
        assert "content-length" not in names
    assert re.fullmatch(r"[A-Za-z0-9._:@/+=-]{8,128}", out.request_id)


MOMENTS = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 1, 1), timezones=st.just(UTC))
RECORDS = st.builds(
    ProductRecord,
    id=st.integers(1, 2**40),
    sku=st.from_regex(r"[A-Z0-9](?:[A-Z0-9-]{0,10}[A-Z0-9])?", fullmatch=True),
    name=st.text(min_size=1, max_size=200).filter(str.strip),
    description=st.text(max_size=100),
    price=st.decimals(min_value=0, max_value=10**9, places=2).map(lambda d: d.quantize(Decimal("0.01"))),
    stock=st.integers(0, 10**6),
    status=st.sampled_from(list(ProductStatus)),
    category=st.lists(
        st.text(alphabet="ABCabc xyz", min_size=1, max_size=10).filter(lambda s: s == s.strip() and s),
        min_size=1,
        max_size=3,
    ).map(tuple),
    created_at=MOMENTS,
    updated_at=MOMENTS,
)


@FUZZ
@given(RECORDS)
def test_legacy_json_round_trips(record: ProductRecord) -> None:
    assert product_from_legacy_json(product_to_legacy_json(record)) == record


JSONISH = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.floats() | st.lists(st.integers())
)


@FUZZ
@given(RECORDS, st.data())
def test_translators_refuse_garbage_with_a_named_field(record: ProductRecord, data: st.DataObject) -> None:
    document = product_to_legacy_json(record)
    row = product_to_legacy_row(record)
    for original in (document, row):
        key = data.draw(st.sampled_from(sorted(original)))
        broken = {**original, key: data.draw(JSONISH)}
        translate = product_from_legacy_json if original is document else product_from_legacy_row
        try:
            translate(broken)
        except LegacyDataError as exc:  # any other exception fails the test
            assert key in str(exc)
