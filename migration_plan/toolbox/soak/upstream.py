"""A minimal keep-alive HTTP/1.1 upstream for the soak: answers every request, the soak's reads and its
writes (POSTs, their body read by its Content-Length) alike, with 200 and its own name.

    python -m migration_plan.toolbox.soak.upstream --port 9001 --name legacy

Deliberately small and fast, so the soak measures the proxy rather than its backends.
"""

from __future__ import annotations

import argparse
import asyncio

__all__ = ["main", "serve"]


async def _handle(name: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = b'{"upstream": "' + name + b'"}'
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-upstream: "
        + name
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET /healthz "):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            else:
                writer.write(response)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, name: str) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(name.encode(), r, w), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of the data plane
        asyncio.run(serve(args.port, args.name))
    else:
        uvloop.run(serve(args.port, args.name))


if __name__ == "__main__":
    main()
