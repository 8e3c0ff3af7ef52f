"""Raw-socket exchanges with the data plane: send bytes verbatim, collect every status line until close."""

from __future__ import annotations

import re
import socket
import time
from dataclasses import dataclass

__all__ = ["Exchange", "exchange"]

_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


@dataclass(frozen=True)
class Exchange:
    statuses: list[int]
    closed: bool
    """The server closed the connection before ``timeout``."""
    data: bytes


def exchange(port: int, payload: bytes, *, timeout: float = 5.0, close_after: bool = False) -> Exchange:
    """Send ``payload``, then read until the server closes or ``timeout`` passes without a close.

    With ``close_after`` the client half-closes its side after sending (an attacker that sends a
    short body and stops).
    """
    data = b""
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            # The server answered and closed while the rest of the payload was still going out (a
            # refused oversized body): its answer is already in this socket's receive queue.
            close_after = False
        if close_after:
            sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    return Exchange([int(m.group(1)) for m in _STATUS.finditer(data)], closed, data)
