"""The store agent's wire format on its Unix socket: each message one JSON object, preceded by its
length (4 bytes, big-endian). A request names its ``op``; an answer is ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

__all__ = ["MAX_MESSAGE_BYTES", "STORE_AGENT_SOCKET_ENV", "WireError", "receive", "send"]

STORE_AGENT_SOCKET_ENV = "STRANGLER_STORE_AGENT_SOCKET"

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class WireError(ConnectionError):
    """The peer closed the socket or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _exactly(sock: socket.socket, count: int) -> bytes:
    chunks, left = [], count
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise WireError("the store agent's socket was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> dict[str, Any]:
    (length,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    if length > MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {length} bytes is over the limit")
    message = json.loads(_exactly(sock, length))
    if not isinstance(message, dict):
        raise WireError("a message is not a JSON object")
    return message
