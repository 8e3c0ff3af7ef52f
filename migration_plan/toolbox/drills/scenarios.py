"""The drill scenarios: what goes wrong, who is expected to roll back, and how the stack is restored.

errors          the service answers 500 to half its requests (fault injection)    guard rolls back
slow            the service answers 400 ms late (fault injection)                  guard rolls back
killed          the service's process is stopped (supervisor stop)                guard rolls back
database        the service's database file is replaced by garbage, workers reload  guard rolls back
broker          the Redis broker of the data sync goes away and comes back         nothing to roll back
worker-restart  a data-plane worker is terminated while a route is being flipped   (manual flip)
flip            an operator flips the route to the service and back under load     (manual)
panic           an operator sends every route back to legacy under load            (manual)
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.stack import StackAddresses

__all__ = ["SCENARIOS", "DrillContext", "Expectation", "Scenario", "scenario_names"]


class Expectation(StrEnum):
    GUARD = "guard"
    """The fault must be detected and rolled back automatically."""
    MANUAL = "manual"
    """The operator's own action under load: it must not fail a single request."""
    SYNC = "sync"
    """Nothing to roll back: the data sync must lose nothing."""


@dataclass
class DrillContext:
    """What a scenario may touch, and a log of timed events for the report."""

    stack: StackAddresses
    control: DrillControl
    service: str = "catalog"
    events: list[tuple[float, str]] = field(default_factory=list)
    saved: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def event(self, label: str) -> float:
        now = time.time()
        self.events.append((now, label))
        return now


Action = Callable[[DrillContext], None]


def _nothing(_: DrillContext) -> None:
    return None


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    expect: Expectation
    inject: Action
    recover: Action = _nothing
    start_mode: str = "new"
    """Mode of the drilled route while the steady state is measured."""
    short: bool = False
    """Short enough for CI."""
    final_target: str = "legacy"
    """Manual drills: the side that serves the route once the action is done."""
    precondition: Callable[[DrillContext], str | None] | None = None
    """Returns why the drill cannot run on this stack (it is then skipped), or None."""
    write_share: float | None = None
    """Overrides the load's share of stock writes (the slow drill has none: a stock write takes a second
    of password hashing in the monolith, which would hide a slow catalog in the legacy p99 baseline)."""


def describe_fault(fault: dict[str, Any]) -> str:
    """``500 on 50% of the new side's requests``: a fault in words, for the audit reason."""
    side = {"new": "the new side's", "legacy": "the legacy's", "both": "all"}[fault.get("target", "new")]
    effects = []
    if fault.get("abort_status"):
        effects.append(f"answer {fault['abort_status']}")
    if fault.get("delay_ms"):
        effects.append(f"{fault['delay_ms']} ms delay")
    what = " and ".join(effects) or "no effect"
    return f"{what} on {fault.get('percent', 100.0):g}% of {side} requests"


def _fault(fault: dict[str, Any]) -> Action:
    def inject(ctx: DrillContext) -> None:
        ctx.control.set_fault(fault, reason=f"drill: inject {describe_fault(fault)}")

    return inject


def _clear_fault(ctx: DrillContext) -> None:
    if ctx.control.rule().get("fault") is not None:
        ctx.control.set_fault(None, reason="drill: remove the fault")


def _stop_service(ctx: DrillContext) -> None:
    ctx.stack.supervisor("stop", ctx.service)


def _start_service(ctx: DrillContext) -> None:
    ctx.stack.supervisor("start", ctx.service)


def _needs_sqlite_database(ctx: DrillContext) -> str | None:
    base = ctx.stack.home / "services" / ctx.service / f"{ctx.service}.sqlite3"
    if not base.is_file():
        return f"{ctx.service} keeps no SQLite file at {base} (a database server is drilled by stopping it)"
    return None


