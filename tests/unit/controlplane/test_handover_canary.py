"""A canary keeps the legacy the one writer: only the flip to new (and back off new) is a handover.

``legacy -> canary`` moves no writes (the canary's weight splits reads only), so it neither fences nor
waits for a backlog; ``canary -> new`` hands the writes to the service and ``new -> canary`` hands them
back to the legacy, each fenced and waiting for the old owner's outbound sync like any handover. The
sides' databases are the real sync tables in SQLite files (see ``test_handover``).
"""

from __future__ import annotations

import threading
import time

import pytest

from strangler_proxy.controlplane.service_layer.handover import write_moves
from strangler_proxy.routes import RouteTable
from tests.unit.controlplane import test_handover as handover
from tests.unit.controlplane.conftest import Api
from tests.unit.controlplane.test_handover import (
    WRITES_RULE,
    Sides,
    _active,
    _audit,
    _on_new,
    _register_and_add,
)

# the sides' databases and the control plane built on them, as test_handover makes them
sides = handover.sides
live_settings = handover.live_settings
settings = handover.settings
services = handover.services

pytestmark = pytest.mark.unit

CANARY = {"mode": "canary", "upstream": "catalog", "weight": 50}


def _flip(api: Api, body: dict) -> tuple[int, float, dict]:
    started = time.monotonic()
    response = api.post("/routes/catalog/flip", {"reason": "test", **body})
    return response.status_code, time.monotonic() - started, response.json()


def test_legacy_to_canary_neither_fences_nor_waits_for_the_forward_backlog(api: Api, sides: Sides) -> None:
    _register_and_add(api, WRITES_RULE)
    for _ in range(3):
        sides.legacy_event()  # the catalog has not taken them: they stay pending
    status, took, body = _flip(api, {**CANARY, "drain_timeout_s": 2})
    assert status == 200, body
    assert took < 1.5  # no wait: the legacy keeps every write
    rule = _active(api)["table"]["rules"][0]
    assert rule["action"]["mode"] == "canary" and rule.get("fence") is None
    assert _audit(api, "handover.fence") == []
    assert "handover" not in (_audit(api, "flip")[0]["evidence"] or {})


def test_canary_to_new_is_the_handover_fenced_until_the_forward_backlog_is_taken(
    api: Api, sides: Sides
) -> None:
    _register_and_add(api, WRITES_RULE)
    assert _flip(api, CANARY)[0] == 200
    pending = [sides.legacy_event() for _ in range(3)]
    taking = threading.Timer(0.4, sides.consumer_took, args=pending)
    taking.start()
    try:
        status, took, body = _flip(api, {"mode": "new", "upstream": "catalog", "drain_timeout_s": 5})
    finally:
        taking.join()
    assert status == 200, body
    assert took >= 0.4  # not before the catalog had the monolith's last writes
    assert [e["outcome"] for e in _audit(api, "handover.fence")] == ["ok"]
    evidence = _audit(api, "flip")[0]["evidence"]
    assert evidence["handover"]["moves"] == [{"route": "catalog", "from": "legacy", "to": "catalog"}]
    assert evidence["forward_sync_backlog"] == 0


def test_new_to_canary_hands_the_writes_back_and_waits_for_the_reverse_backlog(
    api: Api, sides: Sides
) -> None:
    version = _on_new(api, sides)
    event = sides.catalog_event()
    status, _, body = _flip(api, {**CANARY, "drain_timeout_s": 0.2})
    assert status == 409, body
    assert body["backlogs"] == {"reverse": 1}
    assert _active(api)["version"] == version  # still new: the service keeps its writes
    sides.monolith_applied(event)
    status, _, body = _flip(api, {**CANARY, "drain_timeout_s": 1})
    assert status == 200, body
    assert _audit(api, "flip")[0]["evidence"]["handover"]["moves"] == [
        {"route": "catalog", "from": "catalog", "to": "legacy"}
    ]


def test_write_moves_of_a_canary() -> None:
    def table(mode: str, upstream: str | None = "a") -> RouteTable:
        rule = {"name": "w", "match": {"kind": "prefix", "path": "/w"}, "action": {"mode": mode}}
        rule["action"]["upstream"] = None if mode == "legacy" else upstream  # type: ignore[index]
        upstreams = {name: {"name": name, "url": "http://127.0.0.1:1"} for name in ("legacy", "a")}
        return RouteTable.model_validate({"upstreams": upstreams, "rules": [rule]})

    def moves(before: str, after: str) -> list[tuple[str, str]]:
        return [(m.source, m.destination) for m in write_moves(table(before), table(after))]

    assert moves("legacy", "canary") == moves("shadow", "canary") == moves("canary", "legacy") == []
    assert moves("canary", "new") == [("legacy", "a")]
    assert moves("new", "canary") == [("a", "legacy")]
