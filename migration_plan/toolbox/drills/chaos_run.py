"""What the chaos drill does to a stack: its route and handovers, the plan's steps on its processes, the
settling and the sides' stock (:mod:`.chaos` runs the whole drill)."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from migration_plan.admin_client import AdminApiError, Unreachable
from migration_plan.toolbox.drills.chaos_fields import FieldWrites, read_fields
from migration_plan.toolbox.drills.chaos_plan import DEFAULT_TARGETS, WORKER_TARGET, Step
from migration_plan.toolbox.drills.chaos_result import ChaosResult
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.profile import WriteProbe
from migration_plan.toolbox.drills.stack import StackAddresses
from migration_plan.toolbox.drills.writes import read_counts
from migration_plan.toolbox.supervisor.control import ControlError

__all__ = ["ChaosOptions", "ChaosRun", "Sides"]


@dataclass(frozen=True)
class ChaosOptions:
    probe: WriteProbe
    """The writes (``undo``: the body key of a move) and their counters, read on each side; its ``auth``
    is the user who logs in (``login``) for the load's sessions."""
    rule_match: Mapping[str, Any]
    """The writes' route: the rule the drill creates when it is missing, whose owner it keeps moving."""
    login: str = "/accounts/login/"
    seed: int = 1
    duration_s: float = 60.0
    """How long faults are injected (the load runs as long, plus the settling)."""
    rate: float | None = None
    """Writes per second, all clients together; None: ``capacity_fraction`` of what the route
    sustains, measured at the start of the drill."""
    capacity_fraction: float = 0.5
    probe_s: float = 3.0
    """How long the capacity probe writes back to back."""
    clients: int = 4
    route: str = "drill-chaos"
    up_products: tuple[int, ...] = (1, 2, 3)
    down_products: tuple[int, ...] = (4, 5, 6)
    targets: tuple[str, ...] = DEFAULT_TARGETS
    worker_target: str | None = WORKER_TARGET
    """The process one of whose workers is killed now and then (None: never)."""
    drain_timeout_s: float = 5.0
    """The handover's wait for the old owner's sync on each flip and rollback (never forced)."""
    settle_timeout_s: float = 120.0
    fields: FieldWrites | None = None
    """Field changes besides the counters' moves (None: moves only)."""


@dataclass(frozen=True)
class Sides:
    """What each side holds: the counters, and the fields of :attr:`ChaosOptions.fields` (if any)."""

    legacy: dict[int, int]
    catalog: dict[int, int]
    legacy_fields: dict[int, str]
    catalog_fields: dict[int, str]

    @property
    def agree(self) -> bool:
        return self.legacy == self.catalog and self.legacy_fields == self.catalog_fields


