"""A small HTTP upstream for the browser tests, run as its own process.

    python -m tests.browser.upstream_app --port 8100 --name legacy [--delay-ms 5]

Every path answers 200 with JSON naming the side (so a test can tell legacy from new), after an
optional delay; ``/healthz`` answers ``{"status": "ok"}``.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web

__all__ = ["create_app", "main"]


def create_app(name: str, delay_ms: float) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def anything(request: web.Request) -> web.Response:
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        return web.json_response({"side": name, "path": request.path})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(create_app(args.name, args.delay_ms), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
