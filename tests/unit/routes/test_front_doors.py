"""What a front door can serve: the data plane everything, the engine refuses what runs only in Python."""

from __future__ import annotations

import pytest

from strangler_proxy.routes import (
    FaultInjection,
    Predicate,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    Upstream,
    WriteFence,
)
from strangler_proxy.routes.front_doors import front_door_problems

pytestmark = pytest.mark.unit

UPSTREAMS = {
    "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
    "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
}


def table(*rules: Rule) -> RouteTable:
    return RouteTable(upstreams=UPSTREAMS, rules=rules)


def test_shadow_mode_and_faults_are_refused_naming_the_feature_and_the_rule() -> None:
    shadowed = Rule(
        name="products",
        match=RuleMatch(path="/api/products"),
        action=RuleAction(mode="shadow", upstream="catalog"),
    )
    drilled = Rule(name="orders", match=RuleMatch(path="/orders"), fault=FaultInjection(abort_status=503))
    problems = front_door_problems(table(shadowed, drilled), "haproxy")
    assert len(problems) == 2
    assert (
        "rule 'products'" in problems[0]
        and "shadow mode" in problems[0]
        and "Python data plane" in problems[0]
    )
    assert "rule 'orders'" in problems[1] and "fault injection" in problems[1]
    assert front_door_problems(table(shadowed, drilled), "dataplane") == []


def test_names_and_values_the_configuration_cannot_carry_are_refused() -> None:
    odd = Rule(
        name="beta",
        match=RuleMatch(
            path="/beta",
            headers=(Predicate(name="X Beta", equals="1"), Predicate(name="x-ok", equals="a\nb")),
            cookies=(Predicate(name="beta;x"),),
        ),
    )
    problems = front_door_problems(table(odd), "haproxy")
    assert len(problems) == 3
    assert "'X Beta'" in problems[0] and "control characters" in problems[1] and "'beta;x'" in problems[2]


def test_everything_else_is_served_by_the_engine() -> None:
    """Including a handover's write fence: the engine holds writes as the data plane does."""
    rules = (
        Rule(
            name="a",
            match=RuleMatch(kind="exact", path="/a", headers=(Predicate(name="X-Beta", equals='1 "b"'),)),
        ),
        Rule(
            name="b",
            match=RuleMatch(kind="pattern", path=r"/b/\d+"),
            action=RuleAction(mode="new", upstream="catalog"),
            fence=WriteFence(until=1_700_000_000.0, retry_after_s=2),
        ),
        Rule(
            name="c",
            match=RuleMatch(path="/c", cookies=(Predicate(name="beta"),)),
            action=RuleAction(mode="canary", upstream="catalog", weight=30),
        ),
    )
    assert front_door_problems(table(*rules), "haproxy") == []
