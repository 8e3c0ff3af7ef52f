"""The compiled matcher: first match wins, segment prefixes, predicates; agrees with a naive reference."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler_proxy.dataplane.routing import UNMATCHED, Target, compile_table
from strangler_proxy.routes import (
    ActionMode,
    MatchKind,
    Predicate,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    Upstream,
)

pytestmark = pytest.mark.unit

UPSTREAMS = {
    "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
    "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
}


def rule(name: str, path: str, kind: str = "prefix", mode: str = "new", **match: object) -> Rule:
    action = RuleAction(mode=ActionMode(mode), upstream=None if mode == "legacy" else "catalog")
    return Rule(name=name, match=RuleMatch(kind=MatchKind(kind), path=path, **match), action=action)


def table(*rules: Rule) -> RouteTable:
    return RouteTable(version=7, upstreams=UPSTREAMS, rules=rules)


def route_of(
    compiled, path: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
) -> str:
    return compiled.decide(method, path, headers or []).route


def test_unmatched_requests_go_to_the_legacy() -> None:
    decision = compile_table(table(rule("api", "/api"))).decide("GET", "/shop", [])
    assert (decision.route, decision.rule, decision.target, decision.upstream) == (
        UNMATCHED,
        None,
        Target.LEGACY,
        "legacy",
    )
    assert decision.shadow_upstream is None and decision.set_cookie is None and not decision.overridden


def test_compiled_table_keeps_its_version_and_document() -> None:
    source = table(rule("api", "/api"))
    compiled = compile_table(source)
    assert compiled.version == 7 and compiled.table is source


def test_new_rule_sends_to_its_upstream_and_legacy_rule_to_the_legacy() -> None:
    compiled = compile_table(table(rule("old", "/api/legacy", mode="legacy"), rule("api", "/api")))
    new = compiled.decide("GET", "/api/products", [])
    assert (new.route, new.target, new.upstream, new.rule.name) == ("api", Target.NEW, "catalog", "api")
    old = compiled.decide("GET", "/api/legacy/x", [])
    assert (old.route, old.target, old.upstream) == ("old", Target.LEGACY, "legacy")


@pytest.mark.parametrize(
    ("prefix", "path", "matches"),
    [
        ("/api", "/api", True),
        ("/api", "/api/", True),
        ("/api", "/api/x/y", True),
        ("/api", "/apix", False),
        ("/api", "/ap", False),
        ("/api/", "/api", True),
        ("/api/", "/api/x", True),
        ("/api/", "/apix", False),
        ("/", "/anything/at/all", True),
        ("/", "/", True),
        ("/a/b", "/a", False),
        ("/a/b", "/a/b/c", True),
        ("/a/b", "/a/bc", False),
        ("/a", "/a//b", True),
    ],
)
def test_prefixes_match_whole_segments(prefix: str, path: str, matches: bool) -> None:
    compiled = compile_table(table(rule("p", prefix)))
    assert (route_of(compiled, path) == "p") is matches


def test_exact_rules_match_only_their_path() -> None:
    compiled = compile_table(table(rule("e", "/cart", kind="exact")))
    assert route_of(compiled, "/cart") == "e"
    assert route_of(compiled, "/cart/") == UNMATCHED
    assert route_of(compiled, "/cart/1") == UNMATCHED


def test_patterns_match_the_whole_path() -> None:
    compiled = compile_table(table(rule("pat", r"/products/\d+", kind="pattern")))
    assert route_of(compiled, "/products/12") == "pat"
    assert route_of(compiled, "/products/12/reviews") == UNMATCHED
    assert route_of(compiled, "/x/products/12") == UNMATCHED


def test_first_match_wins_across_kinds() -> None:
    compiled = compile_table(
        table(
            rule("pattern-first", r"/api/products/\d+", kind="pattern", mode="legacy"),
            rule("deep-prefix", "/api/products"),
            rule("exact-late", "/api/products", kind="exact", mode="legacy"),
            rule("shallow", "/api", mode="legacy"),
        )
    )
    assert route_of(compiled, "/api/products/3") == "pattern-first"
    assert route_of(compiled, "/api/products") == "deep-prefix"
    assert route_of(compiled, "/api/orders") == "shallow"


def test_a_later_deeper_prefix_loses_to_an_earlier_shallow_one() -> None:
    compiled = compile_table(table(rule("shallow", "/api", mode="legacy"), rule("deep", "/api/products")))
    assert route_of(compiled, "/api/products/1") == "shallow"


def test_methods_restrict_the_rule() -> None:
    compiled = compile_table(
        table(rule("writes", "/api", methods=frozenset({"POST", "PUT"})), rule("rest", "/api", mode="legacy"))
    )
    assert route_of(compiled, "/api/x", "POST") == "writes"
    assert route_of(compiled, "/api/x", "GET") == "rest"


def test_header_predicates_need_presence_or_an_equal_value() -> None:
    compiled = compile_table(
        table(
            rule("beta", "/api", headers=(Predicate(name="X-Beta", equals="yes"),)),
            rule("mobile", "/api", headers=(Predicate(name="x-app"),)),
        )
    )
    assert route_of(compiled, "/api", headers=[(b"x-beta", b"yes")]) == "beta"
    assert route_of(compiled, "/api", headers=[(b"x-beta", b"no"), (b"x-beta", b"yes")]) == "beta"
    assert route_of(compiled, "/api", headers=[(b"x-beta", b"no"), (b"x-app", b"")]) == "mobile"
    assert route_of(compiled, "/api", headers=[(b"x-beta", b"no")]) == UNMATCHED


def test_cookie_predicates_read_every_cookie_header() -> None:
    compiled = compile_table(
        table(rule("beta", "/", cookies=(Predicate(name="beta", equals="1"), Predicate(name="sessionid"))))
    )
    assert route_of(compiled, "/x", headers=[(b"cookie", b"a=b; beta=1; sessionid=abc")]) == "beta"
    assert route_of(compiled, "/x", headers=[(b"cookie", b"beta=1"), (b"cookie", b"sessionid=s")]) == "beta"
    assert route_of(compiled, "/x", headers=[(b"cookie", b'beta="1"; sessionid=s')]) == "beta"
    assert route_of(compiled, "/x", headers=[(b"cookie", b"beta=2; sessionid=abc")]) == UNMATCHED
    assert route_of(compiled, "/x", headers=[(b"cookie", b"beta=1")]) == UNMATCHED
    assert route_of(compiled, "/x", headers=[(b"cookie", b"garbage; beta=1;; =x; sessionid=1")]) == "beta"


# --- the compiled matcher agrees with a naive, linear reference ------------------------------------

SEGMENTS = ["api", "a", "b", "products", "orders", "1", "x"]
METHODS = ["GET", "POST", "DELETE"]


def reference_route(
    rules: tuple[Rule, ...], method: str, path: str, headers: dict[str, str], cookies: dict[str, str]
) -> str:
    """A straightforward first-match scan, written from the documented semantics."""
    for candidate in rules:
        match = candidate.match
        if match.methods is not None and method not in match.methods:
            continue
        if any(headers.get(p.name.lower()) is None for p in match.headers):
            continue
        if any(p.equals is not None and headers.get(p.name.lower()) != p.equals for p in match.headers):
            continue
        if any(
            p.name not in cookies or (p.equals is not None and cookies[p.name] != p.equals)
            for p in match.cookies
        ):
            continue
        if match.kind is MatchKind.EXACT and path != match.path:
            continue
        if match.kind is MatchKind.PATTERN and re.fullmatch(match.path, path) is None:
            continue
        if match.kind is MatchKind.PREFIX:
            base = match.path.rstrip("/")
            if base and path != base and not path.startswith(base + "/"):
                continue
        return candidate.name
    return UNMATCHED


paths = st.lists(st.sampled_from(SEGMENTS), max_size=4).map(lambda parts: "/" + "/".join(parts)) | st.lists(
    st.sampled_from(SEGMENTS), min_size=1, max_size=3
).map(lambda parts: "/" + "/".join(parts) + "/")


@st.composite
def rules_strategy(draw: st.DrawFn) -> tuple[Rule, ...]:
    count = draw(st.integers(min_value=0, max_value=12))
    rules = []
    for index in range(count):
        kind = draw(st.sampled_from(["exact", "prefix", "prefix", "pattern"]))
        path = draw(paths)
        if kind == "pattern":
            path = re.escape(path.rstrip("/") or "/") + draw(st.sampled_from(["", "(/.*)?", "/[0-9]+", "/?"]))
        methods = draw(st.none() | st.sets(st.sampled_from(METHODS), min_size=1).map(frozenset))
        headers = draw(
            st.lists(
                st.builds(
                    Predicate,
                    name=st.sampled_from(["x-beta", "X-App"]),
                    equals=st.sampled_from([None, "1", "2"]),
                ),
                max_size=1,
            )
        )
        cookies = draw(
            st.lists(
                st.builds(
                    Predicate,
                    name=st.sampled_from(["beta", "sessionid"]),
                    equals=st.sampled_from([None, "1"]),
                ),
                max_size=1,
            )
        )
        rules.append(
            rule(
                f"r{index}",
                path,
                kind=kind,
                mode="new",
                methods=methods,
                headers=tuple(headers),
                cookies=tuple(cookies),
            )
        )
    return tuple(rules)


@settings(max_examples=150, deadline=None)
@given(
    rules=rules_strategy(),
    requests=st.lists(
        st.tuples(
            st.sampled_from(METHODS),
            paths,
            st.dictionaries(st.sampled_from(["x-beta", "x-app"]), st.sampled_from(["1", "2"]), max_size=2),
            st.dictionaries(st.sampled_from(["beta", "sessionid"]), st.sampled_from(["1", "2"]), max_size=2),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_compiled_matcher_agrees_with_a_linear_reference(rules, requests) -> None:
    compiled = compile_table(table(*rules))
    for method, path, headers, cookies in requests:
        raw = [(name.encode(), value.encode()) for name, value in headers.items()]
        if cookies:
            raw.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
        assert compiled.decide(method, path, raw).route == reference_route(
            rules, method, path, headers, cookies
        )


def hostile_table() -> RouteTable:
    return RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            rule("cookie-pred", "/a", cookies=(Predicate(name="beta", equals="1"),)),
            rule("header-pred", "/a", headers=(Predicate(name="x-beta"),)),
            Rule(
                name="canary",
                match=RuleMatch(kind="prefix", path="/"),
                action=RuleAction(mode="canary", upstream="catalog", weight=50),
            ),
        ),
    )


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from([*METHODS, "PURGE", ""]),
    path=st.text(max_size=40),
    headers=st.lists(
        st.tuples(
            st.sampled_from([b"cookie", b"x-beta", b"x-strangler-override", b"other"]), st.binary(max_size=60)
        ),
        max_size=6,
    ),
)
def test_decide_never_raises_on_hostile_requests(method: str, path: str, headers) -> None:
    compiled = compile_table(hostile_table(), override_key=b"k")
    decision = compiled.decide(method, path, headers)
    assert decision.route in {"cookie-pred", "header-pred", "canary"}
    assert decision.set_cookie is None or decision.set_cookie.startswith(b"strangler_bucket=")
