"""A small aiohttp upstream for the data-plane tests, run as its own process.

    python -m tests.integration.dataplane.upstream_app --port 9001 --name legacy

Endpoints (every answer carries ``x-upstream: <name>``):
    /echo/...           JSON: method, raw target, headers in order, body length and sha256
    /status/<n>         answers status n
    /slow?ms=<n>        waits n ms before answering
    /slow-body?ms=&kb=  a kb KiB answer: sends half, waits ms, sends the rest
    /download?mb=<n>    streams n MiB of zero bytes
    /cookies            three Set-Cookie headers, in order
    /redirect?to=<url>  302 to ``to``; /redirect-self: 302 to its own absolute URL
    /hop                answers with hop-by-hop headers and a header its Connection names
    /internal/session/resolve   the monolith's session lookup: "good-session" is user 7, and so are
                                basic auth demo:demo-password and "Token demo-api-token"
    /ws                 a WebSocket answering each text message with "<name>:<message>"
    /healthz            ok
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib

from aiohttp import web


def build(name: str, port: int) -> web.Application:
    app = web.Application(client_max_size=1024**3)
    counter = {"requests": 0, "in_flight": 0}

    @web.middleware
    async def tag(request: web.Request, handler):  # type: ignore[no-untyped-def]
        counter["requests"] += 1
        counter["in_flight"] += 1
        try:
            response = await handler(request)
        finally:
            counter["in_flight"] -= 1
        response.headers["x-upstream"] = name
        return response

    app.middlewares.append(tag)

    async def echo(request: web.Request) -> web.Response:
        digest = hashlib.sha256()
        length = 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            length += len(chunk)
        document = {
            "upstream": name,
            "method": request.method,
            "raw_target": request.raw_path,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
            "body_length": length,
            "body_sha256": digest.hexdigest(),
        }
        return web.json_response(document)

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"upstream": name}, status=int(request.match_info["n"]))

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(int(request.query.get("ms", "1000")) / 1000)
        return web.json_response({"upstream": name, "slept_ms": int(request.query.get("ms", "1000"))})

    async def slow_body(request: web.Request) -> web.StreamResponse:
        half = int(request.query.get("kb", "1")) * 512
        response = web.StreamResponse(headers={"content-type": "text/plain"})
        response.content_length = 2 * half
        await response.prepare(request)
        await response.write(b"a" * half)
        await asyncio.sleep(int(request.query.get("ms", "1000")) / 1000)
        await response.write(b"b" * half)
        return response

    async def download(request: web.Request) -> web.StreamResponse:
        mib = int(request.query.get("mb", "1"))
        response = web.StreamResponse(headers={"content-type": "application/octet-stream"})
        response.content_length = mib * 1024 * 1024
        await response.prepare(request)
        block = b"\0" * (1024 * 1024)
        for _ in range(mib):
            await response.write(block)
        return response

    async def cookies(request: web.Request) -> web.Response:
        response = web.Response(text="cookies")
        for n in ("a=1; Path=/", "b=2; Path=/; HttpOnly", "c=3; Path=/; SameSite=Lax"):
            response.headers.add("Set-Cookie", n)
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def redirect_self(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.1:{port}/echo/after?x=1")

    async def hop(request: web.Request) -> web.Response:
        response = web.Response(text="hop")
        response.headers["Connection"] = "keep-alive, X-Secret-Hop"
        response.headers["X-Secret-Hop"] = "drop me"
        response.headers["Keep-Alive"] = "timeout=5"
        response.headers["X-Kept"] = "kept"
        return response

    async def session_resolve(request: web.Request) -> web.Response:
        counter["resolved"] = counter.get("resolved", 0) + 1
        if request.headers.get("Authorization") != "Bearer test-internal-token":
            return web.json_response({"error": "not_authenticated"}, status=401)
        basic = request.headers.get("X-Legacy-Authorization")
        if basic is not None:
            if basic not in ("Basic ZGVtbzpkZW1vLXBhc3N3b3Jk", "Token demo-api-token"):  # demo:demo-password
                return web.json_response({"error": "not_found"}, status=404)
        elif request.headers.get("X-Legacy-Session") != "good-session":
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response({"user_id": 7, "username": "demo", "is_staff": False, "customer_id": "C7"})

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                await socket.send_str(f"{name}:{message.data}")
        return socket

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **counter})

    app.router.add_route("*", "/echo{tail:.*}", echo)
    app.router.add_route("*", "/status/{n}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/download", download)
    app.router.add_get("/cookies", cookies)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/redirect-self", redirect_self)
    app.router.add_get("/hop", hop)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/internal/session/resolve", session_resolve)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="legacy")
    args = parser.parse_args()
    web.run_app(build(args.name, args.port), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
