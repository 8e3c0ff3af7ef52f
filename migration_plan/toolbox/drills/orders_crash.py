"""The crash drill (``strangler drill orders-crash``): the service behind the checkout route is killed
(``kill -9`` of its process group) while customers check out, restarted by the supervisor, and its saga
recovery worker must leave nothing behind.

    prepare   the checkout route exists and serves the service (its guard off for the drill: the drill
              is about the service's crash, not about a rollback); the products' stock is read
    capacity  the customers check out back to back for ``probe_s`` seconds (the route on the service):
              the checkouts it sustains; the load runs at ``capacity_fraction`` of it (``rate``: fixed)
    load      each customer (a session of their own) fills the session cart and checks it out, paced
    kill      once checkouts are acknowledged, kill -9 of the service's process group in the middle of them
    restart   the supervisor restarts it (``strangler start`` when it does not); the load goes on a while
    drain     stop the load and wait for every checkout in flight
    recover   the drill's own recovery worker (``[drills.crash] recovery`` with a short ``--older-than``,
              stated in the report) runs until the service reports nothing pending, or the bound passes
    settle    each checkout of unknown outcome is asked again once under its key (idempotent)
    check     stock never below zero and ``stock + units in acknowledged orders == initial`` per product;
              every acknowledged order present on both sides once synced; nothing pending
    restore   the route back to legacy, the guard as it was
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from migration_plan.admin_client import AdminApiError
from migration_plan.project.drills_section import DrillCrashSection
from migration_plan.toolbox.drills.capacity import LoadRate, load_rate
from migration_plan.toolbox.drills.checkout_checks import check_stock, missing_orders
from migration_plan.toolbox.drills.checkout_load import CheckoutLoad, CheckoutLoadSettings, StockWatch
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.crash_report import NAME, CrashResult, write_crash_report
from migration_plan.toolbox.drills.load import TARGET_HEADER
from migration_plan.toolbox.drills.stack import StackAddresses

__all__ = ["NAME", "CrashOptions", "CrashResult", "run_orders_crash", "write_crash_report"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrashOptions:
    section: DrillCrashSection
    """strangler.toml's ``[drills.crash]``."""
    password: str = field(repr=False)
    rate: float | None = None
    """Checkouts per second, all customers together; None: ``capacity_fraction`` of the checkouts the
    route sustains, measured at the start of the drill."""
    capacity_fraction: float = 0.5
    probe_s: float = 3.0
    """How long the capacity probe checks out back to back."""
    before_kill_acknowledged: int = 5
    """Acknowledged checkouts before the kill (the load is really flowing)."""
    restart_timeout_s: float = 30.0
    """The longest the load waits for a first checkout acknowledged by the restarted service."""
    after_s: float = 4.0
    """Seconds of load once the restarted service acknowledged a checkout."""
    recovery_every_s: float = 1.0
    recovery_margin_s: float = 30.0
    """Beyond ``older_than + every``: the longest the drill waits for the worker to leave nothing."""
    settle_s: float = 30.0
    """The longest the drill waits for both sides to show every acknowledged order."""
    worker_env: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The environment of the stack's processes (the recovery worker and ``pending`` run in it)."""
    cwd: Path | None = None
    """Where the recovery worker and ``pending`` run (the project's folder)."""


