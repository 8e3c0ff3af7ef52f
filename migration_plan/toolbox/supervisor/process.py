"""One supervised process: setup, start, readiness, output, crash restarts with backoff, stop on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from migration_plan.toolbox.supervisor.backoff import BackoffState
from migration_plan.toolbox.supervisor.health import probe
from migration_plan.toolbox.supervisor.output import ProcessLog
from migration_plan.toolbox.supervisor.pgroup import group_members, parent_death_hook, signal_group
from migration_plan.toolbox.supervisor.process_state import (
    ProcessState,
    StartupError,
    describe_exit,
    exit_code,
    port_in_use,
)
from migration_plan.toolbox.supervisor.spec import ProcessSpec, SetupStep

__all__ = ["ManagedProcess", "ProcessState", "StartupError", "describe_exit"]

_READ_LIMIT = 1 << 20
_POLL = 0.1


class ManagedProcess:
    """Runs one :class:`ProcessSpec` in its own process group and keeps it running as its policy says."""

    def __init__(
        self,
        spec: ProcessSpec,
        *,
        session: aiohttp.ClientSession,
        log: ProcessLog,
        base_env: Mapping[str, str],
        health_interval: float = 1.0,
    ) -> None:
        self.spec = spec
        self.log = log
        self.restarts = 0
        self.state = ProcessState.PENDING
        self.health: str | None = None
        self._session = session
        self._base_env = dict(base_env)
        self._health_interval = health_interval
        self._proc: asyncio.subprocess.Process | None = None
        self._started_at: float | None = None
        self._healthy_since: float | None = None
        self._wanted = False
        self._setup_done = False
        self._backoff = BackoffState(spec.backoff)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._watch_task: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._preexec = parent_death_hook()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def snapshot(self) -> dict[str, Any]:
        """What ``strangler ps`` shows for this process."""
        uptime = time.monotonic() - self._started_at if self.pid is not None and self._started_at else None
        return {
            "name": self.name,
            "pid": self.pid,
            "state": str(self.state),
            "restarts": self.restarts,
            "uptime": round(uptime, 1) if uptime is not None else None,
            "health": self.health,
            "port": self.spec.port,
            "url": self.spec.url,
        }

    # -- commands ------------------------------------------------------------------------------------

    async def start(self) -> bool:
        """Run setup (first start only), spawn, wait until healthy. False when it was already running."""
        async with self._lock:
            if self._wanted:
                return False
            self._wanted = True
            self._wake.clear()
            self._backoff.reset()
            try:
                self._check_port_free()
                if not self._setup_done:
                    await self._run_setup()
                    self._setup_done = True
                await self._spawn()
                await self._wait_ready()
                self._start_monitor()
            except BaseException:
                self._wanted = False
                await self._terminate()
                self.state = ProcessState.FAILED
                raise
            self._watch_task = asyncio.create_task(self._watch(), name=f"watch-{self.name}")
            self._watch_task.add_done_callback(self._report_crashed_task)
            return True

    async def stop(self) -> bool:
        """Stop on purpose (never restarted): SIGTERM the group, SIGKILL after the grace period.

        False when there was nothing to stop (neither running nor waiting to be restarted).
        """
        was_wanted, self._wanted = self._wanted, False
        self._wake.set()
        # The watcher is cancelled outside the lock: it takes the lock itself to respawn, and on Python 3.11
        # a cancellation can be lost in a race with a finishing wait, so it must be able to finish on its own.
        watch, self._watch_task = self._watch_task, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        async with self._lock:
            was_running = self._proc is not None
            await self._terminate()
            if self.state is not ProcessState.FAILED or was_running:
                self.state = ProcessState.STOPPED
            return was_running or was_wanted

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- lifecycle -----------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return {**os.environ, **self._base_env, **self.spec.env}

    def _check_port_free(self) -> None:
        """Refuse to start when something else already listens on our port: its health checks would
        answer for us while our process fails to bind."""
        port = self.spec.port
        if port is None or not port_in_use(port):
            return
        reason = f"port {port} is already in use on 127.0.0.1 (another stack running? the port is set by env)"
        raise StartupError(self.name, reason, [])

    async def _run_setup(self) -> None:
        for step in self.spec.setup:
            await self._run_setup_step(step)

    async def _run_setup_step(self, step: SetupStep) -> None:
        command = shlex.join(step.argv)
        if step.once_marker is not None and step.once_marker.exists():
            self.log.sink.info(f"{self.name}: skipping `{command}` ({step.once_marker} exists)")
            return
        self.state = ProcessState.SETUP
        self.log.sink.info(f"{self.name}: setup `{command}`")
        proc = await self._exec(step.argv)
        reader = asyncio.create_task(self._pump(proc))
        try:
            returncode = await exit_code(proc)
            await reader
        except asyncio.CancelledError:
            await self._kill_group(proc, grace=self.spec.stop_grace)
            raise
        if returncode != 0 and not step.required:
            self.log.sink.warning(f"{self.name}: `{command}` exited with code {returncode}; continuing")
            return
        if returncode != 0:
            raise StartupError(
                self.name, f"setup command `{command}` exited with code {returncode}", self.log.tail()
            )
        if step.once_marker is not None:
            step.once_marker.parent.mkdir(parents=True, exist_ok=True)
            step.once_marker.write_text(f"{command}\n", encoding="utf-8")

    async def _exec(self, argv: tuple[str, ...]) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=self.spec.cwd,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._preexec,
                limit=_READ_LIMIT,
            )
        except OSError as exc:
            raise StartupError(self.name, f"cannot run `{shlex.join(argv)}`: {exc}", self.log.tail()) from exc

    async def _spawn(self) -> None:
        self.log.open()
        self.state = ProcessState.STARTING
        self.health = None
        self._healthy_since = None
        self._proc = await self._exec(self.spec.argv)
        self._started_at = time.monotonic()
        self._reader_task = asyncio.create_task(self._pump(self._proc), name=f"read-{self.name}")
        self.log.sink.info(f"{self.name}: started (pid {self._proc.pid})")
        if not self.spec.health_urls:  # no health check: healthy while it runs (a service's worker)
            self.state = ProcessState.RUNNING
            self._healthy_since = self._started_at
            self.health = "ok"

    async def _pump(self, proc: asyncio.subprocess.Process) -> None:
        """Copy the child's output to the log, line by line, until it closes its end."""
        assert proc.stdout is not None
        stream = proc.stdout
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                self.log.write(f"[a line longer than {_READ_LIMIT} bytes was dropped]")
                continue
            if not raw:
                return
            self.log.write(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    async def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        if not self.spec.health_urls:
            return
        timeout = self.spec.startup_timeout
        deadline = time.monotonic() + timeout
        poll = _POLL  # grows to 1 s: quick for fast starters, quiet in the logs of slow ones
        exited = asyncio.ensure_future(exit_code(proc))
        try:
            while True:
                if exited.done():
                    await self._drain_reader()
                    exit_reason = f"exited ({describe_exit(proc.returncode)}) before it was healthy"
                    raise StartupError(self.name, exit_reason, self.log.tail())
                reason = await probe(self._session, self.spec.health_urls)
                if reason is None:
                    break
                if time.monotonic() >= deadline:
                    raise StartupError(
                        self.name, f"not healthy after {timeout:g}s (last: {reason})", self.log.tail()
                    )
                await asyncio.wait({exited}, timeout=poll)
                poll = min(poll * 1.5, 1.0)
        finally:
            if not exited.done():
                exited.cancel()
        self._mark_healthy()
        self.log.sink.info(f"{self.name}: healthy after {time.monotonic() - (self._started_at or 0):.1f}s")

    def _mark_healthy(self) -> None:
        self.health = "ok"
        if self._healthy_since is None:
            self._healthy_since = time.monotonic()
        if self.state is ProcessState.STARTING:
            self.state = ProcessState.RUNNING

    def _start_monitor(self) -> None:
        self._health_task = asyncio.create_task(self._monitor_health(), name=f"health-{self.name}")

    async def _monitor_health(self) -> None:
        """Probe every ``health_interval``; while (re)starting, probe fast so `ps` shows it is back soon."""
        if not self.spec.health_urls:
            return
        fast = _POLL
        while True:
            if self.state is ProcessState.STARTING:
                await asyncio.sleep(fast)
                fast = min(fast * 1.5, 1.0)
            else:
                await asyncio.sleep(self._health_interval)
            if self._proc is None or self._proc.returncode is not None:
                return
            reason = await probe(self._session, self.spec.health_urls)
            if reason is None:
                if self.state is ProcessState.STARTING:
                    self.log.sink.info(f"{self.name}: healthy again")
                self._mark_healthy()
            elif self.state is ProcessState.RUNNING:
                if self.health == "ok":
                    self.log.sink.warning(f"{self.name}: health check failing: {reason}")
                self.health = "failing"
                self._healthy_since = None

    async def _watch(self) -> None:
        """Wait for the process to exit; restart it (with backoff) unless it was stopped on purpose."""
        while True:
            proc = self._proc
            returncode = await exit_code(proc) if proc is not None else 127
            if not self._wanted:
                return
            stable_for = time.monotonic() - self._healthy_since if self._healthy_since is not None else 0.0
            await self._cleanup_after_exit(proc)
            await self._drain_reader()
            if not self.spec.restart.restarts(returncode):
                self._wanted = False
                self.state = ProcessState.EXITED
                self.log.sink.warning(
                    f"{self.name}: exited ({describe_exit(returncode)}); its policy does not restart it"
                )
                return
            delay = self._backoff.on_crash(stable_for)
            self.state = ProcessState.BACKOFF
            self.log.sink.warning(
                f"{self.name}: exited ({describe_exit(returncode)}); restarting in {delay:.1f}s "
                f"(restart #{self.restarts + 1})"
            )
            await self._sleep_unless_woken(delay)
            async with self._lock:
                if not self._wanted:
                    return
                self.restarts += 1
                try:
                    await self._spawn()
                    self._start_monitor()
                except StartupError as exc:
                    self._proc = None
                    self.log.sink.error(str(exc))

    async def _sleep_unless_woken(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less when :meth:`stop` wakes us (``asyncio.wait`` keeps cancels)."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=delay)
        finally:
            woken.cancel()

    async def _cleanup_after_exit(self, proc: asyncio.subprocess.Process | None) -> None:
        """After a crash: stop the health monitor and whatever the dead leader left in its group."""
        await self._cancel_health()
        if proc is not None:
            await self._kill_group(proc, grace=min(self.spec.stop_grace, 5.0))
        self._proc = None

    async def _terminate(self) -> None:
        proc = self._proc
        await self._cancel_health()
        if proc is None:
            return
        self.state = ProcessState.STOPPING
        await self._kill_group(proc, grace=self.spec.stop_grace)
        await self._drain_reader()
        self._proc = None
        self.health = None
        self.log.sink.info(f"{self.name}: stopped ({describe_exit(proc.returncode)})")

    async def _kill_group(self, proc: asyncio.subprocess.Process, *, grace: float) -> None:
        """SIGTERM the process group, SIGKILL whatever is left after ``grace`` seconds."""
        pgid = proc.pid
        if proc.returncode is None or group_members(pgid):
            signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (proc.returncode is None or group_members(pgid)):
            await asyncio.sleep(0.05)
        if proc.returncode is None or group_members(pgid):
            self.log.sink.warning(f"{self.name}: still running after {grace:g}s, sending SIGKILL")
            signal_group(pgid, signal.SIGKILL)
            await exit_code(proc)
            deadline = time.monotonic() + 5.0
            while group_members(pgid) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

    async def _drain_reader(self) -> None:
        reader, self._reader_task = self._reader_task, None
        if reader is None:
            return
        await asyncio.wait({reader}, timeout=2.0)
        if not reader.done():
            # A grandchild still holds the pipe open; its output no longer belongs to this run.
            reader.cancel()
        elif not reader.cancelled() and reader.exception() is not None:
            self.log.sink.error(f"{self.name}: reading its output failed: {reader.exception()!r}")

    async def _cancel_health(self) -> None:
        task, self._health_task = self._health_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _report_crashed_task(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.state = ProcessState.FAILED
        self.log.sink.error(f"{self.name}: supervision stopped on an error: {task.exception()!r}")
