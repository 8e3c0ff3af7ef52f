"""The store agent answers its workers from what it last read of the store, and passes a store it
cannot reach on to them as an error (they keep serving and say so)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from strangler_proxy.dataplane.store_agent import StoreAgent
from strangler_proxy.routes import LEGACY, RouteTable, Upstream
from strangler_proxy.store.pointer import ActivePointer

TABLE = RouteTable(upstreams={LEGACY: Upstream(name=LEGACY, url="http://127.0.0.1:8100")})


class FakeStore:
    def __init__(self) -> None:
        self.generation = 3
        self.down = False
        self.loads = 0
        self.heartbeats: list[tuple] = []

    def pointer(self) -> ActivePointer:
        if self.down:
            raise ConnectionError("connection refused")
        return ActivePointer(7, self.generation, datetime(2026, 12, 4, tzinfo=UTC), 6)

    def load(self, version_id: int) -> RouteTable:
        self.loads += 1
        return TABLE.with_version(version_id)

    def heartbeat(self, worker, pid, *, version_id, generation, applied_at) -> None:
        self.heartbeats.append((worker, pid, version_id, generation, applied_at))


def test_polls_are_answered_from_memory_and_the_document_read_once_per_generation() -> None:
    store = FakeStore()
    agent = StoreAgent(store, poll_interval_s=0.05)  # type: ignore[arg-type]
    agent.refresh()
    found = agent.answer({"op": "poll", "known": None})["found"]
    assert (found["version_id"], found["generation"]) == (7, 3)
    assert RouteTable.from_json(found["document"]).upstreams[LEGACY].url == "http://127.0.0.1:8100"
    assert agent.answer({"op": "poll", "known": 3}) == {"ok": True, "found": None}
    agent.refresh()
    assert store.loads == 1  # the same generation: the document is not read again
    store.generation = 4
    agent.refresh()
    assert agent.answer({"op": "poll", "known": 3})["found"]["generation"] == 4 and store.loads == 2


def test_a_store_the_agent_cannot_reach_is_an_error_for_every_poll() -> None:
    store = FakeStore()
    agent = StoreAgent(store, poll_interval_s=0.05)  # type: ignore[arg-type]
    agent.refresh()
    store.down = True
    agent.refresh()
    with pytest.raises(ConnectionError, match="connection refused"):
        agent.answer({"op": "poll", "known": 3})
    store.down = False
    agent.refresh()
    assert agent.answer({"op": "poll", "known": 3}) == {"ok": True, "found": None}


def test_heartbeats_pass_through_with_their_times() -> None:
    store = FakeStore()
    agent = StoreAgent(store, poll_interval_s=0.05)  # type: ignore[arg-type]
    applied = datetime(2026, 12, 4, 12, 3, 7, tzinfo=UTC)
    request = {"op": "heartbeat", "worker": "h:1", "pid": 1, "version_id": 7, "generation": 3}
    agent.answer({**request, "applied_at": applied.isoformat()})
    assert store.heartbeats == [("h:1", 1, 7, 3, applied)]
    with pytest.raises(ValueError, match="unknown store agent operation"):
        agent.answer({"op": "drop tables"})


def test_a_watch_returns_as_soon_as_the_generation_moves() -> None:
    store = FakeStore()
    agent = StoreAgent(store, poll_interval_s=0.05)  # type: ignore[arg-type]
    agent.refresh()
    assert agent.watch(None, 5.0) == 3  # nothing seen yet: at once
    assert agent.watch(3, 0.05) == 3  # unchanged: after the timeout
    answers: list[int | None] = []
    waiter = threading.Thread(target=lambda: answers.append(agent.watch(3, 10.0)))
    waiter.start()
    store.generation = 4
    agent.refresh()
    waiter.join(5.0)
    assert answers == [4]
