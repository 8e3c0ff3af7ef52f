"""A new upstream for the shadow tests, run as its own process: slow or failing on purpose, and it
remembers what it was sent.

    python -m tests.integration.dataplane.shadow_upstream --port 9002 --delay-ms 3000 --status 200

Every path but the two below waits ``--delay-ms`` then answers ``--status`` with a small JSON body.
    GET /_seen      JSON list of the requests received so far: method, raw target, x-strangler-shadow,
                    x-strangler-identity, body
    GET /healthz    ok
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


def build(delay_ms: int, status: int) -> web.Application:
    seen: list[dict[str, object]] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "raw_target": request.raw_path,
                "shadow": request.headers.get("x-strangler-shadow"),
                "identity": request.headers.get("x-strangler-identity"),
                "body": (await request.read()).decode("utf-8", "replace"),
            }
        )
        await asyncio.sleep(delay_ms / 1000)
        return web.json_response({"upstream": "shadow-test"}, status=status)

    async def list_seen(request: web.Request) -> web.Response:
        return web.json_response(seen)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/_seen", list_seen)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    web.run_app(
        build(args.delay_ms, args.status), host="127.0.0.1", port=args.port, access_log=None, print=None
    )


if __name__ == "__main__":
    main()