def _database_files(ctx: DrillContext) -> list[Path]:
    folder = ctx.stack.home / "services" / ctx.service
    base = folder / f"{ctx.service}.sqlite3"
    if not base.is_file():
        raise RuntimeError(f"no SQLite database at {base}: the database drill needs the default file store")
    return [base, *(p for p in (Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists())]


def _reload_workers(ctx: DrillContext) -> None:
    """SIGHUP the service's gunicorn master: its workers are replaced and open the database afresh."""
    pid = ctx.stack.process(ctx.service)["pid"]
    if not pid:
        raise RuntimeError(f"{ctx.service} is not running")
    os.kill(int(pid), signal.SIGHUP)


def _lose_database(ctx: DrillContext) -> None:
    """Move the database files aside and put garbage in their place, then reload the workers (the files
    are only renamed: running as root, making them unreadable would change nothing)."""
    files = _database_files(ctx)
    ctx.saved["database"] = files
    for path in files:
        path.rename(path.with_name(path.name + ".drill-saved"))
    files[0].write_bytes(b"this is not a database " * 64)
    _reload_workers(ctx)


def _restore_database(ctx: DrillContext) -> None:
    files: list[Path] = ctx.saved.pop("database", [])
    if not files:
        return
    files[0].unlink(missing_ok=True)
    for path in files:
        path.with_name(path.name + ".drill-saved").rename(path)
    _reload_workers(ctx)


def _dataplane_workers(ctx: DrillContext) -> list[int]:
    return ctx.stack.dataplane_workers()


def _needs_two_workers(ctx: DrillContext) -> str | None:
    if len(_dataplane_workers(ctx)) < 2:
        return "the data plane runs fewer than 2 worker processes (STRANGLER_DATAPLANE_WORKERS)"
    return None


def _restart_worker_during_flip(ctx: DrillContext) -> None:
    workers = _dataplane_workers(ctx)
    ctx.saved["workers"] = workers
    os.kill(workers[0], signal.SIGTERM)
    ctx.event(f"data-plane worker {workers[0]} terminated")
    ctx.control.flip("new", reason="drill: flip while a data-plane worker restarts")
    ctx.event("flip to new published")


def _replace_worker(ctx: DrillContext) -> None:
    """Wait for the data plane to replace its worker; restart the data plane when it does not."""
    workers: list[int] = ctx.saved.pop("workers", [])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = _dataplane_workers(ctx)
        if workers and workers[0] not in current and len(current) >= len(workers):
            ctx.event(f"data-plane worker replaced (workers now {', '.join(map(str, current))})")
            return
        time.sleep(0.1)
    ctx.event("the data plane did not replace its worker within 10 s: `strangler restart dataplane`")
    ctx.notes.append("the data plane ran one worker short after the worker was terminated (not replaced)")
    ctx.stack.supervisor("restart", "dataplane")


def _flip_and_back(ctx: DrillContext) -> None:
    ctx.control.flip("new", reason="drill: manual flip under load")
    ctx.event("flip to new published")
    time.sleep(3)  # part of the scenario: three seconds served by the new side before going back
    ctx.saved["action_started"] = ctx.event("rollback to legacy asked")
    ctx.control.rollback(reason="drill: manual rollback under load")
    ctx.event("rollback to legacy published")


def _panic(ctx: DrillContext) -> None:
    ctx.control.panic(reason="drill: manual panic under load")
    ctx.event("panic published")


def _broker(ctx: DrillContext) -> None:
    """The broker drill has a flow of its own (:mod:`migration_plan.toolbox.drills.broker`): never called."""
    raise NotImplementedError("the broker drill runs through migration_plan.toolbox.drills.broker")


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "errors",
            "the service answers 500 to half of its requests",
            Expectation.GUARD,
            _fault({"target": "new", "percent": 50.0, "abort_status": 500}),
            _clear_fault,
            short=True,
        ),
        Scenario(
            "slow",
            "the service answers 400 ms late",
            Expectation.GUARD,
            _fault({"target": "new", "percent": 100.0, "delay_ms": 400}),
            _clear_fault,
            write_share=0.0,
        ),
        Scenario(
            "killed",
            "the service's process is stopped (supervisor stop)",
            Expectation.GUARD,
            _stop_service,
            _start_service,
        ),
        Scenario(
            "database",
            "the service's database file is replaced by garbage and its workers reload",
            Expectation.GUARD,
            _lose_database,
            _restore_database,
            precondition=_needs_sqlite_database,
        ),
        Scenario(
            "broker",
            "the Redis broker of the data sync goes away for a while, then comes back",
            Expectation.SYNC,
            _broker,
            start_mode="legacy",
        ),
        Scenario(
            "worker-restart",
            "a data-plane worker is terminated while the route is flipped to the service",
            Expectation.MANUAL,
            _restart_worker_during_flip,
            _replace_worker,
            start_mode="legacy",
            final_target="new",
            precondition=_needs_two_workers,
        ),
        Scenario(
            "flip",
            "an operator flips the route to the service, then rolls it back, under load",
            Expectation.MANUAL,
            _flip_and_back,
            start_mode="legacy",
        ),
        Scenario(
            "panic",
            "an operator sends every route back to legacy under load",
            Expectation.MANUAL,
            _panic,
            short=True,
        ),
    )
}


def scenario_names() -> list[str]:
    return list(SCENARIOS)
