"""The HAProxy engine's own promises: publishes applied hitlessly and verified, refusals that keep the
old version serving, figures for the guards, the identity sidecar, restarts and clean stops."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import select

from strangler_proxy.identity_token import verify_identity
from strangler_proxy.override import sign_override
from strangler_proxy.routes import LEGACY, RouteTable, Rule, RuleAction, RuleMatch, Upstream
from strangler_proxy.secrets import load_or_create_secret
from strangler_proxy.store.schema import route_stats
from tests.integration.dataplane.harness import Store, UpstreamServer
from tests.integration.engines.harness import EngineProcess, start_engine
from tests.support.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("haproxy-engine")]


def products(
    legacy: UpstreamServer, catalog_url: str, mode: str, *, path: str = "/echo/products"
) -> RouteTable:
    action = RuleAction(mode=mode, upstream=None if mode == "legacy" else "catalog")
    return RouteTable(
        upstreams={
            LEGACY: Upstream(name=LEGACY, url=legacy.url),
            "catalog": Upstream(name="catalog", url=catalog_url),
        },
        rules=(Rule(name="products", match=RuleMatch(path=path), action=action),),
    )


@pytest.fixture
def engine(
    tmp_path, store: Store, legacy: UpstreamServer, new_service: UpstreamServer
) -> Iterator[EngineProcess]:
    store.publish(products(legacy, new_service.url, "legacy"))
    running = start_engine(
        tmp_path / "home",
        store,
        legacy.url,
        extra_env={"STRANGLER_LEGACY_INTERNAL_TOKEN": "test-internal-token"},
    )
    yield running
    running.process.stop()


def side(engine: EngineProcess, path: str = "/echo/products/1", **headers: str) -> str:
    with httpx2.Client(base_url=engine.url, timeout=10) as client:
        return client.get(path, headers=headers).headers["x-upstream"]


def test_a_flip_is_a_map_commit_verified_before_it_is_recorded(engine, store, legacy, new_service) -> None:
    store.wait_applied(store.publish(products(legacy, new_service.url, "new")), workers=1)
    worker = engine.status()["worker_pid"]
    for mode in ("legacy", "new", "legacy", "new"):
        version = store.publish(products(legacy, new_service.url, mode))
        store.wait_applied(version, workers=1)
        status = engine.status()
        assert (status["version"], status["worker_pid"]) == (version, worker)  # no reload
        assert side(engine) == ("catalog" if mode == "new" else "legacy")
    [row] = store.workers()
    assert row["worker"].startswith("haproxy@") and row["generation"] == engine.status()["generation"]


def test_a_changed_match_reloads_haproxy_seamlessly(engine, store, legacy, new_service) -> None:
    store.wait_applied(store.publish(products(legacy, new_service.url, "new")), workers=1)
    before = engine.status()["worker_pid"]
    version = store.publish(products(legacy, new_service.url, "new", path="/echo/items"))
    store.wait_applied(version, workers=1)
    assert engine.status()["worker_pid"] != before
    assert (side(engine, "/echo/items/1"), side(engine, "/echo/products/1")) == ("catalog", "legacy")


def test_a_table_haproxy_refuses_leaves_the_old_version_serving(engine, store, legacy, new_service) -> None:
    serving = store.publish(products(legacy, new_service.url, "new"))
    store.wait_applied(serving, workers=1)
    refused = products(legacy, new_service.url, "new").model_copy(
        update={"rules": (Rule(name="cafe", match=RuleMatch(kind="pattern", path=r"/caf\u00e9")),)}
    )
    store.publish(refused)  # Python's re takes \u00e9; HAProxy's PCRE2 does not
    deadline = time.monotonic() + 20
    while "refused by haproxy" not in engine.process.log():
        assert time.monotonic() < deadline, engine.process.log()[-2000:]
        time.sleep(0.05)
    assert engine.status()["version"] == serving
    assert [row["version_id"] for row in store.workers()] == [serving]
    assert side(engine) == "catalog"


def test_per_route_figures_reach_the_store_for_the_guards(engine, store, legacy, tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store.wait_applied(store.publish(products(legacy, dead, "new")), workers=1)
    for _ in range(5):
        assert side(engine) == "legacy"  # GET falls back from the dead new upstream
    with httpx2.Client(base_url=engine.url) as client:
        assert client.post("/echo/products/1", content=b"x").status_code >= 500
    deadline = time.monotonic() + 10
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(select(route_stats).where(route_stats.c.route == "products")).all()
        counts = {
            target: (
                sum(r.requests for r in rows if r.target == target),
                sum(r.status_5xx for r in rows if r.target == target),
            )
            for target in ("new", "legacy")
        }
        if counts == {"new": (6, 6), "legacy": (5, 0)} or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert counts == {"new": (6, 6), "legacy": (5, 0)}
    assert {row.worker for row in rows} == {store.workers()[0]["worker"]}


def test_the_identity_sidecar_signs_the_session_for_the_new_side_only(
    engine, store, legacy, new_service
) -> None:
    store.wait_applied(store.publish(products(legacy, new_service.url, "new")), workers=1)
    key = load_or_create_secret(engine.home / "secrets" / "identity.key")
    with httpx2.Client(base_url=engine.url) as client:

        def identities(path: str, cookie: str, **extra: str) -> list[str]:
            document = client.get(path, headers={"cookie": cookie, **extra}).json()
            return [v for k, v in document["headers"] if k.lower() == "x-strangler-identity"]

        [signed] = identities("/echo/products/1", "csrftoken=x; sessionid=good-session")
        assert verify_identity(key, signed, time.time())["sub"] == "7"
        assert identities("/echo/products/1", "sessionid=nobody") == []
        assert identities("/echo/products/1", "sessionid=nobody", **{"X-Strangler-Identity": "forged"}) == []
        assert identities("/echo/other", "sessionid=good-session") == []  # the legacy side gets none
    assert legacy.counters()["resolved"] == 2  # each session asked once, then cached


def test_prometheus_figures_per_backend_on_the_loopback_status_port(engine) -> None:
    side(engine)
    with urllib.request.urlopen(f"http://127.0.0.1:{engine.status_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'haproxy_backend_http_responses_total{proxy="up_legacy",code="2xx"}' in text


def test_haproxy_killed_is_started_again_on_the_served_version(engine, store, legacy, new_service) -> None:
    version = store.publish(products(legacy, new_service.url, "new"))
    store.wait_applied(version, workers=1)
    os.kill(engine.status()["worker_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if engine.status()["version"] == version and side(engine) == "catalog":
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, engine.process.log()[-2000:]
        time.sleep(0.1)


def test_a_stop_finishes_the_requests_in_flight_and_forgets_the_engine(engine, store, legacy) -> None:
    answers: list[int] = []

    def slow() -> None:
        with httpx2.Client(base_url=engine.url, timeout=20) as client:
            answers.append(client.get("/slow", params={"ms": "1500"}).status_code)

    thread = threading.Thread(target=slow)
    thread.start()
    legacy.wait_in_flight(1)
    engine.process.stop(timeout=20)
    thread.join()
    assert answers == [200]
    assert store.workers() == []


def test_two_engines_on_one_store_serve_every_publish_and_add_up_their_figures(
    tmp_path, store, legacy, new_service
) -> None:
    """Two hosts' engines (two homes, the same store and the same keys): both serve each version, and
    the figures the guards read add up both."""
    version = store.publish(products(legacy, new_service.url, "legacy"))
    engines = []
    try:
        for name in ("host-a", "host-b"):
            home = tmp_path / name
            if engines:  # one set of keys for the fleet: the second host gets the first one's
                shutil.copytree(engines[0].home / "secrets", home / "secrets")
            engines.append(start_engine(home, store, legacy.url))
        store.wait_applied(version, workers=2)
        version = store.publish(products(legacy, new_service.url, "new"))
        store.wait_applied(version, workers=2)
        for engine in engines:
            for _ in range(3):
                assert side(engine) == "catalog"
        token = sign_override(
            load_or_create_secret(engines[0].home / "secrets" / "override.key").encode(),
            "legacy",
            int(time.time()) + 60,
        )
        assert side(engines[1], **{"x-strangler-override": token}) == "legacy"
        deadline = time.monotonic() + 10
        while True:
            with store.engine.connect() as conn:
                rows = conn.execute(
                    select(route_stats).where(
                        route_stats.c.route == "products", route_stats.c.target == "new"
                    )
                ).all()
            if sum(r.requests for r in rows) >= 6 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sum(r.requests for r in rows) == 6
        assert len({r.worker for r in rows}) == 2
    finally:
        for engine in engines:
            engine.process.stop()


@pytest.mark.parametrize("window_open", [True, False], ids=["in-the-window", "after-the-window"])
def test_an_override_signed_with_the_previous_key_counts_only_during_the_rotation_window(
    tmp_path, store: Store, legacy: UpstreamServer, new_service: UpstreamServer, window_open: bool
) -> None:
    """While the override key is rotated, testers' tokens made with the old key keep working until the
    overlap window ends, as on the data plane; a key that is neither is never honoured."""
    store.publish(products(legacy, new_service.url, "new"))
    until = time.time() + (3600 if window_open else -60)
    running = start_engine(
        tmp_path / "home",
        store,
        legacy.url,
        extra_env={
            "STRANGLER_OVERRIDE_KEY": "the-new-override-key",
            "STRANGLER_OVERRIDE_KEY_PREVIOUS": "the-old-override-key",
            "STRANGLER_OVERRIDE_KEY_PREVIOUS_UNTIL": f"{until:.0f}",
        },
    )
    try:
        expires = time.time() + 300
        current = sign_override(b"the-new-override-key", "legacy", expires)
        old = sign_override(b"the-old-override-key", "legacy", expires)
        stranger = sign_override(b"another-key-entirely", "legacy", expires)
        assert side(running, **{"x-strangler-override": current}) == "legacy"
        assert side(running, **{"x-strangler-override": old}) == ("legacy" if window_open else "catalog")
        assert side(running, **{"x-strangler-override": stranger}) == "catalog"
        assert side(running) == "catalog"
    finally:
        running.process.stop()
