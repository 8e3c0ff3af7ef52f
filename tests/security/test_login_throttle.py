"""Finding 3: a login throttle that protects without locking the admin out. Attempts are reserved
before the slow hash, limited per client address and per user name with backoff, a locked name still
takes its right password from an address with no failures, old keys are evicted, and user names and
bodies are capped before anything parses them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.errors import TooManyRequests
from strangler_proxy.controlplane.service_layer.auth import AuthService
from tests.unit.controlplane.conftest import Api

pytestmark = pytest.mark.unit

PASSWORD = "a long enough password"


@contextmanager
def _client_from(api: Api, address: str) -> Iterator[TestClient]:
    """A client of the same control plane whose requests come from ``address``."""
    app = create_app(api.services.settings, api.services)
    with TestClient(app, client=(address, 40000)) as client:
        yield client


def _login(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/v1/session", json={"username": username, "password": password})
    return response.status_code


def test_a_locked_name_still_takes_its_right_password_from_a_clean_address(api: Api) -> None:
    """Ten wrong passwords for admin from one address lock admin there, not everywhere: during an
    attack, the admin signs in from another address and can press panic (default limits)."""
    from strangler_proxy.controlplane.service_layer.denials import DenialFilter

    with _client_from(api, "203.0.113.7") as attacker:
        statuses = [_login(attacker, "admin-user", f"guess number {i}") for i in range(12)]
        assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
        assert _login(attacker, "admin-user", PASSWORD) == 429, "the attacking address stays locked"
    with _client_from(api, "198.51.100.20") as admin:
        assert _login(admin, "admin-user", PASSWORD) == 200
    denied = {(d.actor, d.target, d.reason): d.count for d in api.services.denials.search(DenialFilter())}
    assert sum(n for (_, target, _), n in denied.items() if target == "user admin-user") == 10
    assert sum(n for (_, _, reason), n in denied.items() if reason == "too many failed logins") == 3


def test_one_address_spraying_many_names_is_limited(api: Api) -> None:
    """Default limits: 10 failures per address."""
    with _client_from(api, "203.0.113.8") as sprayer:
        statuses = [_login(sprayer, f"user{i}", "wrong password here") for i in range(15)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}


class CountingHasher(PasswordHasher):
    """The test's cheap argon2id, counting the hashes and verifications it does."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.calls = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.calls += 1
        return super().verify(hash, password)


def test_concurrent_guesses_are_reserved_before_the_hash(api: Api) -> None:
    """60 simultaneous wrong passwords: the limit is taken before hashing, so only 10 get a hash."""
    from strangler_proxy.controlplane.service_layer.throttle import LoginThrottle

    hasher = CountingHasher()
    auth = AuthService(api.services.engine, hasher=hasher)
    auth.throttle = LoginThrottle(per_address=10, per_username=10)
    start = threading.Barrier(60)
    refused = []

    def guess(i: int) -> None:
        start.wait()
        try:
            auth.check_password("admin-user", f"wrong guess {i}", "203.0.113.9")
        except TooManyRequests:
            refused.append(i)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.calls == 10 and len(refused) == 50


def test_locks_back_off_and_old_keys_are_evicted() -> None:
    from strangler_proxy.controlplane.service_layer.throttle import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(
        per_address=2,
        per_username=100,
        window_s=60,
        base_lock_s=10,
        max_lock_s=40,
        max_keys=50,
        clock=lambda: now[0],
    )

    def fail(address: str, name: str = "x") -> None:
        throttle.settle(throttle.reserve(name, address), succeeded=False)

    fail("a"), fail("a")
    with pytest.raises(TooManyRequests, match="in 10 s"):
        throttle.reserve("x", "a")
    now[0] += 11
    fail("a"), fail("a")
    with pytest.raises(TooManyRequests, match="in 20 s"):  # the second lock lasts twice as long
        throttle.reserve("x", "a")
    for i in range(500):
        throttle.reserve(f"name{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle) <= 50
    now[0] += 10_000
    throttle.reserve("late", "b")
    assert len(throttle) == 2, "keys idle past their window are dropped"


def test_user_names_and_bodies_are_capped_before_parsing(api: Api) -> None:
    """A 1 MB user name is refused (413) before it is parsed or kept; a long one (422) likewise."""
    huge = {"username": "x" * 1_000_000, "password": "whatever it is"}
    for _ in range(5):
        assert api.client.post("/api/v1/session", json=huge).status_code == 413
        assert api.client.post("/login", data=huge).status_code == 413
    assert _login(api.client, "y" * 151, "whatever it is") == 422
    assert len(api.services.auth.throttle) == 0, "nothing of them was kept"
    other = api.client.put(
        "/api/v1/upstreams/x",
        content=b'{"url": "' + b"a" * (3 * 1024 * 1024) + b'"}',
        headers={**api.headers("admin"), "content-type": "application/json"},
    )
    assert other.status_code == 413


def test_user_names_are_restricted_to_a_safe_alphabet(api: Api) -> None:
    for name in ("with\x00nul", "<script>alert(1)</script>", "a b", "", "x" * 65, "-dash-first"):
        response = api.client.post(
            "/api/v1/users", json={"username": name, "password": PASSWORD}, headers=api.headers("admin")
        )
        assert response.status_code in (400, 422), (name, response.text)
    ok = api.client.post(
        "/api/v1/users",
        json={"username": "ops.on-call@site", "password": PASSWORD},
        headers=api.headers("admin"),
    )
    assert ok.status_code == 201, ok.text
