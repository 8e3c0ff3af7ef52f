"""The customer's identity reaches a new service signed by the proxy, and only that way."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import pytest

from strangler_proxy.identity_token import verify_identity
from strangler_proxy.routes import LEGACY, ActionMode, Rule, RuleAction, RuleMatch, Upstream
from strangler_proxy.secrets import load_or_create_secret
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
    version = store.publish(
        table(
            [Upstream(name=LEGACY, url=legacy.url), Upstream(name="catalog", url=new_service.url)],
            [
                Rule(
                    name="mine",
                    match=RuleMatch(path="/echo/mine"),
                    action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
                )
            ],
        )
    )
    dataplane = start_dataplane(
        tmp_path / "home",
        store,
        legacy.url,
        extra_env={"STRANGLER_LEGACY_INTERNAL_TOKEN": "test-internal-token"},
    )
    store.wait_applied(version, workers=1)
    yield dataplane
    dataplane.process.stop()


def _identity(document: dict) -> list[str]:
    return [v for k, v in document["headers"] if k.lower() == "x-strangler-identity"]


def test_a_session_becomes_a_signed_identity_for_the_new_service(stack, legacy) -> None:
    key = load_or_create_secret(stack.home / "secrets" / "identity.key")
    with httpx2.Client(base_url=stack.url) as client:
        first = client.get("/echo/mine", headers={"cookie": "csrftoken=x; sessionid=good-session"}).json()
        again = client.get("/echo/mine", headers={"cookie": "sessionid=good-session"}).json()
        to_legacy = client.get("/echo/other", headers={"cookie": "sessionid=good-session"}).json()
    (token,) = _identity(first)
    claims = verify_identity(key, token, time.time())
    assert (claims["sub"], claims["username"], claims["staff"]) == ("7", "demo", False)
    assert _identity(again) == [token]
    assert legacy.counters()["resolved"] == 1  # cached per session
    assert to_legacy["upstream"] == "legacy" and _identity(to_legacy) == []  # the legacy has its own session


def test_basic_auth_becomes_a_signed_identity_and_refused_credentials_are_not_cached(stack, legacy) -> None:
    key = load_or_create_secret(stack.home / "secrets" / "identity.key")
    good = {"authorization": "Basic ZGVtbzpkZW1vLXBhc3N3b3Jk", "cookie": "sessionid=stale"}
    bad = {"authorization": "Basic ZGVtbzp3cm9uZw=="}  # demo:wrong
    before = legacy.counters().get("resolved", 0)
    with httpx2.Client(base_url=stack.url) as client:
        first = client.get("/echo/mine", headers=good).json()
        again = client.get("/echo/mine", headers=good).json()
        assert legacy.counters()["resolved"] == before + 1  # cached: one password check per period
        refused = [client.get("/echo/mine", headers=bad).json() for _ in range(2)]
    (token,) = _identity(first)
    claims = verify_identity(key, token, time.time())
    assert (claims["sub"], claims["username"]) == ("7", "demo")  # basic auth wins over the cookie
    assert _identity(again) == [token]
    assert all(_identity(answer) == [] for answer in refused)
    assert legacy.counters()["resolved"] == before + 3  # each refused attempt asked again


def test_anonymous_and_forged_identities_never_reach_the_service(stack) -> None:
    with httpx2.Client(base_url=stack.url) as client:
        forged = client.get("/echo/mine", headers={"x-strangler-identity": "v1.e30.AAAA"}).json()
        unknown = client.get(
            "/echo/mine", headers={"cookie": "sessionid=stale", "x-strangler-identity": "v1.e30.AAAA"}
        ).json()
    assert forged["upstream"] == "catalog" and _identity(forged) == []
    assert _identity(unknown) == []


def test_the_monoliths_token_file_is_picked_up_when_it_appears(tmp_path, store, legacy, new_service) -> None:
    version = store.publish(
        table(
            [Upstream(name=LEGACY, url=legacy.url), Upstream(name="catalog", url=new_service.url)],
            [
                Rule(
                    name="mine",
                    match=RuleMatch(path="/echo/mine"),
                    action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
                )
            ],
        )
    )
    home = tmp_path / "home"
    dataplane = start_dataplane(home, store, legacy.url)  # no token yet: the monolith has not started
    try:
        store.wait_applied(version, workers=1)
        cookie = {"cookie": "sessionid=good-session"}
        before = httpx2.get(f"{dataplane.url}/echo/mine", headers=cookie).json()
        (home / "legacy").mkdir(parents=True)
        (home / "legacy" / "internal_token").write_text("test-internal-token\n")
        after = httpx2.get(f"{dataplane.url}/echo/mine", headers=cookie).json()
    finally:
        dataplane.process.stop()
    assert _identity(before) == []
    assert len(_identity(after)) == 1
