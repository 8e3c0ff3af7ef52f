"""The broker drill: the data sync's Redis goes away under write load and comes back; nothing may be lost.

The drill runs its own broker: a private ``redis-server`` on a free port (append-only file, fsync on
every write, in a temporary folder), never the machine's Redis. The sync relay and consumer run as
``python -m acl.sync relay|consume`` against it with a private sync database, so the stack's own sync
state is left alone. The stack's own relay and catalog consumer are stopped through its supervisor for
the drill's length (on SQLite only one relay may read the monolith's outbox, and a second path to the
catalog would hide the outage) and started again afterwards. The broker is killed (SIGKILL), left down
for ``DOWN_S`` seconds and started again on the same port and files; the shop's stock writes go on
meanwhile (the monolith keeps them in its outbox). After the drain the drill waits for
``python -m acl.sync reconcile catalog`` to find no difference: every acknowledged write reached the
catalog.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from migration_plan.toolbox.drills.capacity import LoadRate, drill_pace
from migration_plan.toolbox.drills.load import LoadGenerator, LoadSettings
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.series import failures_by_cause, steady_state
from migration_plan.toolbox.drills.stack import StackAddresses, free_port
from migration_plan.toolbox.drills.writes import read_counts, reconcile_writes

if TYPE_CHECKING:
    from migration_plan.toolbox.drills.runner import DrillOptions
    from migration_plan.toolbox.drills.scenarios import Scenario

__all__ = ["DOWN_S", "run_broker_drill"]

DOWN_S = 5.0
RELAY_FAILURE = "sync step failed"


class _Child:
    """A child process in its own process group, logging to a file."""

    def __init__(self, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        self.log = log
        with open(log, "ab") as handle:
            self.popen = subprocess.Popen(
                list(argv),
                env=dict(env) if env is not None else None,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signum)
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        except ProcessLookupError:
            pass

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(check: Callable[[], bool], timeout: float, what: str, child: _Child | None = None) -> float:
    deadline = time.monotonic() + timeout
    while not check():
        if child is not None and child.popen.poll() is not None:
            raise RuntimeError(f"{what}: the process exited\n{child.text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g}s")
        time.sleep(0.1)
    return time.time()


def _redis(binary: str, port: int, folder: Path) -> _Child:
    argv = (
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(folder),
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--save", "",
    )  # fmt: skip
    child = _Child(argv, folder / "redis.log")
    _wait(lambda: _listening(port), 20, "redis-server listening", child)
    return child


def _reconcile(env: Mapping[str, str]) -> tuple[bool, str]:
    result = subprocess.run(
        (sys.executable, "-m", "acl.sync", "reconcile", "catalog"),
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return result.returncode == 0, (result.stdout + result.stderr).strip()


STACK_SYNC_PROCESSES = ("sync-relay", "sync-consume")
"""The stack's forward relay and catalog consumer: paused while the drill's own pair runs."""


def _pause_stack_sync(stack: StackAddresses) -> list[str]:
    """Stop the stack's own forward relay and catalog consumer; the names actually stopped."""
    running = {process["name"] for process in stack.supervisor("ps")["processes"]}
    stopped = []
    for name in STACK_SYNC_PROCESSES:
        if name in running:
            stack.supervisor("stop", name)
            stopped.append(name)
    return stopped


def _resume_stack_sync(stack: StackAddresses, names: Sequence[str]) -> None:
    for name in names:
        stack.supervisor("start", name)


