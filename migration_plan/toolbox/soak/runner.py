"""Orchestration of one soak: upstreams, control plane and data plane as real processes, load, flips
(published through the admin API), restarts. The route, its upstream's name and the traffic are the
project's ``[drills]`` (:mod:`.traffic`), reads and the write probe's writes; the upstreams are small
stand-ins answering every request."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from migration_plan.admin_client import AdminClient
from migration_plan.ports import free_port
from migration_plan.toolbox.drills.profile import DrillProfile
from migration_plan.toolbox.soak import procfs
from migration_plan.toolbox.soak.flips import SoakRoute
from migration_plan.toolbox.soak.load import LoadCounts, measure_capacity, paced_load
from migration_plan.toolbox.soak.traffic import SoakWrite, soak_paths, soak_profile, soak_writes
from strangler_proxy.store import make_engine
from strangler_proxy.store.schema import dataplane_workers

__all__ = ["SoakOptions", "SoakResult", "run_soak"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SoakOptions:
    seconds: float = 600.0
    load_fraction: float = 0.7
    flip_every_s: float = 5.0
    restart_every_s: float = 60.0
    """Shorter soaks restart a worker at half time instead, so every soak includes one restart."""
    workers: int = 2
    concurrency: int = 32
    probe_s: float = 5.0
    write_every: int = 10
    """Every ``write_every``-th paced request is a write of ``[drills.write]``'s probe (0, or no
    ``[drills.write]``: none)."""
    home: Path | None = None
    config: Path | None = None
    """The project file whose ``[drills]`` the soak takes its route and traffic from (default: the nearest
    ``strangler.toml``, or ``$STRANGLER_CONFIG``)."""


@dataclass
class SoakResult:
    seconds: float
    capacity_rps: float
    rate_rps: float
    counts: LoadCounts
    flips: int
    restarts: int
    rss_before: int
    rss_after: int
    fds_before: int
    fds_after: int
    notes: list[str] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        return (self.rss_after - self.rss_before) / self.rss_before if self.rss_before else 0.0

    @property
    def fd_growth(self) -> int:
        return self.fds_after - self.fds_before

    def line(self) -> str:
        return (
            f"soak: seconds={round(self.seconds)} requests={self.counts.requests} "
            f"writes={self.counts.writes} failed_requests={self.counts.failed} "
            f"rss_growth={self.rss_growth:.4f} fd_growth={self.fd_growth}"
        )

    def passed(self, *, max_rss_growth: float = 0.10, max_fd_growth: int = 16) -> bool:
        return (
            self.counts.failed == 0 and self.rss_growth < max_rss_growth and self.fd_growth <= max_fd_growth
        )


def _running(process: subprocess.Popen[bytes]) -> bool:
    return process.poll() is None


def _wait_http(url: str, alive: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the process serving {url} exited before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s")


class _Processes:
    """Children in their own sessions; :meth:`stop_all` ends each whole group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                argv,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.started):
            try:
                process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _figures(pid: int) -> tuple[int, int]:
    pids = procfs.tree(pid)
    return sum(procfs.rss_bytes(p) for p in pids), sum(procfs.fd_count(p) for p in pids)


