"""A small, fast JSON backend for the benchmarks: raw asyncio on uvloop, keep-alive, GET only.

    python -m benchmarks.backend --port 9100 [--tag legacy]

``--tag`` adds ``x-backend: <tag>`` to every answer (the engine benchmark tells the sides apart by it).
It costs as little CPU as possible so the proxies being compared get the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvloop

__all__ = ["BODY", "main"]

BODY = json.dumps({"id": 42, "name": "Blue mug", "price": "12.50", "tags": ["kitchen", "blue"]}).encode()


def _response(tag: str | None) -> bytes:
    extra = b"" if tag is None else b"x-backend: " + tag.encode("ascii") + b"\r\n"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(BODY)).encode()
        + b"\r\nset-cookie: a=1; Path=/\r\nset-cookie: b=2; Path=/\r\n"
        + extra
        + b"\r\n"
        + BODY
    )


class _Server(asyncio.Protocol):
    __slots__ = ("_buffer", "_transport")
    response = _response(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        answers = 0
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            answers += 1
        self._buffer = buffer
        if answers:
            self._transport.write(self.response * answers)  # type: ignore[attr-defined]


async def _serve(port: int, tag: str | None) -> None:
    _Server.response = _response(tag)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Server, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tag", default=None)
    args = parser.parse_args()
    uvloop.run(_serve(args.port, args.tag))


if __name__ == "__main__":
    main()
