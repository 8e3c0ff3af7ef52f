"""Sticky canary conformance: over 10,000 clients each front door puts every user on the side the shared
bucket function gives, so switching between the data plane and the engine moves no user; and every
write (any method but a read) goes to the canary's one writer, the legacy, whatever the weight."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest

from strangler_proxy.routes import Rule, RuleAction, RuleMatch
from strangler_proxy.routes.canary import (
    BUCKET_COOKIE,
    bucket_of,
    is_bucket_key,
    key_from_session,
    on_new_side,
)
from tests.conformance.conftest import FrontDoor

pytestmark = pytest.mark.integration

CLIENTS = 10_000
WEIGHT = 30
CONCURRENCY = 16


async def _sides(door: FrontDoor, cookies: list[str], method: str = "GET") -> list[tuple[str, str | None]]:
    """(upstream that answered, the bucket cookie set on the answer) for one request per Cookie header."""
    limit = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:

        async def one(cookie: str) -> tuple[str, str | None]:
            async with (
                limit,
                session.request(
                    method, f"{door.url}/status/200", headers={"Cookie": cookie} if cookie else {}
                ) as r,
            ):
                await r.read()
                assert r.status == 200
                issued = [v for v in r.headers.getall("Set-Cookie", []) if v.startswith(f"{BUCKET_COOKIE}=")]
                return r.headers["x-upstream"], issued[0].split(";")[0].split("=", 1)[1] if issued else None

        return await asyncio.gather(*(one(cookie) for cookie in cookies))


def _canary(door: FrontDoor, weight: int = WEIGHT) -> None:
    action = RuleAction(mode="canary", upstream="catalog", weight=weight)
    door.publish([Rule(name="canary", match=RuleMatch(path="/status"), action=action)])


def expected(key: str, weight: int = WEIGHT) -> str:
    return "catalog" if on_new_side(bucket_of(key), weight) else "legacy"


def test_ten_thousand_bucket_cookies_split_within_two_points_on_the_shared_function(door: FrontDoor) -> None:
    _canary(door)
    keys = [f"conformance-{n:012d}" for n in range(CLIENTS)]
    answers = asyncio.run(_sides(door, [f"{BUCKET_COOKIE}={key}" for key in keys]))
    assert [side for side, _ in answers] == [expected(key) for key in keys]
    assert not [issued for _, issued in answers if issued is not None]  # a valid cookie is kept
    share = 100 * sum(side == "catalog" for side, _ in answers) / CLIENTS
    assert abs(share - WEIGHT) <= 2


def test_a_session_without_a_bucket_cookie_gets_the_key_derived_from_it(door: FrontDoor) -> None:
    _canary(door)
    sessions = [secrets.token_urlsafe(24) for _ in range(500)]
    answers = asyncio.run(_sides(door, [f"sessionid={session}" for session in sessions]))
    keys = [issued for _, issued in answers]
    assert keys == [key_from_session(session) for session in sessions]
    assert [side for side, _ in answers] == [expected(key) for key in keys]


def test_a_new_client_gets_a_key_and_keeps_its_side(door: FrontDoor) -> None:
    _canary(door, weight=50)
    first = asyncio.run(_sides(door, [""] * 400))
    keys = [issued for _, issued in first]
    assert all(key is not None and is_bucket_key(key) for key in keys)
    assert len(set(keys)) == len(keys)
    again = asyncio.run(_sides(door, [f"{BUCKET_COOKIE}={key}" for key in keys]))
    assert [side for side, _ in again] == [side for side, _ in first] == [expected(k, 50) for k in keys]  # type: ignore[arg-type]
    assert {side for side, _ in first} == {"legacy", "catalog"}


def test_raising_the_weight_only_moves_users_towards_new(door: FrontDoor) -> None:
    keys = [f"raise-{n:014d}" for n in range(1000)]
    cookies = [f"{BUCKET_COOKIE}={key}" for key in keys]
    _canary(door, weight=20)
    before = asyncio.run(_sides(door, cookies))
    _canary(door, weight=60)
    after = asyncio.run(_sides(door, cookies))
    moved_back = [
        k for k, (b, _), (a, _) in zip(keys, before, after, strict=True) if b == "catalog" and a == "legacy"
    ]
    assert not moved_back
    assert sum(a == "catalog" for a, _ in after) > sum(b == "catalog" for b, _ in before)


@pytest.mark.parametrize("weight", [50, 100])
def test_every_write_reaches_the_legacy_while_reads_split(door: FrontDoor, weight: int) -> None:
    _canary(door, weight=weight)
    keys = [f"one-writer-{n:012d}" for n in range(400)]
    cookies = [f"{BUCKET_COOKIE}={key}" for key in keys]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        answers = asyncio.run(_sides(door, cookies, method))
        assert {side for side, _ in answers} == {"legacy"}, method
    for method in ("GET", "HEAD", "OPTIONS"):
        answers = asyncio.run(_sides(door, cookies, method))
        assert [side for side, _ in answers] == [expected(key, weight) for key in keys], method
