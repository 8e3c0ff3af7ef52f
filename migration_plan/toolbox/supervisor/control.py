"""The control channel: a Unix socket (mode 0600) speaking one JSON object per line.

Request ``{"command": "ps"}`` or ``{"command": "stop" | "start" | "restart", "name": "legacy"}``;
answer ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``. One request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = [
    "NO_SUPERVISOR",
    "ControlError",
    "ControlServer",
    "ControlSocketError",
    "NoSupervisorError",
    "SupervisorAlreadyRunning",
    "send_command",
]

NO_SUPERVISOR = "no supervisor is running (start it with `make run`)"
_MAX_LINE = 1 << 20

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlError(Exception):
    """The supervisor answered, but refused the command."""


class NoSupervisorError(ControlError):
    """Nothing listens on the control socket."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__(f"{NO_SUPERVISOR}; looked for {socket_path}")
        self.socket_path = socket_path


class SupervisorAlreadyRunning(Exception):
    """Another supervisor already answers on this control socket."""


class ControlSocketError(Exception):
    """The control socket cannot be created (e.g. its path is longer than a Unix socket allows)."""


def _answering(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class ControlServer:
    """Serves control requests with ``handler``; removes a stale socket file, refuses to steal a live one."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if _answering(self.path):
                message = f"a supervisor is already running for this home (control socket {self.path})"
                raise SupervisorAlreadyRunning(message)
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            raise ControlSocketError(f"cannot listen on the control socket {self.path}: {exc}") from exc
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=_MAX_LINE)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("the request must be a JSON object")
            except ValueError as exc:
                answer: dict[str, Any] = {"ok": False, "error": f"bad request: {exc}"}
            else:
                answer = await self._handler(request)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def send_command(socket_path: Path, request: dict[str, Any], *, timeout: float = 180.0) -> dict[str, Any]:
    """Send one request to the running supervisor and return its answer (raises ControlError on refusal)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(socket_path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NoSupervisorError(socket_path) from None
        except OSError as exc:
            raise ControlError(f"cannot reach the supervisor at {socket_path}: {exc}") from exc
        try:
            sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as stream:
                line = stream.readline(_MAX_LINE)
        except TimeoutError as exc:
            raise ControlError(f"the supervisor did not answer within {timeout:g}s") from exc
        except OSError as exc:
            raise ControlError(f"the connection to the supervisor broke: {exc}") from exc
    if not line:
        raise ControlError("the supervisor closed the connection without answering")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(answer.get("error", "the supervisor refused the command"))
    return answer
