"""Read-your-writes: the position cookie (signed, expiring, rotation-aware) and the bounded wait for a side
to take a position's events (a real aiohttp server on loopback plays the side)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest
from aiohttp import web

from strangler_proxy.dataplane.read_your_writes import (
    ArrivalWaiter,
    PositionCodec,
    SyncPosition,
    position_cookie,
)
from strangler_proxy.identity_token import sign_identity
from strangler_proxy.keyring import KeyRing

pytestmark = pytest.mark.unit

KEY = KeyRing(b"k" * 32)
EVENTS = [str(uuid.uuid4()) for _ in range(3)]


def _token(set_cookie: bytes) -> str:
    return set_cookie.split(b";")[0].split(b"=", 1)[1].decode()


def test_a_position_round_trips_and_only_valid_event_ids_are_kept() -> None:
    codec = PositionCodec(KEY, cookie_s=30, clock=lambda: 1000.0)
    header = ",".join([EVENTS[0], "not-an-id", f" {EVENTS[1]} "]).encode()
    cookie = codec.set_cookie("legacy", header, secure=True)
    assert cookie is not None
    assert b"; Path=/; Max-Age=30; HttpOnly; SameSite=Lax; Secure" in cookie
    assert codec.read(_token(cookie)) == SyncPosition("legacy", (EVENTS[0], EVENTS[1]))
    assert codec.set_cookie("legacy", b"nothing, useful", secure=False) is None


def test_a_forged_expired_or_identity_signed_position_is_ignored() -> None:
    now = [1000.0]
    codec = PositionCodec(KEY, cookie_s=30, clock=lambda: now[0])
    token = _token(codec.set_cookie("orders", EVENTS[0].encode(), secure=False) or b"")
    assert codec.read(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")) is None
    assert PositionCodec(KeyRing(b"x" * 32), clock=lambda: now[0]).read(token) is None
    # signed with the identity key itself (not the key derived for positions): refused
    assert codec.read(sign_identity(KEY, {"side": "legacy", "events": EVENTS}, 2000)) is None
    now[0] = 1031.0
    assert codec.read(token) is None


def test_positions_signed_before_a_key_rotation_still_read_in_the_overlap() -> None:
    old = PositionCodec(KEY, clock=lambda: 1000.0)
    token = _token(old.set_cookie("legacy", EVENTS[0].encode(), secure=False) or b"")
    rotated = PositionCodec(KeyRing(b"n" * 32, KEY.current, 2000.0), clock=lambda: 1001.0)
    assert rotated.read(token) == SyncPosition("legacy", (EVENTS[0],))


def test_the_cookie_is_found_among_others() -> None:
    headers = [(b"host", b"x"), (b"cookie", b"sessionid=a; strangler_sync=v1.abc.def; csrftoken=z")]
    assert position_cookie(headers) == "v1.abc.def"
    assert position_cookie([(b"cookie", b"sessionid=a")]) is None


async def _side(arrives_after: int, status: int = 200) -> tuple[web.AppRunner, str, list[dict]]:
    """A side that holds the events from its ``arrives_after``-th question on."""
    asked: list[dict] = []

    async def arrived(request: web.Request) -> web.Response:
        asked.append({"events": request.query.getall("event"), "auth": request.headers.get("authorization")})
        if status != 200:
            return web.json_response({"error": {}}, status=status)
        found = request.query.getall("event") if len(asked) >= arrives_after else []
        return web.json_response({"arrived": found})

    async def elsewhere(request: web.Request) -> web.Response:
        asked.append({"nowhere": request.path})
        return web.json_response({"error": {}}, status=404)

    app = web.Application()
    app.router.add_get("/elsewhere/_strangler/sync/arrived", elsewhere)
    app.router.add_get("/internal/sync/arrived", arrived)
    app.router.add_get("/_strangler/sync/arrived", arrived)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", asked


def test_the_wait_ends_when_the_side_has_the_events_and_is_remembered() -> None:
    async def scenario() -> None:
        runner, url, asked = await _side(arrives_after=3)
        async with aiohttp.ClientSession() as session:
            waiter = ArrivalWaiter(session, internal_token=lambda: "tok", bound_s=5, poll_s=0.01)
            position = SyncPosition("orders", tuple(EVENTS))
            assert await waiter.wait("legacy", url, position) is None
            assert len(asked) == 3 and asked[0] == {"events": EVENTS, "auth": "Bearer tok"}
            assert waiter.taken("legacy", position) and not waiter.taken("catalog", position)
            # a service is asked on its own path, without the monolith's token
            assert await waiter.wait("catalog", url, SyncPosition("legacy", (EVENTS[0],))) is None
            assert asked[-1]["auth"] is None
        await runner.cleanup()

    asyncio.run(scenario())


def test_the_wait_is_bounded_and_says_why() -> None:
    async def scenario() -> None:
        never, url, asked = await _side(arrives_after=10**6)
        refusing, refusing_url, _ = await _side(arrives_after=1, status=403)
        async with aiohttp.ClientSession() as session:
            waiter = ArrivalWaiter(session, internal_token=lambda: None, bound_s=0.2, poll_s=0.02)
            position = SyncPosition("legacy", (EVENTS[0],))
            missed = await waiter.wait("orders", url, position)
            assert missed == "1 of 1 events from legacy not on orders (not taken within 0.2 s)"
            assert "answered 403" in (await waiter.wait("orders", refusing_url, position) or "")
            assert "no legacy internal token" in (await waiter.wait("legacy", url, position) or "")
            asked.clear()
            missing = await waiter.wait("orders", url + "/elsewhere", position)  # no such endpoint
            assert "(404): not waited for" in (missing or "") and len(asked) == 1  # asked once, no polling
            assert waiter.missed == 4 and not waiter.taken("orders", position)
        await never.cleanup()
        await refusing.cleanup()

    asyncio.run(scenario())
