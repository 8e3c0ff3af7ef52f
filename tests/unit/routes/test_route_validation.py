"""Validation before publish: every problem reported, each one true (checked against the matcher)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.routes import (
    Predicate,
    RouteTable,
    RouteTableInvalid,
    Rule,
    RuleAction,
    RuleMatch,
    Upstream,
    table_problems,
    validate_table,
)

pytestmark = pytest.mark.unit

LEGACY = Upstream(name="legacy", url="http://127.0.0.1:8100")
CATALOG = Upstream(name="catalog", url="http://127.0.0.1:8201")
UPSTREAMS = {"legacy": LEGACY, "catalog": CATALOG}


def rule(
    name: str, path: str = "/a", kind: str = "prefix", action: RuleAction | None = None, **match
) -> Rule:
    return Rule(
        name=name,
        match=RuleMatch(kind=kind, path=path, **match),
        action=action or RuleAction(mode="new", upstream="catalog"),
    )


def test_a_valid_table_is_returned_unchanged() -> None:
    table = RouteTable(upstreams=UPSTREAMS, rules=(rule("a", "/a/b"), rule("b", "/a")))
    assert validate_table(table) is table
    assert table_problems(table, registered=UPSTREAMS) == []


def test_every_problem_is_reported_at_once() -> None:
    table = RouteTable(
        upstreams={"catalog": CATALOG, "orders": Upstream(name="other", url="http://127.0.0.1:8202")},
        rules=(
            rule("a", "/a"),
            rule("a", "/b"),
            rule("c", "/c", action=RuleAction(mode="new")),
            rule("d", "/d", action=RuleAction(mode="new", upstream="legacy")),
            rule("e", "/e", action=RuleAction(mode="canary", upstream="nowhere", weight=5)),
            rule("f", "/f", action=RuleAction(mode="legacy", upstream="catalog")),
            rule("g", "/g", action=RuleAction(mode="new", upstream="catalog", weight=40)),
            rule("h", "(unclosed", kind="pattern"),
            rule("i", "/a/deeper"),
        ),
    )
    with pytest.raises(RouteTableInvalid) as refused:
        validate_table(table)
    problems = refused.value.problems
    expected = [
        "no 'legacy' upstream",
        "upstream key 'orders' differs from its name 'other'",
        "rule 'a': the name is used by an earlier rule",
        "rule 'c': mode new needs an upstream",
        "rule 'd': mode new needs a new upstream, not 'legacy'",
        "rule 'e': upstream 'nowhere' is not in the table's upstreams",
        "rule 'f': mode legacy takes no upstream",
        "rule 'g': weight applies to canary only",
        "rule 'h': pattern '(unclosed' does not compile",
        "rule 'i' can never match: earlier rule 'a'",
    ]
    for text in expected:
        assert any(text in problem for problem in problems), (text, problems)
    assert len(problems) == len(expected)
    assert str(refused.value).startswith("route table refused: ")


def test_upstreams_must_match_the_registry() -> None:
    table = RouteTable(upstreams=UPSTREAMS)
    problems = table_problems(table, registered={"legacy": LEGACY})
    assert problems == ["upstream 'catalog' is not registered"]
    moved = {"legacy": LEGACY, "catalog": Upstream(name="catalog", url="http://127.0.0.1:9999")}
    assert "points at http://127.0.0.1:8201" in table_problems(table, registered=moved)[0]
    same_with_slash = {"legacy": LEGACY, "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201/")}
    assert table_problems(table, registered=same_with_slash) == []


@pytest.mark.parametrize(
    ("earlier", "later", "shadowed"),
    [
        (rule("x", "/api"), rule("y", "/api/products"), True),
        (rule("x", "/api/"), rule("y", "/api"), True),
        (rule("x", "/"), rule("y", "/anything", kind="exact"), True),
        (rule("x", "/api"), rule("y", "/apix"), False),
        (rule("x", "/api/products"), rule("y", "/api"), False),
        (rule("x", "/api", kind="exact"), rule("y", "/api"), False),
        (rule("x", "/api", methods={"GET"}), rule("y", "/api/p"), False),
        (rule("x", "/api"), rule("y", "/api/p", methods={"GET"}), True),
        (rule("x", "/api", headers=(Predicate(name="x-beta"),)), rule("y", "/api/p"), False),
        (rule("x", "/api"), rule("y", "/api/p", cookies=(Predicate(name="beta"),)), True),
        (rule("x", r"/p/\d+", kind="pattern"), rule("y", r"/p/\d+", kind="pattern"), True),
        (rule("x", r"/p/.*", kind="pattern"), rule("y", "/p/1", kind="exact"), False),
    ],
)
def test_rules_an_earlier_rule_covers_are_refused(earlier: Rule, later: Rule, shadowed: bool) -> None:
    problems = table_problems(RouteTable(upstreams=UPSTREAMS, rules=(earlier, later)))
    assert any("can never match" in p for p in problems) is shadowed


def test_earlier_rules_whose_methods_add_up_cover_a_later_rule() -> None:
    """GET on one rule and POST on the next leave nothing of '/api GET POST' for a third rule."""
    table = RouteTable(
        upstreams=UPSTREAMS,
        rules=(
            rule("reads", "/api", methods={"GET"}),
            rule("other", "/elsewhere", methods={"POST"}),
            rule("writes", "/api", methods={"POST", "PUT"}),
            rule("both", "/api/p", methods={"GET", "POST"}),
            rule("any", "/api/p"),
        ),
    )
    problems = table_problems(table)
    assert problems == [
        "rule 'both' can never match: earlier rules 'reads', 'writes' between them already take every "
        "request it would (each takes some of its methods)"
    ]
    compiled = compile_table(table)
    assert {compiled.decide(m, "/api/p", []).route for m in ("GET", "POST")} == {"reads", "writes"}
    assert compiled.decide("DELETE", "/api/p", []).route == "any"


# --- property: whatever the validator calls unreachable, the matcher never reaches -----------------

SEGMENTS = ["api", "p", "1", "x"]
paths = st.lists(st.sampled_from(SEGMENTS), max_size=3).map(lambda parts: "/" + "/".join(parts))
predicates = st.builds(
    Predicate, name=st.sampled_from(["x-beta", "beta"]), equals=st.sampled_from([None, "1"])
)


@st.composite
def random_rules(draw: st.DrawFn) -> tuple[Rule, ...]:
    rules = []
    for index in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["exact", "prefix", "prefix", "pattern"]))
        path = draw(paths)
        if kind == "pattern":
            path = re.escape(path) + draw(st.sampled_from(["", "(/.*)?", "/[0-9]"]))
        rules.append(
            rule(
                f"r{index}",
                path,
                kind=kind,
                methods=draw(st.none() | st.sets(st.sampled_from(["GET", "POST"]), min_size=1)),
                headers=tuple(draw(st.lists(predicates, max_size=1))),
                cookies=tuple(draw(st.lists(predicates, max_size=1))),
            )
        )
    return tuple(rules)


@settings(max_examples=300, deadline=None)
@given(random_rules(), st.data())
def test_rules_reported_unreachable_are_never_chosen(rules: tuple[Rule, ...], data: st.DataObject) -> None:
    table = RouteTable(upstreams=UPSTREAMS, rules=rules)
    problems = table_problems(table)
    assert all("can never match" in p for p in problems), problems
    unreachable = {
        name for name in (r.name for r in rules) if any(f"rule {name!r} can never" in p for p in problems)
    }
    compiled = compile_table(table)
    for candidate in rules:
        if candidate.name not in unreachable:
            continue
        # Build requests that satisfy the unreachable rule itself; an earlier rule must take each of them.
        method = data.draw(st.sampled_from(sorted(candidate.match.methods or {"GET", "POST", "DELETE"})))
        path = candidate.match.path if candidate.match.kind != "pattern" else data.draw(paths)
        if candidate.match.kind == "prefix":
            path = path.rstrip("/") + data.draw(st.sampled_from(["", "/x", "/1/p"]))
        headers = [(p.name.encode(), (p.equals or "1").encode()) for p in candidate.match.headers]
        cookies = "; ".join(f"{p.name}={p.equals or '1'}" for p in candidate.match.cookies)
        if cookies:
            headers.append((b"cookie", cookies.encode()))
        chosen = compiled.decide(method, path or "/", headers).route
        assert chosen != candidate.name
