"""Canary and tester override end to end, through a real data plane in front of real upstream processes."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_proxy.dataplane.routing import BUCKET_COOKIE, bucket_of, on_new_side
from strangler_proxy.override import sign_override
from strangler_proxy.routes import LEGACY, RouteTable, Rule, RuleAction, RuleMatch, Upstream
from tests.integration.dataplane.harness import (
    DataPlaneProcess,
    Store,
    start_dataplane,
    start_upstream,
    table,
)

pytestmark = pytest.mark.integration

CLIENTS = 40


@dataclass
class Stack:
    dataplane: DataPlaneProcess
    store: Store
    upstreams: list[Upstream]
    override_key: bytes


def routing_table(upstreams: list[Upstream], weight: int) -> RouteTable:
    return table(
        upstreams,
        [
            Rule(
                name="products",
                match=RuleMatch(kind="prefix", path="/echo/canary"),
                action=RuleAction(mode="canary", upstream="catalog", weight=weight),
            ),
            Rule(
                name="moved",
                match=RuleMatch(kind="prefix", path="/echo/moved"),
                action=RuleAction(mode="new", upstream="catalog"),
            ),
            Rule(name="kept", match=RuleMatch(kind="prefix", path="/echo/kept")),
        ],
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("routing-dataplane")
    store = Store(root / "store.sqlite3")
    legacy = start_upstream("legacy", root)
    catalog = start_upstream("catalog", root)
    dataplane = None
    try:
        upstreams = [Upstream(name=LEGACY, url=legacy.url), Upstream(name="catalog", url=catalog.url)]
        version = store.publish(routing_table(upstreams, 50))
        home = root / "home"
        dataplane = start_dataplane(home, store, legacy.url)
        store.wait_applied(version, workers=1)
        key = (home / "secrets" / "override.key").read_text().strip().encode()
        yield Stack(dataplane, store, upstreams, key)
    finally:
        if dataplane is not None:
            dataplane.process.stop()
        catalog.process.stop()
        legacy.process.stop()
        store.engine.dispose()


def get(port: int, target: str, headers: dict[str, str] | None = None) -> tuple[str, list[str], dict]:
    """GET through the proxy: (the upstream that answered, Set-Cookie values, the echoed request)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
        return response.getheader("x-upstream"), cookies, json.loads(body)
    finally:
        connection.close()


def bucket_key(set_cookies: list[str]) -> str:
    [value] = [c for c in set_cookies if c.startswith(f"{BUCKET_COOKIE}=")]
    return value.split(";")[0].split("=", 1)[1]


def test_canary_users_get_a_bucket_cookie_and_stay_on_their_side(stack: Stack) -> None:
    port = stack.dataplane.port
    sides = []
    for client in range(CLIENTS):
        side, set_cookies, _ = get(port, f"/echo/canary/{client}")
        key = bucket_key(set_cookies)
        expected = "catalog" if on_new_side(bucket_of(key), 50) else "legacy"
        assert side == expected
        for again in range(3):
            side_again, more_cookies, _ = get(
                port, f"/echo/canary/{again}", {"cookie": f"{BUCKET_COOKIE}={key}"}
            )
            assert side_again == side and not more_cookies
        sides.append(side)
    assert {"legacy", "catalog"} == set(sides)


def test_the_bucket_cookie_is_secure_when_the_user_came_by_https(stack: Stack, tmp_path: Path) -> None:
    """Behind a trusted TLS-terminating proxy, the bucket cookie must not travel over plain HTTP."""
    behind_tls = start_dataplane(
        tmp_path / "home",
        stack.store,
        stack.upstreams[0].url,
        extra_env={"STRANGLER_TRUSTED_PROXIES": "127.0.0.0/8"},
    )
    try:
        _, over_https, _ = get(behind_tls.port, "/echo/canary/tls", {"x-forwarded-proto": "https"})
        _, over_http, _ = get(behind_tls.port, "/echo/canary/plain", {"x-forwarded-proto": "http"})
    finally:
        behind_tls.process.stop()
    # an untrusted peer's claim changes nothing
    _, claimed, _ = get(stack.dataplane.port, "/echo/canary/claim", {"x-forwarded-proto": "https"})
    attributes = [
        {part.strip().lower() for part in cookie.split(";")[1:]}
        for cookie in (*over_https, *over_http, *claimed)
        if cookie.startswith(f"{BUCKET_COOKIE}=")
    ]
    assert [("secure" in found, "httponly" in found) for found in attributes] == [
        (True, True),
        (False, True),
        (False, True),
    ]


def test_raising_the_weight_live_moves_users_only_towards_new(stack: Stack) -> None:
    port = stack.dataplane.port
    keys = [f"integration-user-{n:06d}" for n in range(CLIENTS)]
    before = [get(port, "/echo/canary", {"cookie": f"{BUCKET_COOKIE}={k}"})[0] for k in keys]
    version = stack.store.publish(routing_table(stack.upstreams, 90))
    stack.store.wait_applied(version, workers=1)
    try:
        after = [get(port, "/echo/canary", {"cookie": f"{BUCKET_COOKIE}={k}"})[0] for k in keys]
    finally:
        restored = stack.store.publish(routing_table(stack.upstreams, 50))
        stack.store.wait_applied(restored, workers=1)
    assert not [k for k, b, a in zip(keys, before, after, strict=True) if b == "catalog" and a == "legacy"]
    assert after.count("catalog") > before.count("catalog")


def test_a_signed_override_forces_the_side_and_never_reaches_the_upstream(stack: Stack) -> None:
    port = stack.dataplane.port
    expires = int(time.time()) + 300
    to_new = sign_override(stack.override_key, "new", expires)
    to_legacy = sign_override(stack.override_key, "legacy", expires)
    for n in range(10):
        side, _, echoed = get(port, f"/echo/canary/{n}", {"x-strangler-override": to_new})
        assert side == "catalog"
        assert not [h for h, _ in echoed["headers"] if h.lower().startswith("x-strangler-")]
    assert get(port, "/echo/moved/x", {"x-strangler-override": to_legacy})[0] == "legacy"
    assert get(port, "/echo/moved/x", {"cookie": f"strangler_override={to_legacy}"})[0] == "legacy"
    assert get(port, "/echo/kept/x", {"x-strangler-override": to_new})[0] == "legacy"


def test_unsigned_tampered_or_expired_overrides_are_ignored(stack: Stack) -> None:
    port = stack.dataplane.port
    now = int(time.time())
    valid = sign_override(stack.override_key, "legacy", now + 300)
    tampered = valid[:-1] + ("A" if valid[-1] != "A" else "B")
    for token in (
        sign_override(stack.override_key, "legacy", now - 1),
        sign_override(b"not-the-control-plane-key", "legacy", now + 300),
        tampered,
        "legacy",
    ):
        assert get(port, "/echo/moved/x", {"x-strangler-override": token})[0] == "catalog"
        assert get(port, "/echo/moved/x", {"cookie": f"strangler_override={token}"})[0] == "catalog"
