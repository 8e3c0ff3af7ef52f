"""HAProxy's runtime API (the admin socket) and master CLI, spoken over their Unix sockets.

    RuntimeApi(admin_socket).replace_map(path, entries)   one atomic commit of a whole map
    master_command(master_socket, "reload")                a seamless reload (listeners passed on)

Errors::

    RuntimeApiError      the socket refused a command or answered something unexpected
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from pathlib import Path

__all__ = ["RuntimeApi", "RuntimeApiError", "master_command"]

_PROMPT = b"\n> "
_VERSION = re.compile(r"New version created: (\d+)")


class RuntimeApiError(RuntimeError):
    """HAProxy refused a runtime command (the message says which and why)."""


class RuntimeApi:
    """Commands on the admin socket, each session in interactive ("prompt") mode."""

    def __init__(self, path: Path, *, timeout_s: float = 5.0) -> None:
        self._path = path
        self._timeout = timeout_s

    def command(self, line: str) -> str:
        """One command in a fresh connection; its whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self._timeout)
            sock.connect(str(self._path))
            sock.sendall(line.encode("utf-8") + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def replace_map(self, map_path: Path, entries: Sequence[tuple[str, str]]) -> None:
        """Replace every entry of the loaded map ``map_path`` in one atomic commit (requests see the
        old map or the new one, never a mixture)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self._timeout)
            sock.connect(str(self._path))
            session = _Session(sock)
            session.send("prompt")
            answer = session.send(f"prepare map {map_path}")
            found = _VERSION.search(answer)
            if found is None:
                raise RuntimeApiError(f"prepare map {map_path}: {answer.strip()!r}")
            version = found.group(1)
            for key, value in entries:
                answer = session.send(f"add map @{version} {map_path} {key} {value}")
                if answer.strip():
                    raise RuntimeApiError(f"add map {key}: {answer.strip()!r}")
            answer = session.send(f"commit map @{version} {map_path}")
            if answer.strip():
                raise RuntimeApiError(f"commit map @{version}: {answer.strip()!r}")
            session.send("quit", expect_prompt=False)

    def show_map(self, map_path: Path) -> dict[str, str]:
        """The entries the running worker holds now."""
        entries = {}
        for line in self.command(f"show map {map_path}").splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3:
                entries[parts[1]] = parts[2]
        return entries


class _Session:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def send(self, line: str, *, expect_prompt: bool = True) -> str:
        self._sock.sendall(line.encode("utf-8") + b"\n")
        if not expect_prompt:
            return ""
        while _PROMPT not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise RuntimeApiError(f"the runtime API closed the connection after {line.split()[0]!r}")
            self._buffer += chunk
        answer, _, self._buffer = self._buffer.partition(_PROMPT)
        text = answer.decode("utf-8", "replace")
        # The first answer after "prompt" starts with the prompt of the command itself.
        return text[2:] if text.startswith("> ") else text


def master_command(path: Path, line: str, *, timeout_s: float = 5.0) -> str:
    """One command on the master CLI (``reload``, ``show proc``); its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(line.encode("utf-8") + b"\n")
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks).decode("utf-8", "replace")
