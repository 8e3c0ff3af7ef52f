"""Routing conformance: the data plane and the HAProxy engine route every request the same way.

Matches (prefix by whole segments, exact, regular expression, methods, headers, cookies, first match
wins), signed tester overrides, the legacy catch-all, fallback to the legacy on a dead new upstream
for safe methods only, and rollback to a published version.
"""

from __future__ import annotations

import time

import pytest

from strangler_proxy.override import sign_override
from strangler_proxy.routes import Predicate, Rule, RuleAction, RuleMatch
from tests.conformance.conftest import FrontDoor

pytestmark = pytest.mark.integration

NEW = RuleAction(mode="new", upstream="catalog")


def rule(name: str, path: str, *, kind: str = "prefix", action: RuleAction = NEW, **match: object) -> Rule:
    return Rule(name=name, match=RuleMatch(kind=kind, path=path, **match), action=action)


def sides(door: FrontDoor, *targets: str, **headers: str) -> list[str | None]:
    return [door.get(target, headers).upstream for target in targets]


def test_prefix_rules_match_whole_segments(door: FrontDoor) -> None:
    door.publish([rule("products", "/echo/products")])
    assert sides(door, "/echo/products", "/echo/products/", "/echo/products/42?x=1") == ["catalog"] * 3
    assert sides(door, "/echo/productsx", "/echo/product", "/echo") == ["legacy"] * 3


def test_exact_rules_match_only_their_path(door: FrontDoor) -> None:
    door.publish([rule("about", "/echo/about", kind="exact")])
    assert sides(door, "/echo/about", "/echo/about?q=1") == ["catalog", "catalog"]
    assert sides(door, "/echo/about/", "/echo/about/team") == ["legacy", "legacy"]


def test_pattern_rules_match_the_whole_decoded_path(door: FrontDoor) -> None:
    door.publish([rule("items", r"/echo/orders/\d+/items", kind="pattern")])
    assert sides(door, "/echo/orders/12/items", "/echo/orders/%31%32/items") == ["catalog", "catalog"]
    assert sides(door, "/echo/orders/x/items", "/echo/orders/12/items/more") == ["legacy", "legacy"]


def test_methods_headers_and_cookies_narrow_a_rule(door: FrontDoor) -> None:
    door.publish(
        [
            rule("writes", "/echo/cart", methods={"POST"}),
            rule("beta", "/echo/beta", headers=(Predicate(name="X-Beta", equals='yes "please"'),)),
            rule("flagged", "/echo/flag", headers=(Predicate(name="X-Flag"),)),
            rule("cookie", "/echo/cookie", cookies=(Predicate(name="beta", equals="1"),)),
        ]
    )
    assert door.request("POST", "/echo/cart", body=b"{}").upstream == "catalog"
    assert door.get("/echo/cart").upstream == "legacy"
    assert door.get("/echo/beta", {"X-Beta": 'yes "please"'}).upstream == "catalog"
    assert door.get("/echo/beta", {"X-Beta": "no"}).upstream == "legacy"
    assert door.get("/echo/flag", {"X-Flag": ""}).upstream == "catalog"
    assert door.get("/echo/flag").upstream == "legacy"
    assert door.get("/echo/cookie", {"Cookie": "a=b; beta=1"}).upstream == "catalog"
    assert door.get("/echo/cookie", {"Cookie": "beta=2"}).upstream == "legacy"


def test_the_first_matching_rule_wins(door: FrontDoor) -> None:
    door.publish(
        [
            rule("beta-api", "/echo/api", headers=(Predicate(name="X-Beta", equals="1"),)),
            rule("api", "/echo/api", action=RuleAction(mode="legacy")),
            rule("api-items", "/echo/api/items"),
        ]
    )
    assert door.get("/echo/api/items", {"X-Beta": "1"}).upstream == "catalog"
    assert door.get("/echo/api/items").upstream == "legacy"  # "api" comes first and takes it


def test_unmatched_requests_and_legacy_rules_go_to_the_legacy(door: FrontDoor) -> None:
    door.publish([rule("kept", "/echo/kept", action=RuleAction(mode="legacy")), rule("moved", "/echo/moved")])
    assert sides(door, "/echo/anything", "/echo/kept/1", "/echo") == ["legacy"] * 3
    assert door.request("DELETE", "/echo/else").upstream == "legacy"


