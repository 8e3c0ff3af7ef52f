"""A handover's write fence, served alike by both front doors: while it holds, the route's unsafe methods
get 503 with ``Retry-After`` and reach no upstream; its reads, and every other route, pass; a fence whose
end has passed holds nothing (the bound that protects a route whose control plane never lifted it)."""

from __future__ import annotations

import time

import pytest

from strangler_proxy.routes import Rule, RuleAction, RuleMatch, WriteFence
from tests.conformance.conftest import FrontDoor

pytestmark = pytest.mark.integration


def _rules(fence: WriteFence | None) -> list[Rule]:
    new = RuleAction(mode="new", upstream="catalog")
    return [
        Rule(name="fenced", match=RuleMatch(path="/echo/fenced"), action=new, fence=fence),
        Rule(name="open", match=RuleMatch(path="/echo/open"), action=new),
    ]


def test_a_fenced_route_holds_its_writes_and_serves_its_reads(door: FrontDoor) -> None:
    door.publish(_rules(WriteFence(until=time.time() + 300, retry_after_s=2)))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        held = door.request(method, "/echo/fenced/7", {"Content-Type": "application/json"}, b'{"delta": 1}')
        assert held.status == 503, (door.kind, method, held.body)
        assert held.upstream is None, "a held write reaches no upstream"
        assert held.header("retry-after") == "2"
        assert held.json()["error"] == "writes_fenced"
        assert "'fenced'" in held.json()["detail"] and "retry in 2 s" in held.json()["detail"]
        assert held.header("x-request-id") == held.json()["request_id"]
    for method in ("GET", "HEAD", "OPTIONS"):
        read = door.request(method, "/echo/fenced/7")
        assert read.status == 200 and read.upstream == "catalog", (door.kind, method)
    other = door.request("POST", "/echo/open/7", body=b"x")
    assert other.status == 200 and other.upstream == "catalog", "only the fenced route holds writes"


def test_a_fence_past_its_end_holds_nothing_and_a_lifted_one_neither(door: FrontDoor) -> None:
    door.publish(_rules(WriteFence(until=time.time() - 2, retry_after_s=2)))
    past = door.request("POST", "/echo/fenced/7", body=b"x")
    assert past.status == 200 and past.upstream == "catalog", (door.kind, past.body)
    door.publish(_rules(WriteFence(until=time.time() + 300, retry_after_s=2)))
    assert door.request("POST", "/echo/fenced/7", body=b"x").status == 503
    door.publish(_rules(None))
    lifted = door.request("POST", "/echo/fenced/7", body=b"x")
    assert lifted.status == 200 and lifted.upstream == "catalog"
