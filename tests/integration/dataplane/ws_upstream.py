"""A plain WebSocket upstream (the ``websockets`` library) for the data-plane tests, run as its own process.

    python -m tests.integration.dataplane.ws_upstream --port 9002 --name catalog

Every socket is greeted with ``hello from <name>``, then each message comes back as ``<name>: <message>``;
the message ``whoami`` is answered with the X-Strangler-Identity header of the handshake (or ``none``).
Subprotocol ``chat.v1`` is chosen when offered; permessage-deflate is on (the library's default).
``GET /healthz`` answers 200 ``ok`` (the readiness probe); a handshake to a path containing ``forbidden``
is refused with 403.
"""

from __future__ import annotations

import argparse
import asyncio
import http
from collections.abc import Sequence

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request
from websockets.typing import Subprotocol


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.name))


async def _serve(port: int, name: str) -> None:
    async def handler(socket: ServerConnection) -> None:
        identity = socket.request.headers.get("x-strangler-identity", "none") if socket.request else "none"
        await socket.send(f"hello from {name}")
        async for message in socket:
            await socket.send(identity if message == "whoami" else f"{name}: {message}")

    def health(connection: ServerConnection, request: Request):  # type: ignore[no-untyped-def]
        if request.path == "/healthz":
            return connection.respond(http.HTTPStatus.OK, "ok\n")
        if "forbidden" in request.path:
            return connection.respond(http.HTTPStatus.FORBIDDEN, "no sockets here\n")
        return None

    def choose(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        return Subprotocol("chat.v1") if "chat.v1" in offered else None

    async with serve(handler, "127.0.0.1", port, select_subprotocol=choose, process_request=health):
        await asyncio.Future()


if __name__ == "__main__":
    main()