class _Crash:
    def __init__(
        self, stack: StackAddresses, control: DrillControl, options: CrashOptions, result: CrashResult
    ) -> None:
        self.stack, self.control, self.options, self.result = stack, control, options, result
        self.section = options.section

    # -- the route ------------------------------------------------------------------------------------

    def move(self, mode: str) -> None:
        """Flip the route to ``mode`` (``new`` or ``legacy``): a handover, waiting for the sync."""
        reason = f"drill {NAME}: {'rollback' if mode == 'legacy' else 'flip'}"
        if mode == "legacy":
            path, body = f"/routes/{self.control.route}/rollback", {"to": "legacy", "reason": reason}
        else:
            path = f"/routes/{self.control.route}/flip"
            body = {"mode": "new", "upstream": self.control.upstream, "reason": reason}
        self.control.admin.request("POST", path, {**body, "drain_timeout_s": 10.0})
        self.result.event(f"route {self.control.route} on {mode}")

    def serve_from_service(self, timeout: float = 30.0) -> None:
        """The route on the service, and the front door serving it from there."""
        if self.control.mode() != "new":
            self.move("new")
        deadline = time.monotonic() + timeout
        while not self.serves_new():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the front door did not serve {self.section.checkout} from the service")
            time.sleep(0.2)

    def serves_new(self) -> bool:
        try:
            answer = httpx2.get(f"{self.stack.front_url}{self.section.checkout}", timeout=5.0)
        except httpx2.TransportError:
            return False
        return answer.headers.get(TARGET_HEADER) == "new" and answer.status_code < 500

    # -- the service ----------------------------------------------------------------------------------

    def healthy(self, name: str) -> bool:
        process = self.stack.process(name)
        return bool(process["state"] == "running" and process["health"] == "ok")

    def kill(self) -> int:
        pid = int(self.stack.process(self.section.upstream)["pid"])
        os.killpg(pid, signal.SIGKILL)  # master and workers: each supervised process leads its group
        self.result.event(f"kill -9 {self.section.upstream} (process group {pid}) under load")
        return pid

    def wait_restarted(self, killed: int, timeout: float = 90.0) -> None:
        """Wait for the supervisor to run the service again (``start`` it when it gave up)."""
        deadline = time.monotonic() + timeout
        asked = False
        while True:
            process = self.stack.process(self.section.upstream)
            if process["pid"] not in (None, killed) and self.healthy(self.section.upstream):
                self.result.event(f"{self.section.upstream} running again (pid {process['pid']}), healthy")
                return
            if process["state"] in ("stopped", "failed", "exited") and not asked:
                self.stack.supervisor("start", self.section.upstream)
                self.result.event(f"start {self.section.upstream} (the supervisor had not restarted it)")
                asked = True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.section.upstream} was not running again {timeout:g} s after the kill"
                )
            time.sleep(0.2)

    def environment(self) -> dict[str, str]:
        """The stack's environment for the service's commands, with where the stack is: its home and the
        monolith's URL (`strangler up` gives its processes the URL it resolved from the port)."""
        stack = {"STRANGLER_HOME": str(self.stack.home), "STRANGLER_LEGACY_URL": self.stack.legacy_url}
        return {**os.environ, **self.options.worker_env, **stack}

    def command(self, line: str) -> list[str]:
        text = line.replace("{python}", shlex.quote(sys.executable))
        return shlex.split(text.replace("{older_than}", f"{self.section.older_than_s:g}"))

    def pending(self) -> dict[str, int]:
        """The service's own count of checkouts unfinished or still holding stock."""
        done = subprocess.run(
            self.command(self.section.pending),
            env=self.environment(),
            cwd=self.options.cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"`{self.section.pending}` exited with {done.returncode}: {done.stderr[-1000:]}"
            )
        counts = json.loads(done.stdout.strip().splitlines()[-1])
        return {"unfinished": int(counts["unfinished"]), "unreleased": int(counts["unreleased"])}

    def recover(self, killed_at: float) -> dict[str, int]:
        """Run the drill's recovery worker until nothing is pending, or the bound passes; the last count."""
        argv = self.command(self.section.recovery)
        log_path = self.stack.home / f"drill-{NAME}-recovery.log"
        self.result.event(f"recovery worker started: {' '.join(argv[1:])}")
        with open(log_path, "wb") as output:
            worker = subprocess.Popen(
                argv,
                env=self.environment(),
                cwd=self.options.cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            bound = self.section.older_than_s + self.options.recovery_every_s + self.options.recovery_margin_s
            deadline = time.monotonic() + bound
            while True:
                counts = self.pending()
                if not any(counts.values()):
                    self.result.recovered_s = time.time() - killed_at
                    self.result.event("the service reports no checkout unfinished nor holding stock")
                    return counts
                if worker.poll() is not None:
                    raise RuntimeError(f"the recovery worker exited with {worker.returncode}: see {log_path}")
                if time.monotonic() > deadline:
                    self.result.event(f"still pending {bound:g} s after the worker started: {counts}")
                    return counts
                time.sleep(0.5)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
            self.result.event("recovery worker stopped")

    # -- the checks -----------------------------------------------------------------------------------

    def stock(self) -> dict[int, int]:
        counts = {}
        with httpx2.Client(base_url=self.stack.legacy_url, timeout=10.0) as client:
            for product in self.section.products:
                answer = client.get(self.section.stock.replace("{id}", str(product)))
                answer.raise_for_status()
                counts[product] = int(answer.json()[self.section.stock_field])
        return counts

    def orders_present(self, load: CheckoutLoad, wanted: Mapping[str, str]) -> dict[str, set[str]]:
        """Which of ``wanted`` (order number -> customer) each side has: the service through the front
        door (the route on new: answers marked as the new side's only), the monolith directly."""
        by_name = {customer.username: customer for customer in load.customers}
        present: dict[str, set[str]] = {"service": set(), "monolith": set()}
        for order_no, username in wanted.items():
            customer = by_name[username]
            path = self.section.order.replace("{order_no}", order_no)
            answer = customer.client.get(path)
            if answer.status_code == 200 and answer.headers.get(TARGET_HEADER) in ("new", None):
                present["service"].add(order_no)
            direct = httpx2.get(
                f"{self.stack.legacy_url}{path}", cookies=customer.client.cookies, timeout=10.0
            )
            if direct.status_code == 200:
                present["monolith"].add(order_no)
        return present


def run_orders_crash(
    stack: StackAddresses,
    control: DrillControl,
    options: CrashOptions,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> CrashResult:
    """Run the crash drill; the route and its guard are put back even when the drill fails."""
    section = options.section
    result = CrashResult(time.time(), section.older_than_s, section.customers)
    crash = _Crash(stack, control, options, result)
    usernames = tuple(section.users.format(n=n) for n in range(1, section.customers + 1))
    load = CheckoutLoad(
        CheckoutLoadSettings(
            stack.front_url,
            usernames,
            options.password,
            login=section.login,
            cart=section.cart,
            empty_cart=section.empty_cart,
            checkout=section.checkout,
            products=tuple(section.products),
        )
    )
    watch = StockWatch(crash.stock)
    saved_guard: dict[str, Any] | None = None
    guard_off = False
    say(f"drill {NAME}: {section.customers} customers check out while {section.upstream} is killed")
    try:
        control.ensure_route()
        saved_guard = control.guard_settings()
        control.admin.request("PUT", f"/guards/{control.route}", {"enabled": False, "settings": {}})
        guard_off = True
        crash.serve_from_service()
        initial = crash.stock()
        result.event(f"initial stock {initial}")
        killed_at = _checkouts_through_a_crash(crash, load, watch, say)
        say(f"drill {NAME}: recovery (--older-than {section.older_than_s:g})")
        counts = crash.recover(killed_at)
        result.unfinished, result.unreleased = counts["unfinished"], counts["unreleased"]
        result.retried = load.settle_unknown()
        result.event(f"{result.retried} checkout(s) of unknown outcome asked again under their key")
        watch.stop()
        _check(crash, load, watch, initial)
    except Exception as exc:  # reported in the summary line; the route is still put back below
        log.exception("drill %s failed", NAME)
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            load.stop()  # already stopped unless the drill failed under load
        except RuntimeError as exc:
            result.notes.append(str(exc))
        watch.stop()
        load.close()
        try:
            if control.mode() != "legacy":
                crash.move("legacy")
            if guard_off:
                control.restore_guard(saved_guard)
        except (AdminApiError, OSError) as exc:
            result.notes.append(f"the route was not put back: {type(exc).__name__}: {exc}")
    return result


def _checkouts_through_a_crash(
    crash: _Crash, load: CheckoutLoad, watch: StockWatch, say: Callable[[str], None]
) -> float:
    """The load, the kill once checkouts are acknowledged, the restart, more load, the drain; the
    moment of the kill."""
    options, result, section = crash.options, crash.result, crash.section
    load.login()
    watch.start()
    if options.rate is not None:
        result.pace = LoadRate(options.rate)
    else:
        result.pace = load_rate(load.measure_capacity(options.probe_s), options.capacity_fraction)
        assert result.pace.capacity is not None
        result.event(f"capacity measured: {result.pace.capacity.describe()}")
    began = result.event(f"load started: {section.customers} customers, {result.pace.describe()}")
    load.start(result.pace.rate)
    deadline = time.monotonic() + 60
    while load.acknowledged < options.before_kill_acknowledged:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {options.before_kill_acknowledged} checkouts in 60 s")
        time.sleep(0.05)
    killed = crash.kill()
    killed_at = time.time()
    before_restart = load.acknowledged
    say(f"drill {NAME}: killed {section.upstream}, waiting for its restart")
    crash.wait_restarted(killed)
    restarted = load.acknowledged
    deadline = time.monotonic() + options.restart_timeout_s
    while load.acknowledged == restarted and time.monotonic() < deadline:
        time.sleep(0.1)  # the front door may fail fast for a while (its circuit to the service)
    result.event(
        "first checkout acknowledged by the restarted service"
        if load.acknowledged > restarted
        else f"no checkout acknowledged within {options.restart_timeout_s:g} s of the restart"
    )
    time.sleep(options.after_s)  # part of the drill: checkouts on the restarted service
    load.stop()
    ended = result.event("load drained")
    result.rate = len(load.ledger.entries) / max(ended - began, 0.001)
    result.acknowledged_after_restart = load.acknowledged - restarted
    result.notes.append(
        f"{before_restart} checkout(s) acknowledged before the kill, "
        f"{result.acknowledged_after_restart} after the restart"
    )
    return killed_at


def _check(crash: _Crash, load: CheckoutLoad, watch: StockWatch, initial: dict[int, int]) -> None:
    """The stock against the acknowledged orders, every acknowledged order on both sides, the refusals."""
    result, ledger = crash.result, load.ledger
    result.unknown = len(ledger.unknown)
    stock = check_stock(initial, crash.stock(), ledger.units(), lowest=watch.lowest)
    result.oversold, result.held, result.stock_lines = stock.oversold, stock.held, stock.lines
    wanted = {e.order_no: e.customer for e in ledger.acknowledged if e.order_no is not None}
    result.acknowledged = len(wanted)
    deadline = time.monotonic() + crash.options.settle_s
    while True:
        missing = missing_orders(wanted, crash.orders_present(load, wanted))
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    result.event("acknowledged orders looked up on both sides")
    result.lost_writes = sum(len(numbers) for numbers in missing.values())
    result.order_lines = [f"{len(wanted)} acknowledged order(s) checked on the service and the monolith"]
    result.order_lines += [f"missing on the {side}: {', '.join(nos)}" for side, nos in missing.items()]
    for entry in ledger.entries:
        if entry.status is not None and not entry.acknowledged:
            result.refusals[entry.error] = result.refusals.get(entry.error, 0) + 1
    result.refused = sum(result.refusals.values())
    if watch.errors:
        result.notes.append(f"{len(watch.errors)} stock reading(s) failed, e.g. {watch.errors[0]}")
    result.notes.append(f"cart changes that failed (a product out of stock, ...): {load.cart_failures}")
