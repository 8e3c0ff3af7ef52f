"""The engine's identity sidecar: only HAProxy may ask it, and it signs what the monolith says."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

from strangler_proxy.engines.haproxy.identity_sidecar import IdentitySidecar
from strangler_proxy.identity_token import verify_identity

pytestmark = pytest.mark.unit

KEY = b"an identity key of enough length"


async def _legacy(status: int) -> tuple[web.AppRunner, str, list[str]]:
    asked: list[str] = []

    async def resolve(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer internal"
        asked.append(request.headers.get("X-Legacy-Authorization") or request.headers["X-Legacy-Session"])
        if status != 200:
            return web.json_response({}, status=status)
        return web.json_response({"user_id": 7, "username": "demo", "is_staff": False})

    app = web.Application()
    app.router.add_get("/internal/session/resolve", resolve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", asked


async def _ask(sidecar: IdentitySidecar, session: str, token: str) -> tuple[int, str]:
    headers = {"x-strangler-sidecar": token, "x-legacy-session": session}
    async with aiohttp.ClientSession() as client, client.get(sidecar.url, headers=headers) as answer:
        return answer.status, await answer.text()


@pytest.mark.parametrize(("legacy_status", "expected"), [(200, 200), (404, 204), (500, 502)])
def test_the_sidecar_signs_answers_anonymous_or_fails_as_the_monolith_says(
    legacy_status: int, expected: int
) -> None:
    async def run() -> None:
        runner, url, asked = await _legacy(legacy_status)
        sidecar = IdentitySidecar(legacy_url=lambda: url, internal_token=lambda: "internal", identity_key=KEY)
        await sidecar.start()
        try:
            status, body = await _ask(sidecar, "s1", sidecar.token)
            assert status == expected
            if expected == 200:
                assert verify_identity(KEY, body, time.time())["sub"] == "7"
                assert (await _ask(sidecar, "s1", sidecar.token))[0] == 200
                assert asked == ["s1"]  # cached
        finally:
            await sidecar.stop()
            await runner.cleanup()

    asyncio.run(run())


def test_only_the_engine_holding_the_token_is_answered() -> None:
    async def run() -> None:
        runner, url, asked = await _legacy(200)
        sidecar = IdentitySidecar(legacy_url=lambda: url, internal_token=lambda: "internal", identity_key=KEY)
        await sidecar.start()
        try:
            assert (await _ask(sidecar, "s1", "guess"))[0] == 403
            assert (await _ask(sidecar, "s1", ""))[0] == 403
            assert asked == []
        finally:
            await sidecar.stop()
            await runner.cleanup()

    asyncio.run(run())


def test_basic_auth_is_signed_and_cached_under_an_hmac_and_refused_credentials_are_not_cached() -> None:
    async def run() -> None:
        runner, url, asked = await _legacy(200)
        sidecar = IdentitySidecar(legacy_url=lambda: url, internal_token=lambda: "internal", identity_key=KEY)
        await sidecar.start()
        good = "Basic ZGVtbzpkZW1vLXBhc3N3b3Jk"
        try:
            headers = {"x-strangler-sidecar": sidecar.token, "x-legacy-authorization": good}
            async with aiohttp.ClientSession() as client:
                for _ in range(2):
                    async with client.get(sidecar.url, headers=headers) as answer:
                        assert answer.status == 200
                        assert verify_identity(KEY, await answer.text(), time.time())["sub"] == "7"
            assert asked == [good]  # cached
            assert all(good not in repr(key) and b"demo" not in key for key in sidecar._cache)
        finally:
            await sidecar.stop()
            await runner.cleanup()
        runner, url, asked = await _legacy(404)
        sidecar = IdentitySidecar(legacy_url=lambda: url, internal_token=lambda: "internal", identity_key=KEY)
        await sidecar.start()
        try:
            headers = {"x-strangler-sidecar": sidecar.token, "x-legacy-authorization": "Basic d3Jvbmc="}
            async with aiohttp.ClientSession() as client:
                for _ in range(2):
                    async with client.get(sidecar.url, headers=headers) as answer:
                        assert answer.status == 404  # refused: HAProxy adds nothing and caches nothing
            assert asked == ["Basic d3Jvbmc=", "Basic d3Jvbmc="]  # asked again each time
        finally:
            await sidecar.stop()
            await runner.cleanup()

    asyncio.run(run())
