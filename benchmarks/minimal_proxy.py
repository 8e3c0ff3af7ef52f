"""The yardstick: a minimal raw-ASGI + aiohttp pass-through, served by uvicorn like the data plane.

    MINIMAL_PROXY_UPSTREAM=http://127.0.0.1:9100 uvicorn --factory benchmarks.minimal_proxy:create_app

It forwards method, raw target, headers (minus hop-by-hop) and body, and relays status, headers and
body: what any proxy must do, without routing, metrics, logging, request ids or failure handling.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
from yarl import URL

__all__ = ["MinimalProxy", "create_app"]

_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"trailer"})


class MinimalProxy:
    def __init__(self, upstream: str) -> None:
        self._upstream = upstream.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._session = aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=0),
                        cookie_jar=aiohttp.DummyCookieJar(),
                        auto_decompress=False,
                        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                    )
                    await send({"type": "lifespan.startup.complete"})
                else:
                    assert self._session is not None
                    await self._session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _HOP]
        assert self._session is not None
        async with self._session.request(
            scope["method"],
            URL(self._upstream + target.decode("latin-1"), encoded=True),
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as response:
            payload = await response.read()
            out = [(k.lower(), v) for k, v in response.raw_headers if k.lower() not in _HOP]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            await send({"type": "http.response.body", "body": payload})


def create_app() -> MinimalProxy:
    return MinimalProxy(os.environ["MINIMAL_PROXY_UPSTREAM"])