def _settled_figures(pid: int, timeout: float = 10.0) -> tuple[int, int]:
    """RSS and fds of the data plane's tree once its fd count stops changing (connections wound down)."""
    deadline = time.monotonic() + timeout
    previous = _figures(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = _figures(pid)
        if current[1] == previous[1]:
            return current
        previous = current
    return previous


class _Rig:
    def __init__(self, options: SoakOptions, home: Path, profile: DrillProfile) -> None:
        self.options = options
        self.profile = profile
        self.home = home
        self.processes = _Processes(home / "logs")
        self.store_url = f"sqlite:///{home / 'store.sqlite3'}"
        self.store: Engine = make_engine(self.store_url)
        self.port = free_port()
        self.internal_port = free_port()
        self.admin_port = free_port()
        self.dataplane: subprocess.Popen[bytes] | None = None
        self.admin: AdminClient | None = None
        self.route: SoakRoute | None = None
        self.legacy_url = self.new_url = ""

    def start(self) -> None:
        urls = []
        for name in ("legacy", self.profile.upstream):
            port = free_port()
            process = self.processes.start(
                name,
                [
                    sys.executable,
                    "-m",
                    "migration_plan.toolbox.soak.upstream",
                    "--port",
                    str(port),
                    "--name",
                    name,
                ],
            )
            url = f"http://127.0.0.1:{port}"
            _wait_http(url + "/healthz", functools.partial(_running, process))
            urls.append(url)
        self.legacy_url, self.new_url = urls
        self._start_control_plane()
        # The probe runs on this table: half its paths reach each upstream, so both pools are warm
        # before the baseline figures are taken.
        assert self.route is not None
        self.route.add()
        self.dataplane = self.processes.start(
            "dataplane",
            [sys.executable, "-m", "strangler_proxy.dataplane"],
            {
                "STRANGLER_HOME": str(self.home),
                "STRANGLER_STORE_URL": self.store_url,
                "STRANGLER_LEGACY_URL": self.legacy_url,
                "STRANGLER_DATAPLANE_PORT": str(self.port),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(self.internal_port),
                "STRANGLER_DATAPLANE_WORKERS": str(self.options.workers),
                "STRANGLER_ACCESS_LOG_PATH": str(self.home / "logs" / "access.log"),
            },
        )
        _wait_http(f"http://127.0.0.1:{self.internal_port}/_strangler/readyz", self.dataplane_alive)
        self.wait_workers(exclude=set())

    def _start_control_plane(self) -> None:
        """The control plane on the store, the new upstream registered, guards off (the soak judges)."""
        process = self.processes.start(
            "controlplane",
            [sys.executable, "-m", "strangler_proxy.controlplane"],
            {
                "STRANGLER_HOME": str(self.home),
                "STRANGLER_STORE_URL": self.store_url,
                "STRANGLER_LEGACY_URL": self.legacy_url,
                "STRANGLER_ADMIN_PORT": str(self.admin_port),
                "STRANGLER_UPSTREAMS": f"{self.profile.upstream}={self.new_url}",
                "STRANGLER_GUARDS_ENABLED": "false",
            },
        )
        admin_url = f"http://127.0.0.1:{self.admin_port}"
        _wait_http(admin_url + "/readyz", lambda: process.poll() is None)
        self.admin = AdminClient.connect(admin_url, None, self.home)
        assert self.profile.match is not None  # soak_profile says so
        self.route = SoakRoute(self.admin, self.profile.route, self.profile.match, self.profile.upstream)

    def close(self) -> None:
        if self.admin is not None:
            self.admin.close()
        self.store.dispose()

    def dataplane_alive(self) -> bool:
        return self.dataplane is not None and self.dataplane.poll() is None

    def worker_pids(self) -> set[int]:
        assert self.dataplane is not None
        with self.store.connect() as conn:
            pids: list[int] = list(conn.execute(select(dataplane_workers.c.pid)).scalars())
            registered = {int(pid) for pid in pids}
        return set(procfs.children(self.dataplane.pid)) & registered

    def wait_workers(self, *, exclude: set[int], timeout: float = 60.0) -> set[int]:
        """Wait until ``workers`` registered workers run, none of them in ``exclude``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.dataplane_alive():
                raise RuntimeError("the data plane exited")
            pids = self.worker_pids() - exclude
            if len(pids) >= self.options.workers:
                return pids
            time.sleep(0.1)
        raise TimeoutError(f"the data plane did not get {self.options.workers} workers back")


async def _every(interval: float, stop: asyncio.Event, action: Callable[[], object]) -> int:
    count = 0
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
            return count
        except TimeoutError:
            pass
        await asyncio.to_thread(action)
        count += 1


async def _soak(
    rig: _Rig,
    options: SoakOptions,
    traffic: tuple[tuple[str, ...], tuple[SoakWrite, ...]],
    rate: float,
    counts: LoadCounts,
) -> tuple[int, int]:
    paths, writes = traffic
    stop = asyncio.Event()
    to_new = [True]

    def flip() -> None:
        to_new[0] = not to_new[0]
        assert rig.route is not None
        rig.route.flip(to_new=to_new[0])

    def restart() -> None:
        pids = sorted(rig.worker_pids())
        victim = pids[0]
        logger.info("restarting worker %d (SIGTERM; uvicorn's supervisor starts its replacement)", victim)
        os.kill(victim, signal.SIGTERM)
        rig.wait_workers(exclude={victim})

    restart_every = (
        options.restart_every_s if options.seconds >= 2 * options.restart_every_s else options.seconds / 2
    )
    flips = asyncio.create_task(_every(options.flip_every_s, stop, flip))
    restarts = asyncio.create_task(_every(restart_every, stop, restart))
    try:
        await paced_load(
            f"http://127.0.0.1:{rig.port}",
            paths,
            rate=rate,
            seconds=options.seconds,
            concurrency=options.concurrency,
            counts=counts,
            writes=writes,
            write_every=options.write_every,
        )
    finally:
        stop.set()
    return await flips, await restarts


def run_soak(options: SoakOptions) -> SoakResult:
    """Run one soak end to end; every process it starts is stopped before it returns.
    ``SoakTrafficError`` (before anything starts) when the project file says nothing to soak."""
    profile = soak_profile(options.config, os.environ)
    paths = soak_paths(profile)
    writes = soak_writes(profile)
    with tempfile.TemporaryDirectory(prefix="strangler-soak-") as scratch:
        home = options.home or Path(scratch)
        rig = _Rig(options, home, profile)
        try:
            rig.start()
            assert rig.dataplane is not None
            base = f"http://127.0.0.1:{rig.port}"
            capacity = asyncio.run(
                measure_capacity(base, paths, seconds=options.probe_s, concurrency=options.concurrency)
            )
            rate = capacity * options.load_fraction
            logger.info(
                "capacity %.0f req/s; soaking at %.0f req/s for %.0f s", capacity, rate, options.seconds
            )
            rss_before, fds_before = _settled_figures(rig.dataplane.pid)
            counts = LoadCounts()
            started = time.monotonic()
            flips, restarts = asyncio.run(_soak(rig, options, (paths, writes), rate, counts))
            elapsed = time.monotonic() - started
            rss_after, fds_after = _settled_figures(rig.dataplane.pid)
            result = SoakResult(
                elapsed, capacity, rate, counts, flips, restarts, rss_before, rss_after, fds_before, fds_after
            )
            if options.write_every and not writes:
                result.notes.append("no [drills.write] in the project file: the soak sent reads only")
            if counts.late:
                result.notes.append(f"{counts.late} requests left more than 1 s behind their slot")
            return result
        finally:
            rig.processes.stop_all()
            rig.close()
