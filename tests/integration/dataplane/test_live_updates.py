"""Live route-table updates on a real two-worker data plane: no restart, nothing dropped or mixed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx2
import pytest

from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, Rule, RuleAction, RuleMatch, Upstream
from tests.integration.dataplane.harness import (
    DataPlaneProcess,
    Store,
    UpstreamServer,
    start_dataplane,
    table,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(
    tmp_path, store: Store, legacy: UpstreamServer, new_service: UpstreamServer
) -> Iterator[DataPlaneProcess]:
    dataplane = start_dataplane(tmp_path / "home", store, legacy.url, workers=2)
    yield dataplane
    dataplane.process.stop()


def _table(legacy: UpstreamServer, catalog: UpstreamServer, *, to_new: tuple[str, ...]):
    upstreams = [Upstream(name=LEGACY, url=legacy.url), Upstream(name="catalog", url=catalog.url)]
    rules = [
        Rule(
            name=f"r-{path.strip('/').replace('/', '-')}",
            match=RuleMatch(path=path),
            action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
        )
        for path in to_new
    ]
    return table(upstreams, rules)


def _fresh_get(url: str, **params: str) -> httpx2.Response:
    """One request on a new connection, so the kernel may hand it to either worker."""
    with httpx2.Client(timeout=10) as client:
        return client.get(url, params=params)


def test_every_worker_applies_a_new_version_without_restart(stack, store, legacy, new_service) -> None:
    pids_before = {row["pid"] for row in store.workers()}
    assert len(pids_before) == 2
    v1 = store.publish(_table(legacy, new_service, to_new=("/echo/moved",)))
    store.wait_applied(v1, workers=2)
    answers = [_fresh_get(f"{stack.url}/echo/moved") for _ in range(30)]
    assert {r.json()["upstream"] for r in answers} == {"catalog"}
    assert {r.headers["x-strangler-version"] for r in answers} == {str(v1)}
    assert {r.headers["x-strangler-route"] for r in answers} == {"r-echo-moved"}
    v2 = store.publish(_table(legacy, new_service, to_new=()))
    store.wait_applied(v2, workers=2)
    answers = [_fresh_get(f"{stack.url}/echo/moved") for _ in range(30)]
    assert {r.json()["upstream"] for r in answers} == {"legacy"}
    assert {r.headers["x-strangler-version"] for r in answers} == {str(v2)}
    assert {row["pid"] for row in store.workers()} == pids_before  # no worker restarted


def test_a_request_is_served_entirely_under_the_version_it_started_with(
    stack, store, legacy, new_service
) -> None:
    v1 = store.publish(_table(legacy, new_service, to_new=("/slow",)))
    store.wait_applied(v1, workers=2)
    in_flight: list[httpx2.Response] = []
    thread = threading.Thread(target=lambda: in_flight.append(_fresh_get(f"{stack.url}/slow", ms="1500")))
    thread.start()
    try:
        new_service.wait_in_flight(1)
        v2 = store.publish(_table(legacy, new_service, to_new=()))
        store.wait_applied(v2, workers=2)
        after = _fresh_get(f"{stack.url}/slow", ms="10")
        assert after.json()["upstream"] == "legacy" and after.headers["x-strangler-version"] == str(v2)
    finally:
        thread.join()
    (response,) = in_flight
    assert response.status_code == 200
    assert response.json()["upstream"] == "catalog"
    assert response.headers["x-strangler-version"] == str(v1)


def test_no_request_fails_while_versions_change_under_load(stack, store, legacy, new_service) -> None:
    stop = threading.Event()
    statuses: list[int] = []
    seen: dict[str, int] = {}  # answers per version

    def load() -> None:
        with httpx2.Client(timeout=10) as client:
            while not stop.is_set():
                response = client.get(f"{stack.url}/echo/flip")
                statuses.append(response.status_code)
                version = response.headers["x-strangler-version"]
                expected = "catalog" if int(version) % 2 == 1 else "legacy"
                if response.json()["upstream"] != expected:
                    statuses.append(-1)
                seen[version] = seen.get(version, 0) + 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    versions = []
    try:
        for i in range(8):
            # odd versions send /echo/flip to the new service, even ones to the legacy
            version = store.publish(_table(legacy, new_service, to_new=("/echo/flip",) if i % 2 == 0 else ()))
            assert version % 2 == (1 if i % 2 == 0 else 0)
            versions.append(version)
            store.wait_applied(version, workers=2)
            deadline = time.monotonic() + 10
            while seen.get(str(version), 0) < 5:  # traffic under every version, swaps mid-stream
                assert time.monotonic() < deadline, seen
                time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert set(statuses) == {200}, "a request failed or was answered by the wrong side for its version"
    assert {str(v) for v in versions} <= set(seen)


def test_a_table_that_does_not_compile_is_refused_and_the_old_one_keeps_serving(
    stack, store, legacy, new_service
) -> None:
    good = store.publish(_table(legacy, new_service, to_new=("/echo/kept",)))
    store.wait_applied(good, workers=2)
    broken = _table(legacy, new_service, to_new=()).model_copy(
        update={"rules": (Rule(name="broken", match=RuleMatch(kind=MatchKind.PATTERN, path="/x(")),)}
    )
    bad = store.publish(broken)
    deadline = time.monotonic() + 10
    while stack.process.log().count(f"route table version {bad} refused") < 2:  # both workers
        assert time.monotonic() < deadline, stack.process.log()
        time.sleep(0.02)
    still = _fresh_get(f"{stack.url}/echo/kept")
    assert still.json()["upstream"] == "catalog" and still.headers["x-strangler-version"] == str(good)
    fixed = store.publish(_table(legacy, new_service, to_new=("/echo/fixed",)))
    store.wait_applied(fixed, workers=2)
    response = _fresh_get(f"{stack.url}/echo/fixed")
    assert response.headers["x-strangler-version"] == str(fixed)
    assert response.json()["upstream"] == "catalog"