class ChaosRun:
    """One run: the stack, its control plane, the options and the result being filled."""

    def __init__(
        self, stack: StackAddresses, control: DrillControl, options: ChaosOptions, result: ChaosResult
    ) -> None:
        self.stack = stack
        self.control = control
        self.options = options
        self.result = result
        running = {process["name"] for process in stack.supervisor("ps")["processes"]}
        self.targets = tuple(name for name in options.targets if name in running)
        """The targets this stack runs (a stack without, say, a reverse relay is not faulted there)."""
        self.worker_target = options.worker_target if options.worker_target in running else None
        self.workers = len(stack.dataplane_workers()) if self.worker_target == WORKER_TARGET else 0
        """The data plane's workers before the drill: as many must be serving after it."""
        self._handover: threading.Thread | None = None
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        """One thread per process: its steps run in order, beside the other processes' steps, so that a
        start waiting for a slow readiness holds up no other step of the plan."""
        self._steps: list[Future[None]] = []

    # -- the route ------------------------------------------------------------------------------------

    def ensure_route(self) -> None:
        admin, route = self.control.admin, self.options.route
        try:
            admin.request("GET", f"/routes/{route}")
        except AdminApiError as exc:
            if exc.status != 404:
                raise
            rule = {"name": route, "match": dict(self.options.rule_match)}
            body = {"rule": rule, "position": 0, "reason": f"drill chaos: create {route}"}
            admin.request("POST", "/routes", body)
        self.back_to_legacy()

    def back_to_legacy(self, attempts: int = 3) -> None:
        """Roll the route back to legacy (a handover, waiting up to 10 s each time: the admin client
        gives up after 15); an error when it is still on the new side after ``attempts``."""
        for _ in range(attempts):
            if self.control.mode() == "legacy" or self.move("legacy", drain_timeout_s=10.0, count=False):
                return
        raise RuntimeError(f"route {self.options.route} could not be handed back to legacy")

    def move(self, mode: str, *, drain_timeout_s: float | None = None, count: bool = True) -> bool:
        """Flip the route to ``mode`` (a handover, never forced); False when it was refused."""
        timeout = self.options.drain_timeout_s if drain_timeout_s is None else drain_timeout_s
        reason = f"drill chaos seed {self.result.seed}: {'rollback' if mode == 'legacy' else 'flip'}"
        if mode == "legacy":
            path = f"/routes/{self.options.route}/rollback"
            body: dict[str, Any] = {"to": "legacy", "reason": reason, "drain_timeout_s": timeout}
        else:
            path = f"/routes/{self.options.route}/flip"
            body = {
                "mode": mode,
                "upstream": self.control.upstream,
                "reason": reason,
                "drain_timeout_s": timeout,
            }
        label = f"{'rollback' if mode == 'legacy' else 'flip'} to {mode}"
        try:
            self.control.admin.request("POST", path, body)
        except Unreachable as exc:  # the control plane stopped or killed: the handover's outcome is open
            self.result.event(f"{label}: no answer from the control plane ({exc})")
            if count:
                self._count(f"{label}: no answer")
            return False
        except AdminApiError as exc:
            if exc.status is not None and exc.status < 500:
                outcome = f"refused {exc.status}"
            else:  # a 5xx (say, a control plane cancelling the request as it stops): not a refusal
                outcome = "failed" if exc.status is None else f"failed {exc.status}"
            self.result.event(f"{label}: {outcome} ({exc})")
            if count:
                self._count(f"{label}: {outcome}")
            if exc.status is None or exc.status >= 500:
                self.result.notes.append(f"{label} failed: {exc}")
            return False
        self.result.event(f"{label}: done")
        if count:
            self._count(f"{label}: done")
        return True

    def _count(self, key: str) -> None:
        self.result.handovers[key] = self.result.handovers.get(key, 0) + 1

    def toggle(self) -> None:
        try:
            mode = self.control.mode()
        except AdminApiError as exc:  # the control plane stopped, killed or still starting
            self.result.event(f"flip: the route's owner could not be read ({exc})")
            self._count("flip: no control plane")
            return
        self.move("new" if mode == "legacy" else "legacy")

    def toggle_in_background(self) -> None:
        """Flip the route in a thread of its own, so that the plan's next steps (a stop of the control
        plane, say) run while the handover waits; skipped while the previous handover is under way."""
        if self._handover is not None and self._handover.is_alive():
            self.result.event("flip skipped: the previous handover is still under way")
            return
        self._handover = threading.Thread(target=self.toggle, name="chaos-handover", daemon=True)
        self._handover.start()

    def wait_for_handover(self, timeout: float = 30.0) -> None:
        if self._handover is not None:
            self._handover.join(timeout)
            if self._handover.is_alive():
                raise TimeoutError(f"a handover was still under way {timeout:g} s after the faults")

    # -- processes ------------------------------------------------------------------------------------

    def kill(self, name: str) -> None:
        pid = self.stack.process(name).get("pid")
        if not pid:
            self.result.event(f"kill -9 {name}: not running (skipped)")
            return
        try:
            os.killpg(int(pid), signal.SIGKILL)  # each supervised process leads its own group
        except ProcessLookupError:
            self.result.event(f"kill -9 {name}: already gone")
            return
        self.result.event(f"kill -9 {name} (process group {pid}); the supervisor restarts it")

    def kill_worker(self, index: int) -> None:
        """kill -9 of one data-plane worker (``index`` among them, in pid order)."""
        workers = sorted(self.stack.dataplane_workers())
        if not workers:
            self.result.event("kill -9 of a data-plane worker: none running (skipped)")
            return
        pid = workers[index % len(workers)]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.result.event(f"kill -9 data-plane worker {pid}: already gone")
            return
        self.result.event(f"kill -9 data-plane worker {pid}; the data plane restarts it")

    def supervise(self, command: str, name: str) -> None:
        try:
            self.stack.supervisor(command, name)
        except ControlError as exc:
            self.result.event(f"{command} {name}: refused ({exc})")
            return
        self.result.event(f"{command} {name}: done")

    def run_step(self, step: Step, index: int) -> None:
        """Start one step of the plan (``index``: its place, which picks the worker a ``kill-worker``
        hits): a flip in the handover's thread, any other step in its process's lane."""
        if step.action == "flip":
            self.toggle_in_background()
            return
        action: Callable[[], None]
        if step.target is None:
            raise ValueError(f"chaos step {step!r} names no process")
        if step.action == "kill":
            action = functools.partial(self.kill, step.target)
        elif step.action == "kill-worker":
            action = functools.partial(self.kill_worker, index)
        elif step.action in ("stop", "start"):
            action = functools.partial(self.supervise, step.action, step.target)
        else:
            raise ValueError(f"unknown chaos step {step!r}")
        lane = self._lanes.get(step.target)
        if lane is None:
            lane = self._lanes[step.target] = ThreadPoolExecutor(1, thread_name_prefix=f"chaos-{step.target}")
        self._steps.append(lane.submit(action))

    def wait_for_steps(self, timeout: float = 240.0) -> None:
        """Wait until every step started has run (a supervisor's command answers within 180 s) and the
        handover under way has ended; a step that failed is said in the notes."""
        deadline = time.monotonic() + timeout
        for future in self._steps:
            error = future.exception(timeout=max(0.1, deadline - time.monotonic()))
            if error is not None:
                self.result.notes.append(f"a fault step failed: {type(error).__name__}: {error}")
        self._steps.clear()
        for lane in self._lanes.values():
            lane.shutdown(wait=False)
        self._lanes.clear()
        self.wait_for_handover(max(0.1, deadline - time.monotonic()))

    def all_running(self) -> bool:
        processes = {p["name"]: p for p in self.stack.supervisor("ps")["processes"]}
        healthy = all(
            processes[name]["state"] == "running" and processes[name]["health"] == "ok"
            for name in self.targets
        )
        return healthy and (not self.workers or len(self.stack.dataplane_workers()) >= self.workers)

    def bring_back(self, timeout: float) -> None:
        """Start whatever a fault left stopped and wait until every process is running and healthy, and
        the data plane serves with as many workers as before."""
        for name in self.targets:
            state = self.stack.process(name)["state"]
            if state not in ("running", "starting", "backoff"):
                self.supervise("start", name)
        deadline = time.monotonic() + timeout
        while not self.all_running():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the stack's processes were not all running {timeout:g} s after the faults"
                )
            time.sleep(0.5)
        workers = f", the data plane with its {self.workers} workers" if self.workers else ""
        self.result.event(f"every process running and healthy{workers}")

    # -- the sides ------------------------------------------------------------------------------------

    def read_sides(self, products: Sequence[int]) -> Sides:
        probe, fields = self.options.probe, self.options.fields
        legacy, service = self.stack.legacy_url, self.stack.service_url
        ids = fields.ids if fields is not None else ()
        return Sides(
            read_counts(legacy, probe, products),
            read_counts(service, probe, products),
            read_fields(legacy, fields, ids, probe.auth) if fields is not None else {},
            read_fields(service, fields, ids, probe.auth) if fields is not None else {},
        )

    def settle(self, products: Sequence[int], timeout: float) -> Sides:
        """Both sides' stock (and fields) once they have agreed for 5 consecutive reads a second apart."""
        deadline = time.monotonic() + timeout
        agreed = 0
        while True:
            sides = self.read_sides(products)
            agreed = agreed + 1 if sides.agree else 0
            if agreed >= 5:
                return sides
            if time.monotonic() > deadline:
                self.result.notes.append(
                    f"the sides did not agree within {timeout:g} s: each judged as it stands"
                )
                return sides
            time.sleep(1.0)

    def conflict_count(self) -> int:
        return len(self.control.admin.request("GET", "/sync/conflicts?all=1")["conflicts"])
