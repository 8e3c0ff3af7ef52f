"""Shadow rules in routing: the legacy answers, a sampled share is mirrored, unsafe methods opt in."""

from __future__ import annotations

import itertools

import pytest

from strangler_proxy.dataplane.routing import Target, compile_table
from strangler_proxy.routes import RouteTable, Rule, RuleAction, RuleMatch, ShadowSettings, Upstream

pytestmark = pytest.mark.unit


def shadow_table(**shadow: object) -> RouteTable:
    return RouteTable(
        upstreams={
            "legacy": Upstream(name="legacy", url="http://127.0.0.1:8100"),
            "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201"),
        },
        rules=(
            Rule(
                name="products",
                match=RuleMatch(kind="prefix", path="/api/products"),
                action=RuleAction(mode="shadow", upstream="catalog", shadow=ShadowSettings(**shadow)),
            ),
        ),
    )


def test_the_legacy_answers_and_the_new_upstream_is_mirrored() -> None:
    decision = compile_table(shadow_table()).decide("GET", "/api/products/1", [])
    assert (decision.route, decision.target, decision.upstream) == ("products", Target.LEGACY, "legacy")
    assert decision.shadow_upstream == "catalog"
    assert decision.rule.action.shadow.max_concurrency == 64


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_are_mirrored_only_when_the_rule_opts_in(method: str) -> None:
    assert compile_table(shadow_table()).decide(method, "/api/products", []).shadow_upstream is None
    opted_in = compile_table(shadow_table(mirror_unsafe_methods=True)).decide(method, "/api/products", [])
    assert opted_in.shadow_upstream == "catalog" and opted_in.target is Target.LEGACY


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_always_eligible(method: str) -> None:
    assert compile_table(shadow_table()).decide(method, "/api/products", []).shadow_upstream == "catalog"


def test_sampling_marks_the_configured_share() -> None:
    # A deterministic, evenly spread sequence of draws in [0, 1): exactly 25 of every 100 fall under 0.25.
    draws = itertools.cycle([i / 100 for i in range(100)])
    compiled = compile_table(shadow_table(sample_percent=25), rng=lambda: next(draws))
    mirrored = sum(
        compiled.decide("GET", "/api/products", []).shadow_upstream is not None for _ in range(1000)
    )
    assert mirrored == 250


def test_sampling_with_the_real_generator_is_close_to_the_share() -> None:
    compiled = compile_table(shadow_table(sample_percent=10))
    mirrored = sum(
        compiled.decide("GET", "/api/products", []).shadow_upstream is not None for _ in range(20_000)
    )
    # Binomial(20000, 0.1): standard deviation 42; 10 deviations is out of reach of chance.
    assert abs(mirrored - 2000) < 420


def test_zero_percent_never_mirrors() -> None:
    compiled = compile_table(shadow_table(sample_percent=0), rng=lambda: 0.0)
    assert compiled.decide("GET", "/api/products", []).shadow_upstream is None
