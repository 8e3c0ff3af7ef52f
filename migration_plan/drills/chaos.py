"""The chaos drill: a seeded random sequence of faults under a write load whose owner keeps moving.

    prepare   a route for the write probe's writes (strangler.toml's ``[drills.write]``; the route, its
              match and the counters from ``[drills.chaos]``: migration_plan/drills/chaos_config.py)
              served by the legacy; the ``down`` counters topped up so that their falls never hit zero;
              the sides agree
    capacity  the staff clients send their writes back to back for ``probe_s`` seconds (the route on the
              legacy): what the route sustains; the load then runs at ``capacity_fraction`` of it
              (``rate``: fixed)
    load      staff clients move the counters through the front door at that rate (:mod:`.chaos_load`);
              the probe's writes are in the same ledger, never retried
    faults    for ``duration_s`` seconds, one after the other at random moments (``random.Random(seed)``):
              kill -9 of a process group (the supervisor restarts it), stop and later start of a process
              (sometimes with a flip or rollback while it is down, so while a backlog is pending), and
              forward flips / rollbacks of the route through the admin API (handovers, never forced)
    settle    every process running and healthy again, the load drained, the two sides agreeing
    check     each side's final stock against the client's ledger (lost, duplicated), new conflicts
    restore   the route back on legacy (a handover), the stock moved back to where it was

The route's writes go to whichever side owns it, so every flip and rollback is a handover of writes
with a backlog in flight; nothing is forced, so a refused handover (409) is an outcome, not a failure.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_plan.admin_client import AdminApiError
from migration_plan.drills.capacity import LoadRate, load_rate
from migration_plan.drills.chaos_faults import DEFAULT_TARGETS, Fault, plan_faults
from migration_plan.drills.chaos_load import ChaosLoad, ChaosLoadSettings, DeltaLedger
from migration_plan.drills.chaos_report import ChaosResult, tally, write_chaos_report
from migration_plan.drills.control import DrillControl
from migration_plan.drills.load import WriteLedger
from migration_plan.drills.profile import WriteProbe
from migration_plan.drills.stack import StackAddresses
from migration_plan.drills.writes import WriteCheck, read_counts, revert_writes
from migration_plan.supervisor.control import ControlError

__all__ = [
    "ChaosOptions",
    "ChaosResult",
    "Fault",
    "plan_faults",
    "run_chaos",
    "write_chaos_report",
]

log = logging.getLogger(__name__)


SYNC_WORKERS = frozenset({"sync-relay", "sync-consume", "sync-reverse"})
TOP_UP = 1000
"""Units added to each ``down`` product before the drill (and taken back after it)."""


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
    """Stock writes per second, all clients together; None: ``capacity_fraction`` of what the route
    sustains, measured at the start of the drill."""
    capacity_fraction: float = 0.5
    probe_s: float = 3.0
    """How long the capacity probe writes back to back."""
    clients: int = 4
    route: str = "drill-chaos"
    up_products: tuple[int, ...] = (1, 2, 3)
    down_products: tuple[int, ...] = (4, 5, 6)
    targets: tuple[str, ...] = DEFAULT_TARGETS
    drain_timeout_s: float = 5.0
    """The handover's wait for the old owner's sync on each flip and rollback (never forced)."""
    settle_timeout_s: float = 120.0


class _Chaos:
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
        except AdminApiError as exc:
            outcome = f"refused {exc.status}" if exc.status is not None else "failed"
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
        self.move("new" if self.control.mode() == "legacy" else "legacy")

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

    def supervise(self, command: str, name: str) -> None:
        try:
            self.stack.supervisor(command, name)
        except ControlError as exc:
            self.result.event(f"{command} {name}: refused ({exc})")
            return
        self.result.event(f"{command} {name}: done")

    def inject(self, fault: Fault) -> None:
        if fault.kind == "kill":
            assert fault.target is not None
            self.kill(fault.target)
        elif fault.kind == "stop":
            assert fault.target is not None
            self.supervise("stop", fault.target)
            if fault.flip_while_down:
                time.sleep(fault.down_s / 2)
                self.toggle()
                time.sleep(fault.down_s / 2)
            else:
                time.sleep(fault.down_s)
            self.supervise("start", fault.target)
        else:
            self.toggle()

    def all_running(self) -> bool:
        processes = {p["name"]: p for p in self.stack.supervisor("ps")["processes"]}
        return all(
            processes[name]["state"] == "running" and processes[name]["health"] == "ok"
            for name in self.targets
        )

    def bring_back(self, timeout: float) -> None:
        """Start whatever a fault left stopped and wait until every process is running and healthy."""
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
        self.result.event("every process running and healthy")

    # -- the sides ------------------------------------------------------------------------------------

    def settle(self, products: Sequence[int], timeout: float) -> tuple[dict[int, int], dict[int, int]]:
        """Both sides' stock once they have agreed for 5 consecutive reads a second apart."""
        deadline = time.monotonic() + timeout
        agreed = 0
        while True:
            probe = self.options.probe
            legacy = read_counts(self.stack.legacy_url, probe, products)
            catalog = read_counts(self.stack.service_url, probe, products)
            agreed = agreed + 1 if legacy == catalog else 0
            if agreed >= 5:
                return legacy, catalog
            if time.monotonic() > deadline:
                self.result.notes.append(
                    f"the sides did not agree within {timeout:g} s: each judged as it stands"
                )
                return legacy, catalog
            time.sleep(1.0)

    def run_faults(self, faults: list[Fault], began: float) -> None:
        """Each fault at its moment after ``began``, then the rest of ``duration_s``."""
        for fault in faults:
            wait = began + fault.at - time.time()
            if wait > 0:
                time.sleep(wait)
            self.result.event(f"fault at +{fault.at:.1f} s: {fault.describe()}")
            self.inject(fault)
        remaining = began + self.options.duration_s - time.time()
        if remaining > 0:
            time.sleep(remaining)

    def conflict_count(self) -> int:
        return len(self.control.admin.request("GET", "/sync/conflicts?all=1")["conflicts"])


