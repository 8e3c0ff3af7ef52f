"""The route-table model: frozen, strict, round-trips through JSON."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from strangler_proxy.routes import (
    ActionMode,
    FaultInjection,
    MatchKind,
    Predicate,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    ShadowSettings,
    Timeouts,
    Upstream,
)

pytestmark = pytest.mark.unit

LEGACY = Upstream(name="legacy", url="http://127.0.0.1:8100")


def test_tables_are_frozen() -> None:
    table = RouteTable(upstreams={"legacy": LEGACY}, rules=(Rule(name="a", match=RuleMatch(path="/a")),))
    with pytest.raises(ValidationError, match="frozen"):
        table.version = 3  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        table.rules[0].match.path = "/b"  # type: ignore[misc]
    assert isinstance(table.rules, tuple)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Rule.model_validate({"name": "a", "match": {"path": "/a"}, "weight": 5})


def test_methods_are_upper_cased_and_checked() -> None:
    assert RuleMatch(path="/a", methods={"get", "Post"}).methods == frozenset({"GET", "POST"})
    with pytest.raises(ValidationError, match="unknown HTTP method"):
        RuleMatch(path="/a", methods={"FETCH"})
    with pytest.raises(ValidationError, match="at least one method"):
        RuleMatch(path="/a", methods=set())


def test_exact_and_prefix_paths_must_be_absolute_patterns_need_not() -> None:
    with pytest.raises(ValidationError, match="must start with '/'"):
        RuleMatch(kind="prefix", path="api")
    with pytest.raises(ValidationError, match="must start with '/'"):
        RuleMatch(kind="exact", path="api")
    assert RuleMatch(kind="pattern", path=r".*\.css").path == r".*\.css"


@pytest.mark.parametrize("name", ["", "Upper", "-leading", "a" * 64, "with space"])
def test_rule_names_are_slugs(name: str) -> None:
    with pytest.raises(ValidationError):
        Rule(name=name, match=RuleMatch(path="/"))


@pytest.mark.parametrize("url", ["127.0.0.1:8100", "http://host:1/path", "ftp://host", "http://"])
def test_upstream_urls_are_scheme_host_and_port_only(url: str) -> None:
    with pytest.raises(ValidationError):
        Upstream(name="x", url=url)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RuleAction(mode="canary", upstream="x", weight=101),
        lambda: ShadowSettings(sample_percent=-1),
        lambda: ShadowSettings(max_concurrency=0),
        lambda: Timeouts(connect_s=0),
        lambda: FaultInjection(abort_status=200),
        lambda: Rule(name="a", match=RuleMatch(path="/"), max_body_bytes=-1),
    ],
)
def test_numbers_out_of_range_are_refused(build) -> None:
    with pytest.raises(ValidationError):
        build()


def test_rule_lookup_by_name() -> None:
    rule = Rule(name="a", match=RuleMatch(path="/a"))
    table = RouteTable(upstreams={"legacy": LEGACY}, rules=(rule,))
    assert table.rule("a") is rule and table.rule("b") is None
    assert table.with_version(9).version == 9 and table.version == 0


names = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}", fullmatch=True)
predicates = st.builds(
    Predicate, name=st.sampled_from(["x-beta", "beta"]), equals=st.none() | st.text(max_size=4)
)
matches = st.builds(
    RuleMatch,
    kind=st.sampled_from(list(MatchKind)),
    path=st.from_regex(r"/[a-z/]{0,12}", fullmatch=True),
    methods=st.none() | st.sets(st.sampled_from(["GET", "POST", "DELETE"]), min_size=1).map(frozenset),
    headers=st.lists(predicates, max_size=2).map(tuple),
    cookies=st.lists(predicates, max_size=2).map(tuple),
)
actions = st.builds(
    RuleAction,
    mode=st.sampled_from(list(ActionMode)),
    upstream=st.none() | st.just("catalog"),
    weight=st.integers(0, 100),
    shadow=st.builds(
        ShadowSettings,
        sample_percent=st.floats(0, 100),
        ignore_json_paths=st.lists(st.sampled_from(["a", "b.*.c"]), max_size=2).map(tuple),
    ),
)
tables = st.builds(
    RouteTable,
    version=st.integers(0, 10**6),
    upstreams=st.just({"legacy": LEGACY, "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201")}),
    rules=st.lists(st.builds(Rule, name=names, match=matches, action=actions), max_size=6).map(tuple),
)


@settings(deadline=None)
@given(tables)
def test_every_table_round_trips_through_json(table: RouteTable) -> None:
    assert RouteTable.from_json(table.to_json()) == table
    assert RouteTable.from_json(table.to_json().encode()) == table
