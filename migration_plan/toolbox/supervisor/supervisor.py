"""The supervisor: starts processes in order, waits for each to be healthy, serves the control socket,
and stops everything (reverse order, whole process groups) on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from migration_plan.toolbox.supervisor.control import ControlServer
from migration_plan.toolbox.supervisor.output import LogSink, ProcessLog
from migration_plan.toolbox.supervisor.process import ManagedProcess, StartupError
from migration_plan.toolbox.supervisor.spec import ProcessSpec, start_stages, validate_specs

__all__ = ["Supervisor", "child_base_env", "run_supervisor"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def child_base_env(home: Path) -> dict[str, str]:
    """What every child gets on top of the supervisor's environment."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    return {
        "PYTHONUNBUFFERED": "1",
        "STRANGLER_HOME": str(home),
        "PATH": f"{venv_bin}{os.pathsep}{path}" if path else venv_bin,
    }


class Supervisor:
    """Owns the managed processes of one run and answers control requests about them."""

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        home: Path,
        sink: LogSink,
        health_interval: float = 5.0,
    ) -> None:
        validate_specs(list(specs))
        self.specs = tuple(specs)
        self.home = home
        self.sink = sink
        self.health_interval = health_interval
        self.processes: dict[str, ManagedProcess] = {}
        self._closing = False

    @property
    def socket_path(self) -> Path:
        return self.home / "supervisor.sock"

    async def run(self, stop: asyncio.Event, on_ready: Callable[[], None] | None = None) -> int:
        """Run until ``stop`` is set; 0 after a clean stop, 1 when a process failed to come up."""
        async with aiohttp.ClientSession() as session:
            base_env = child_base_env(self.home)
            for spec in self.specs:
                log = ProcessLog(spec.name, self.sink, self.home / "logs")
                self.processes[spec.name] = ManagedProcess(
                    spec, session=session, log=log, base_env=base_env, health_interval=self.health_interval
                )
            control = ControlServer(self.socket_path, self.handle)
            await control.start()
            try:
                return await self._run_until_stopped(stop, on_ready)
            finally:
                await self.stop_all()
                await control.close()
                for process in self.processes.values():
                    process.log.close()

    async def _run_until_stopped(self, stop: asyncio.Event, on_ready: Callable[[], None] | None) -> int:
        startup = asyncio.create_task(self._start_all(), name="startup")
        stopped = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            await asyncio.wait({startup, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not startup.done():
                self.sink.info("stop requested during startup")
                startup.cancel()
                await asyncio.gather(startup, return_exceptions=True)
                return 0
            error = startup.exception()
            if isinstance(error, StartupError):
                self.sink.error(str(error))
                return 1
            if error is not None:
                raise error
            if on_ready is not None:
                on_ready()
            await stopped
            return 0
        finally:
            stopped.cancel()

    async def _start_all(self) -> None:
        for stage in start_stages(self.specs):
            results = await asyncio.gather(
                *(self.processes[spec.name].start() for spec in stage), return_exceptions=True
            )
            errors = [result for result in results if isinstance(result, BaseException)]
            for error in errors[1:]:
                if isinstance(error, StartupError):
                    self.sink.error(str(error))
            if errors:
                raise errors[0]

    async def stop_all(self) -> None:
        """Stop every process, last stage first (the processes of one stage together)."""
        self._closing = True
        self.sink.info("stopping all processes")
        for stage in reversed(start_stages(self.specs)):
            results = await asyncio.gather(
                *(self.processes[spec.name].stop() for spec in reversed(stage)), return_exceptions=True
            )
            for spec, result in zip(reversed(stage), results, strict=True):
                if isinstance(result, Exception):
                    self.sink.error(f"{spec.name}: stopping failed: {result!r}")

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.processes[spec.name].snapshot() for spec in self.specs]

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one control request."""
        command = request.get("command")
        if command == "ps":
            return {"ok": True, "processes": self.snapshot()}
        if command not in ("start", "stop", "restart"):
            return {
                "ok": False,
                "error": f"unknown command {command!r} (expected ps, start, stop or restart)",
            }
        name = request.get("name")
        process = self.processes.get(name) if isinstance(name, str) else None
        if process is None:
            known = ", ".join(self.processes)
            return {"ok": False, "error": f"no process named {name!r} (known: {known})"}
        if self._closing and command != "stop":
            return {"ok": False, "error": "the supervisor is shutting down"}
        self.sink.info(f"{command} {name} requested over the control socket")
        try:
            if command == "stop":
                changed = await process.stop()
            elif command == "start":
                changed = await process.start()
            else:
                await process.restart()
                changed = True
        except StartupError as exc:
            self.sink.error(str(exc))
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "changed": changed, "process": process.snapshot()}


def run_supervisor(supervisor: Supervisor, on_ready: Callable[[], None] | None = None) -> int:
    """Run ``supervisor`` in a fresh event loop until SIGINT, SIGTERM or SIGHUP (its terminal closed)."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        try:
            return await supervisor.run(stop, on_ready)
        finally:
            for signum in _STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    return asyncio.run(main())