def test_paths_the_two_sides_could_read_differently_are_refused(door: FrontDoor) -> None:
    door.publish([rule("moved", "/echo/moved")])
    for target in (
        "/echo/moved/../admin",
        "/echo/moved/%2e%2e/admin",
        "/echo/moved%5cadmin",
        "/echo/a%2F%2Fb",
    ):
        assert door.get(target).status == 400, target
    assert door.get("/echo//moved//x").upstream == "catalog"  # repeated slashes merge


def test_a_signed_override_forces_its_side_and_never_reaches_the_upstream(door: FrontDoor) -> None:
    door.publish([rule("moved", "/echo/moved"), rule("kept", "/echo/kept", action=RuleAction(mode="legacy"))])
    expires = int(time.time()) + 300
    to_legacy = sign_override(door.override_key, "legacy", expires)
    to_new = sign_override(door.override_key, "new", expires)
    answer = door.get("/echo/moved/x", {"x-strangler-override": to_legacy})
    assert answer.upstream == "legacy"
    assert not [name for name, _ in answer.json()["headers"] if name.lower().startswith("x-strangler-")]
    assert door.get("/echo/moved/x", {"Cookie": f"strangler_override={to_legacy}"}).upstream == "legacy"
    assert door.get("/echo/kept/x", {"x-strangler-override": to_new}).upstream == "legacy"


def test_unsigned_tampered_or_expired_overrides_are_ignored(door: FrontDoor) -> None:
    door.publish([rule("moved", "/echo/moved")])
    now = int(time.time())
    valid = sign_override(door.override_key, "legacy", now + 300)
    for token in (
        sign_override(door.override_key, "legacy", now - 1),
        sign_override(b"another-key-entirely", "legacy", now + 300),
        valid[:-1] + ("A" if valid[-1] != "A" else "B"),
        "legacy",
    ):
        assert door.get("/echo/moved/x", {"x-strangler-override": token}).upstream == "catalog"
        assert door.get("/echo/moved/x", {"Cookie": f"strangler_override={token}"}).upstream == "catalog"


def test_safe_methods_fall_back_to_the_legacy_when_the_new_upstream_is_dead(door: FrontDoor) -> None:
    door.publish([rule("moved", "/echo/moved")], dead=True)
    legacy_before = door.legacy.counters()["requests"]
    assert door.get("/echo/moved/1").upstream == "legacy"
    assert door.request("HEAD", "/echo/moved/1").status == 200
    posted = door.request("POST", "/echo/moved/1", {"Content-Type": "application/json"}, b'{"n": 1}')
    assert posted.status >= 500 and posted.upstream is None
    # the GET and the HEAD reached the legacy once each, the POST never did (the probe is the third)
    assert door.legacy.counters()["requests"] - legacy_before == 3


def test_a_5xx_of_the_new_upstream_is_answered_by_the_legacy_for_a_get(door: FrontDoor) -> None:
    door.publish([rule("moved", "/status")])
    assert door.get("/status/503").upstream == "legacy"
    assert door.get("/status/404").upstream == "catalog"
    door.publish(
        [rule("moved", "/status", action=RuleAction(mode="new", upstream="catalog", fallback="none"))]
    )
    assert (door.get("/status/503").status, door.get("/status/503").upstream) == (503, "catalog")


def test_rollback_to_a_published_version_is_served_again(door: FrontDoor) -> None:
    moved = door.publish([rule("moved", "/echo/moved")])
    door.publish([rule("moved", "/echo/moved", action=RuleAction(mode="legacy"))])
    assert door.get("/echo/moved/1").upstream == "legacy"
    door.store.reactivate(moved)
    door.store.wait_applied(moved, workers=1)
    assert door.get("/echo/moved/1").upstream == "catalog"


def test_forwarded_request_headers_are_the_front_doors_own(door: FrontDoor) -> None:
    door.publish([rule("moved", "/echo/moved")])
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    sent = {
        "X-Forwarded-For": "6.6.6.6",
        "X-Real-IP": "6.6.6.6",
        "X-Strangler-Identity": "forged",
        "X-Request-Id": "client-request-0001",
        "traceparent": trace,
    }
    echoed = {name.lower(): value for name, value in door.get("/echo/moved/h", sent).json()["headers"]}
    assert echoed["x-forwarded-for"] == "127.0.0.1" and "x-real-ip" not in echoed
    assert "x-strangler-identity" not in echoed
    assert (echoed["x-request-id"], echoed["traceparent"]) == ("client-request-0001", trace)
    started = {
        name.lower(): value
        for name, value in door.get("/echo/moved/h", {"traceparent": "bad"}).json()["headers"]
    }
    assert started["traceparent"] != "bad" and len(started["traceparent"]) == 55
    assert len(started["x-request-id"]) >= 8
