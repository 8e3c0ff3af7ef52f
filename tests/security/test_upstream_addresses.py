"""Finding 1 (and the prober's part of 7): the upstream address guard compares addresses, not host
strings, at registration and again at each connection; the health prober never raises."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from strangler_proxy.routes import (
    LEGACY,
    ActionMode,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    Upstream,
    table_problems,
)
from strangler_proxy.store.schema import upstreams
from tests.integration.dataplane.harness import Store, start_dataplane, table
from tests.security.recorder import RecordingUpstream
from tests.unit.controlplane.conftest import Api

OWN_PORT = 8001  # the test control plane's configured port (tests/unit/controlplane/conftest.py)

REFUSED_URLS = [
    # the control plane itself, in every spelling of loopback
    f"http://[::ffff:127.0.0.1]:{OWN_PORT}",
    f"http://127.1:{OWN_PORT}",
    f"http://2130706433:{OWN_PORT}",
    f"http://0x7f.1:{OWN_PORT}",
    f"http://0x7f000001:{OWN_PORT}",
    f"http://0177.0.0.1:{OWN_PORT}",
    f"http://127.0.0.1.:{OWN_PORT}",
    f"http://127.0.0.1:{OWN_PORT}",
    f"http://localhost:{OWN_PORT}",
    f"http://[::1]:{OWN_PORT}",
    # the metadata address, in every spelling
    "http://169.254.169.254:80",
    "http://[::ffff:169.254.169.254]:80",
    "http://[::ffff:a9fe:a9fe]:80",
    "http://2852039166:80",
    "http://0xa9fea9fe:80",
    "http://0251.0376.0251.0376:80",
    "http://169.254.169.254.:80",
    "http://[fd00:ec2::254]:80",
    "http://[fe80::1]:80",
    # this host through the unspecified address, other schemes, credentials
    "http://0.0.0.0:8201",
    "http://0:8201",
    "file:///etc/passwd",
    "http://user:pw@10.0.0.1:80",
]


@pytest.mark.unit
@pytest.mark.parametrize("url", REFUSED_URLS)
def test_upstreams_cannot_point_at_metadata_or_the_control_plane_in_any_spelling(api: Api, url: str) -> None:
    response = api.client.put("/api/v1/upstreams/evil", json={"url": url}, headers=api.headers("admin"))
    assert response.status_code in (400, 422), response.text
    assert all(u.name != "evil" for u in api.services.upstreams.list())


@pytest.mark.unit
def test_loopback_upstreams_stay_allowed_and_are_stored_in_one_spelling(api: Api) -> None:
    """Local services listen on loopback: allowed on purpose, written as the address they name."""
    for name, url in (("one", "http://127.1:8201"), ("two", "http://[::ffff:127.0.0.1]:8202")):
        response = api.client.put(
            f"/api/v1/upstreams/{name}", json={"url": url}, headers=api.headers("admin")
        )
        assert response.status_code == 201, response.text
    stored = {u.name: u.url for u in api.services.upstreams.list()}
    assert stored["one"] == "http://127.0.0.1:8201" and stored["two"] == "http://127.0.0.1:8202"


@pytest.mark.unit
def test_a_table_may_only_name_registered_upstreams_and_never_a_metadata_address() -> None:
    legacy = Upstream(name="legacy", url="http://127.0.0.1:8100")
    registered = {"legacy": legacy, "catalog": Upstream(name="catalog", url="http://127.0.0.1:8201")}
    for evil in ("http://169.254.169.254:80", "http://0xa9fea9fe:80", "http://[::ffff:a9fe:a9fe]:80"):
        table_ = RouteTable(upstreams={"legacy": legacy, "catalog": Upstream(name="catalog", url=evil)})
        assert any("registry" in p for p in table_problems(table_, registered)), evil
        assert any("metadata" in p for p in table_problems(table_)), evil


@pytest.mark.unit
def test_the_prober_reports_a_bad_stored_address_and_the_pages_keep_working(api: Api) -> None:
    """An address stored before the guard knew it (``0177.0.0.1``, the control plane) neither breaks the
    Upstreams page nor /upstreams/health: the probe says why it was not sent."""
    with api.services.engine.begin() as conn:
        conn.execute(
            insert(upstreams).values(
                name="odd", url=f"http://0177.0.0.1:{OWN_PORT}", settings={}, created_at=datetime.now(UTC)
            )
        )
    health = api.get("/upstreams/health")
    assert health.status_code == 200, health.text
    odd = next(u for u in health.json()["upstreams"] if u["name"] == "odd")
    assert odd["healthy"] is False and "control plane itself" in odd["error"]
    page = api.client.get("/upstreams", headers=api.headers("viewer"))
    assert page.status_code == 200 and 'data-upstream="odd"' in page.text


@pytest.mark.unit
def test_the_workers_resolver_drops_refused_addresses_at_connection_time() -> None:
    """A name that resolved elsewhere at registration and now resolves to the control plane (DNS
    rebinding) or the metadata address is refused when a worker connects."""
    from strangler_proxy.dataplane.address_guard import GuardedResolver
    from strangler_proxy.routes.addresses import OwnSockets

    class Rebinding:
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:  # type: ignore[type-arg]
            ips = {"rebound.example": ["127.0.0.1"], "mixed.example": ["169.254.169.254", "10.0.0.9"]}
            return [
                {"hostname": host, "host": ip, "port": port, "family": family, "proto": 0, "flags": 0}
                for ip in ips[host]
            ]

        async def close(self) -> None:
            return None

    resolver = GuardedResolver(OwnSockets((("127.0.0.1", OWN_PORT),)), Rebinding())  # type: ignore[arg-type]
    with pytest.raises(OSError, match="control plane itself"):
        asyncio.run(resolver.resolve("rebound.example", OWN_PORT))
    assert [r["host"] for r in asyncio.run(resolver.resolve("rebound.example", 8201))] == ["127.0.0.1"]
    assert [r["host"] for r in asyncio.run(resolver.resolve("mixed.example", 80))] == ["10.0.0.9"]


@pytest.mark.integration
def test_a_name_that_reaches_the_control_plane_is_refused_when_the_data_plane_connects(
    tmp_path: Path,
) -> None:
    """A table (written to the store directly, past the control plane's registration check) sends
    /api/v1 to ``localhost:<the control plane's port>``: the worker refuses to connect (a GET falls
    back to the legacy, a POST gets 502) and the stand-in control plane never sees a request."""
    legacy, control_plane = RecordingUpstream().start(), RecordingUpstream().start()
    store = Store(tmp_path / "store.sqlite3")
    try:
        evil = Upstream(name="evil", url=f"http://localhost:{control_plane.port}")
        rule = Rule(
            name="admin",
            match=RuleMatch(path="/api/v1"),
            action=RuleAction(mode=ActionMode.NEW, upstream="evil"),
        )
        version = store.publish(table([Upstream(name=LEGACY, url=legacy.url), evil], [rule]))
        dataplane = start_dataplane(
            tmp_path / "home",
            store,
            legacy.url,
            extra_env={"STRANGLER_ADMIN_PORT": str(control_plane.port)},
        )
        try:
            store.wait_applied(version, workers=1)
            with urllib.request.urlopen(dataplane.url + "/api/v1/users", timeout=10) as answer:
                assert answer.headers["x-strangler-target"] == "legacy"  # a GET falls back
            post = urllib.request.Request(dataplane.url + "/api/v1/session", data=b"{}", method="POST")
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(post, timeout=10)
            assert caught.value.code == 502
            assert control_plane.requests == []
        finally:
            dataplane.process.stop()
    finally:
        legacy.stop()
        control_plane.stop()
        store.engine.dispose()
