"""The control channel: one JSON line each way over a private Unix socket."""

import asyncio
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from migration_plan.toolbox.supervisor.control import (
    ControlError,
    ControlServer,
    ControlSocketError,
    NoSupervisorError,
    SupervisorAlreadyRunning,
    send_command,
)

pytestmark = pytest.mark.unit


async def echo(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("command") == "fail":
        return {"ok": False, "error": "refused on purpose"}
    return {"ok": True, "echo": request}


def raw_exchange(path: Path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        sock.sendall(payload)
        return sock.makefile("rb").readline()


def test_requests_and_refusals_round_trip_over_a_private_socket(tmp_path: Path) -> None:
    path = tmp_path / "supervisor.sock"

    async def scenario() -> None:
        server = ControlServer(path, echo)
        await server.start()
        try:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            answer = await asyncio.to_thread(send_command, path, {"command": "ps"})
            assert answer == {"ok": True, "echo": {"command": "ps"}}
            with pytest.raises(ControlError, match="refused on purpose"):
                await asyncio.to_thread(send_command, path, {"command": "fail"})
            garbage = await asyncio.to_thread(raw_exchange, path, b"not json\n")
            assert b'"ok": false' in garbage and b"bad request" in garbage
            with pytest.raises(SupervisorAlreadyRunning):
                await ControlServer(path, echo).start()
        finally:
            await server.close()
        assert not path.exists()

    asyncio.run(scenario())


def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "supervisor.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(path))  # bound, never listening: what a killed supervisor leaves behind

    async def scenario() -> dict[str, Any]:
        server = ControlServer(path, echo)
        await server.start()
        try:
            return await asyncio.to_thread(send_command, path, {"command": "ps"})
        finally:
            await server.close()

    assert asyncio.run(scenario())["ok"] is True


def test_no_supervisor_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(NoSupervisorError, match=r"no supervisor is running \(start it with `make run`\)"):
        send_command(tmp_path / "supervisor.sock", {"command": "ps"})


def test_a_socket_path_too_long_for_unix_sockets_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 120) / "supervisor.sock"
    with pytest.raises(ControlError, match="path too long"):
        send_command(path, {"command": "ps"})
    with pytest.raises(ControlSocketError, match="cannot listen on the control socket"):
        asyncio.run(ControlServer(path, echo).start())
