"""A tiny upstream for the control-plane end-to-end tests, run as its own process.

    python -m tests.integration.controlplane.upstream --port 9001 --name catalog

Every path answers 200 JSON ``{"upstream": name, "path": ...}`` until ``POST /__control/fail`` is
called; from then on every path but /healthz answers 500 (``POST /__control/heal`` undoes it).
"""

from __future__ import annotations

import argparse

from aiohttp import web


def build(name: str) -> web.Application:
    state = {"failing": False}

    async def control(request: web.Request) -> web.Response:
        state["failing"] = request.match_info["action"] == "fail"
        return web.json_response({"failing": state["failing"]})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def anything(request: web.Request) -> web.Response:
        if state["failing"]:
            return web.json_response({"upstream": name, "error": "failing on purpose"}, status=500)
        return web.json_response({"upstream": name, "path": request.path})

    app = web.Application()
    app.router.add_post("/__control/{action:fail|heal}", control)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="upstream")
    args = parser.parse_args()
    web.run_app(build(args.name), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