def run_chaos(
    stack: StackAddresses,
    control: DrillControl,
    options: ChaosOptions,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> ChaosResult:
    """Run the chaos drill for ``options.seed``; the stack is put back even when the drill fails."""
    result = ChaosResult(options.seed, time.time(), options.duration_s)
    chaos = _Chaos(stack, control, options, result)
    faults = plan_faults(options.seed, options.duration_s, chaos.targets)
    products = options.up_products + options.down_products
    auth = options.probe.auth or ("", "")  # who logs in: chaos_config insists on a user
    say(f"drill chaos: seed {options.seed}, {len(faults)} faults over {options.duration_s:g} s")
    probe = options.probe
    original = read_counts(stack.legacy_url, probe, products)
    topped = {p: original[p] + (TOP_UP if p in options.down_products else 0) for p in products}
    load = ChaosLoad(
        ChaosLoadSettings(
            stack.front_url,
            write_path=probe.path,
            delta_key=probe.undo or "delta",
            login=options.login,
            up_products=options.up_products,
            down_products=options.down_products,
            clients=options.clients,
            staff=auth,
            seed=options.seed,
        )
    )
    loaded = False
    try:
        chaos.ensure_route()
        revert_writes(stack.legacy_url, probe, topped)  # the top-up: one compensating write each
        before, catalog_before = chaos.settle(products, options.settle_timeout_s)
        if before != catalog_before:
            raise RuntimeError(
                f"the sides disagree before the load: legacy {before}, catalog {catalog_before}"
            )
        conflicts_before = chaos.conflict_count()
        loaded = True
        result.pace = _pace(load, options)
        if result.pace.capacity is not None:
            result.event(f"capacity measured: {result.pace.capacity.describe()}")
        load.start(result.pace.rate)
        began = result.event(f"load started: {result.pace.describe()} from {options.clients} staff sessions")
        chaos.run_faults(faults, began)
        say("drill chaos: faults done, settling")
        chaos.bring_back(options.settle_timeout_s)
        load.stop()
        loaded = False
        result.event("load drained")
        legacy, catalog = chaos.settle(products, options.settle_timeout_s)
        result.event("sides settled")
        check = _check(before, legacy, catalog, load.ledger, options)
        result.lost_writes, result.duplicated = check.lost, check.duplicated
        result.reconciliation = check.lines
        result.conflicts = chaos.conflict_count() - conflicts_before
    except Exception as exc:  # reported in the summary line; the stack is still put back below
        log.exception("drill chaos failed")
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        if loaded:
            try:
                load.stop()
            except RuntimeError as exc:
                result.notes.append(str(exc))
        tally(result, load.ledger, load.not_sent)
        try:
            chaos.bring_back(options.settle_timeout_s)
            chaos.back_to_legacy()
            result.notes.extend(revert_writes(stack.legacy_url, probe, original))
        except Exception as exc:  # the stack could not be put back: said in the report
            log.exception("drill chaos could not put the stack back")
            result.notes.append(f"the stack was not put back: {type(exc).__name__}: {exc}")
    return result


def _check(
    before: dict[int, int],
    legacy: dict[int, int],
    catalog: dict[int, int],
    ledger: DeltaLedger,
    options: ChaosOptions,
) -> WriteCheck:
    """Each side's final stock against the client's ledger (the ``down`` products' writes lower it)."""
    return WriteCheck(
        before,
        legacy,
        WriteLedger(acknowledged=ledger.acknowledged, unknown=ledger.unknown),
        others={"catalog": catalog},
        directions={p: -1 for p in options.down_products},
        label=lambda product: f"product {product} stock",
    )


def _pace(load: ChaosLoad, options: ChaosOptions) -> LoadRate:
    """``options.rate``, else ``capacity_fraction`` of the stock writes the route sustains now."""
    if options.rate is not None:
        load.log_in()
        return LoadRate(options.rate)
    return load_rate(load.measure_capacity(options.probe_s), options.capacity_fraction)