def run_broker_drill(
    scenario: Scenario,
    stack: StackAddresses,
    options: DrillOptions,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> DrillResult:
    result = DrillResult(scenario.name, scenario.summary, scenario.expect.value, started=time.time())
    binary = shutil.which("redis-server")
    if binary is None:
        result.skipped = "no redis-server binary on this machine to run a private broker"
        return result
    folder = Path(tempfile.mkdtemp(prefix="strangler-broker-"))
    keep = False
    port = free_port()
    env = _sync_env(stack, port, folder)
    children: list[_Child] = []
    events: list[tuple[float, str]] = []

    def event(label: str) -> float:
        events.append((time.time(), label))
        return events[-1][0]

    paused: list[str] = []
    try:
        paused = _pause_stack_sync(stack)
        say(f"drill {scenario.name}: private redis-server on port {port}, sync relay and consumer")
        redis = _redis(binary, port, folder)
        children.append(redis)
        relay = _Child((sys.executable, "-m", "acl.sync", "relay"), folder / "relay.log", env)
        consume = _Child((sys.executable, "-m", "acl.sync", "consume"), folder / "consume.log", env)
        children += [relay, consume]
        converged = _wait(lambda: _reconcile(env)[0], 90, "the catalog in sync before the drill", relay)
        event("catalog in sync with the monolith")
        result.pace = _pace(stack, options)
        event(f"load rate {result.pace.describe()}")
        probe = options.profile.write
        if probe is None:
            raise RuntimeError("the broker drill needs a write probe ([drills.write] in strangler.toml)")
        counts_before = read_counts(stack.legacy_url, probe, probe.ids)
        load = LoadGenerator(
            LoadSettings(
                base_url=stack.front_url,
                profile=options.profile,
                rate=result.pace.rate,
                concurrency=options.concurrency,
                write_share=0.05,
            )
        )
        load_started = event("load started (one request in twenty a stock write)")
        load.start()
        try:
            _outage(result, event, children, relay, (binary, port, folder), options)
        finally:
            load.stop()
            result.ended = event("load drained")
        converged = _wait(lambda: _reconcile(env)[0], 90, "the catalog catching up", relay)
        result.rolled_back = None
        event("catalog reconciled with the monolith: 0 differences")
        result.notes.append(f"caught up {converged - result.ended:.2f} s after the drain")
        _read_load(result, load, load_started)
        check = reconcile_writes(stack.legacy_url, probe, counts_before, load.ledger)
        result.lost_writes = check.lost
        result.reconciliation = [*check.lines, _reconcile(env)[1]]
    except TimeoutError as exc:
        _, report = _reconcile(env)
        result.error = f"{exc} (logs kept in {folder})"
        result.notes.append(report)
        keep = True
    finally:
        for child in reversed(children):
            child.kill()
        _resume_stack_sync(stack, paused)
        result.events = events
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def _pace(stack: StackAddresses, options: DrillOptions) -> LoadRate:
    """The load's rate: ``--rate``, else the options' share of the route's measured capacity."""
    return drill_pace(
        stack.front_url,
        options.profile,
        rate=options.rate,
        fraction=options.capacity_fraction,
        probe_s=options.probe_s,
        concurrency=options.concurrency,
    )


def _sync_env(stack: StackAddresses, port: int, folder: Path) -> dict[str, str]:
    """The environment of the drill's own sync relay and consumer: the private broker on ``port``."""
    # CATALOG_PORT is left out: SyncSettings also reads its field ``catalog_port`` (a port factory) by name.
    return {
        **{key: value for key, value in os.environ.items() if key != "CATALOG_PORT"},
        "STRANGLER_HOME": str(stack.home),
        "STRANGLER_LEGACY_URL": stack.legacy_url,
        "STRANGLER_SYNC_TRANSPORT": "redis",
        "STRANGLER_SYNC_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "STRANGLER_SYNC_STREAM": f"strangler:drill:{port}",
        "STRANGLER_SYNC_DATABASE_URL": f"sqlite:///{folder / 'sync.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }


def _outage(
    result: DrillResult,
    event: Callable[[str], float],
    children: list[_Child],
    relay: _Child,
    broker: tuple[str, int, Path],
    options: DrillOptions,
) -> None:
    """The steady state before; the broker (``children[0]``) killed for DOWN_S, the relay noticing, the
    broker started again on the same port and append-only file; the steady state after."""
    time.sleep(options.steady_s)  # the steady state before
    result.injected = event("broker killed (SIGKILL)")
    children[0].kill(signal.SIGKILL)
    offset = len(relay.text())
    try:
        result.detected = _wait(
            lambda: RELAY_FAILURE in relay.text()[offset:], DOWN_S + 5, "the relay noticing", relay
        )
        event("the relay reports failing steps")
    except TimeoutError:
        result.notes.append("the relay logged no failure while the broker was down")
    time.sleep(max(0.0, result.injected + DOWN_S - time.time()))  # the outage lasts DOWN_S
    children[0] = _redis(*broker)
    event("broker started again (same port, same append-only file)")
    time.sleep(options.after_s)  # the steady state after


def _read_load(result: DrillResult, load: LoadGenerator, load_started: float) -> None:
    """The load's samples, failures by cause, the steady states around the outage, the writes."""
    samples = load.snapshot()
    result.samples = samples
    result.not_sent = load.skipped
    result.failures = failures_by_cause(samples)
    assert result.injected is not None and result.ended is not None
    result.before = steady_state(samples, load_started + 1, result.injected)
    result.after = steady_state(samples, result.injected + DOWN_S + 1, result.ended)
    result.writes_acknowledged = sum(load.ledger.acknowledged.values())
    result.writes_unknown = sum(load.ledger.unknown.values())
