"""A small, fast JSON backend for the benchmarks: raw asyncio on uvloop, keep-alive, GET only.

    python -m benchmarks.backend --port 9100

It costs as little CPU as possible so the proxies being compared get the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvloop

__all__ = ["BODY", "main"]

BODY = json.dumps({"id": 42, "name": "Blue mug", "price": "12.50", "tags": ["kitchen", "blue"]}).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(BODY)).encode()
    + b"\r\nset-cookie: a=1; Path=/\r\nset-cookie: b=2; Path=/\r\n\r\n"
    + BODY
)


class _Server(asyncio.Protocol):
    __slots__ = ("_buffer", "_transport")

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
            self._transport.write(_RESPONSE * answers)  # type: ignore[attr-defined]


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Server, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
