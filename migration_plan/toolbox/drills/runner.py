"""Running one drill: steady state under load, the fault, the rollback, steady state again, the drain,
the reconciliation of acknowledged writes, and the stack put back as it was.

    prepare   the drilled route exists, its guard is tuned for drills, it serves ``start_mode``
    before    ``steady_s`` seconds of load: the steady state before
    inject    the scenario's fault (or the operator's action)
    watch     guard drills: poll the guard and the route until the route is back on legacy
    after     ``after_s`` seconds of load: the steady state after
    drain     stop the load and wait for every request in flight
    recover   the scenario puts the stack back (fault removed, process started, files restored)
    reconcile every acknowledged write of the profile's write probe must be in the monolith
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2

from migration_plan.toolbox.drills.broker import run_broker_drill
from migration_plan.toolbox.drills.capacity import LoadRate, drill_pace
from migration_plan.toolbox.drills.companion import LocustCompanion
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.load import TARGET_HEADER, LoadGenerator, LoadSettings, Sample, WriteLedger
from migration_plan.toolbox.drills.profile import DrillProfile
from migration_plan.toolbox.drills.report import write_index, write_report
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.scenarios import SCENARIOS, DrillContext, Expectation, Scenario
from migration_plan.toolbox.drills.series import failures_by_cause, steady_state
from migration_plan.toolbox.drills.stack import StackAddresses
from migration_plan.toolbox.drills.writes import read_counts, reconcile_writes, revert_writes

__all__ = ["DrillOptions", "pace", "run_drill", "run_scenarios", "wait_until"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrillOptions:
    profile: DrillProfile
    """What is drilled: the route, its service, the load's requests, the write probe."""
    steady_s: float = 5.0
    after_s: float = 5.0
    rollback_timeout_s: float = 20.0
    rate: float | None = None
    """Requests per second of the load; None: ``capacity_fraction`` of the route's capacity, measured at
    the start of each drill (:mod:`.capacity`)."""
    capacity_fraction: float = 0.5
    probe_s: float = 3.0
    """How long the capacity probe runs."""
    concurrency: int = 8
    write_share: float = 0.025
    locust_users: int = 0
    """Locust users run beside the drill's own load (0: none); see :mod:`.companion`."""
    locustfile: Path | None = None
    """The locustfile they run (None: the demo's loadtests/shop.py)."""
    reports: Path = Path("drills/reports")


def pace(stack: StackAddresses, options: DrillOptions) -> LoadRate:
    """The drill's load rate: ``options.rate``, else the stated fraction of the route's capacity measured
    now through the front door (the route as it is served at the start of the drill)."""
    return drill_pace(
        stack.front_url,
        options.profile,
        rate=options.rate,
        fraction=options.capacity_fraction,
        probe_s=options.probe_s,
        concurrency=options.concurrency,
    )


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check`` until it is true; TimeoutError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g}s")
        time.sleep(interval)


def _serves(front_url: str, profile: DrillProfile, expected: str) -> Callable[[], bool]:
    path = profile.path(profile.reads[0], profile.ids[0])

    def check() -> bool:
        try:
            response = httpx2.get(f"{front_url}{path}", timeout=5.0)
        except httpx2.TransportError:
            return False
        target = response.headers.get(TARGET_HEADER)
        return response.status_code == 200 and target in (expected, None)

    return check


def _healthy(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx2.get(url, timeout=2.0).status_code == 200
        except httpx2.TransportError:
            return False

    return check


def _health_url(stack: StackAddresses, profile: DrillProfile) -> str:
    health = profile.service_health
    return health if health.startswith(("http://", "https://")) else f"{stack.service_url}{health}"


def _prepare(scenario: Scenario, ctx: DrillContext, profile: DrillProfile) -> None:
    control = ctx.control
    control.ensure_route()
    control.configure_guard()
    if control.rule().get("fault") is not None:
        control.set_fault(None, reason="drill: clear a fault left behind")
    ctx.stack.supervisor("start", ctx.service)
    wait_until(_healthy(_health_url(ctx.stack, profile)), timeout=90, what=f"{ctx.service} ready")
    if control.mode() != scenario.start_mode:
        reason = f"drill {scenario.name}: steady state on {scenario.start_mode}"
        control.flip(scenario.start_mode, reason=reason)
    ctx.event(f"route {control.route} on {scenario.start_mode} (upstream {control.upstream})")
    wait_until(
        _serves(ctx.stack.front_url, profile, scenario.start_mode),
        timeout=15,
        what=f"the proxy serving the route from {scenario.start_mode}",
    )


def _watch_guard(result: DrillResult, ctx: DrillContext, timeout: float) -> None:
    assert result.injected is not None
    deadline = result.injected + timeout
    while time.time() < deadline:
        now = time.time()
        status = ctx.control.guard().get("status")
        if result.detected is None and status in ("failing", "tripped"):
            result.detected = now
            ctx.event(f"guard judged the route {status}")
        if ctx.control.mode() == "legacy":
            ctx.event("route seen back on legacy")
            break
        time.sleep(0.1)
    else:
        result.notes.append(f"no automatic rollback within {timeout:g} s of the fault")
        return
    since = datetime.fromtimestamp(result.injected - 1, tz=UTC)
    rollbacks = ctx.control.guard_rollbacks(since)
    if not rollbacks:
        result.notes.append("the route went back to legacy, but not by the guard")
        return
    entry = rollbacks[0]
    result.rolled_back = datetime.fromisoformat(entry["at"]).timestamp()
    windows = (entry.get("evidence") or {}).get("windows") or []
    if windows:
        result.first_failing_window_end = float(windows[0]["second"]) + 1.0
        reasons = "; ".join(reason for window in windows for reason in window["reasons"])
        result.notes.append(f"guard evidence: {reasons}")
    result.notes.append(f"guard: {entry.get('reason')}")
    if result.detected is None:
        result.detected = result.rolled_back


ROUTED_KINDS = frozenset({"read"})


def _switched(samples: Sequence[Sample], since: float, target: str) -> float | None:
    """When the last request of the drilled route sent after ``since`` was still served by the other side."""
    stale = [
        sample.started
        for sample in samples
        if sample.kind in ROUTED_KINDS
        and sample.started >= since
        and sample.target not in (target, "unknown")
        and not sample.failed
    ]
    return max(stale, default=None)


def _companion(
    scenario: Scenario, stack: StackAddresses, options: DrillOptions, load: LoadSettings, started: float
) -> LocustCompanion | None:
    if options.locust_users <= 0:
        return None
    waiting = options.rollback_timeout_s if scenario.expect is Expectation.GUARD else 5.0
    stamp = datetime.fromtimestamp(started, tz=UTC).strftime("%Y%m%d-%H%M%S")
    return LocustCompanion(
        stack.front_url,
        users=options.locust_users,
        seconds=options.steady_s + waiting + options.after_s,
        reports_dir=options.reports,
        prefix=f"{stamp}-{scenario.name}-locust",
        locustfile=options.locustfile,
        product_ids=tuple(i for i in load.profile.ids if i not in load.write_ids),
    )


def run_drill(
    scenario: Scenario,
    stack: StackAddresses,
    control: DrillControl,
    options: DrillOptions,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> DrillResult:
    """Run ``scenario`` against ``stack``; the stack is put back even when the drill fails."""
    result = DrillResult(
        name=scenario.name, summary=scenario.summary, expect=scenario.expect.value, started=time.time()
    )
    profile = options.profile
    ctx = DrillContext(stack=stack, control=control, service=profile.service)
    say(f"drill {scenario.name}: preparing ({scenario.summary})")
    _prepare(scenario, ctx, profile)
    reason = scenario.precondition(ctx) if scenario.precondition is not None else None
    if reason is not None:
        result.skipped = reason
        return result
    result.pace = pace(stack, options)
    ctx.event(f"load rate {result.pace.describe()}")
    settings = LoadSettings(
        base_url=stack.front_url,
        profile=profile,
        rate=result.pace.rate,
        concurrency=options.concurrency,
        write_share=options.write_share if scenario.write_share is None else scenario.write_share,
    )
    probe = profile.write
    counts_before = read_counts(stack.legacy_url, probe, probe.ids) if probe is not None else {}
    load = LoadGenerator(settings)
    companion = _companion(scenario, stack, options, settings, result.started)
    load_started = ctx.event("load started")
    load.start()
    if companion is not None:
        companion.start()
    recovered = False
    try:
        time.sleep(options.steady_s)  # the steady state before is measured over this period
        say(f"drill {scenario.name}: injecting")
        result.injected = ctx.event(f"inject: {scenario.summary}")
        scenario.inject(ctx)
        action_end = ctx.event("injection done")
        if scenario.expect is Expectation.GUARD:
            _watch_guard(result, ctx, options.rollback_timeout_s)
        else:
            result.detected = result.injected
            result.action_started = ctx.saved.get("action_started")
        time.sleep(options.after_s)  # the steady state after is measured over this period
    finally:
        load.stop()
        result.ended = ctx.event("load drained")
        if companion is not None:
            companion.finish()
            ctx.event("locust companion load done")
            result.notes.extend(companion.describe())
        say(f"drill {scenario.name}: recovering")
        try:
            scenario.recover(ctx)
            recovered = True
        finally:
            result.events = ctx.events
            result.notes.extend(ctx.notes)
    if recovered:
        ctx.event("stack recovered")
    _check_collateral(result, control)
    _read_load(result, scenario, load, load_started, action_end)
    _reconcile(result, stack, profile, counts_before, load.ledger)
    return result


def _read_load(
    result: DrillResult, scenario: Scenario, load: LoadGenerator, load_started: float, action_end: float
) -> None:
    """The load's samples, failures by cause, when the traffic switched sides (a manual drill), the
    steady states before and after, the writes acknowledged or unknown."""
    samples = load.snapshot()
    result.samples = samples
    if samples and all(sample.target == "unknown" for sample in samples):
        result.notes.append(
            "the front door sent no X-Strangler-Target header, so no request has a side: run the data "
            "plane with STRANGLER_DEBUG_HEADERS=true (`strangler up` does unless told otherwise)"
        )
    result.not_sent = load.skipped
    result.failures = failures_by_cause(samples)
    if scenario.expect is Expectation.MANUAL and result.injected is not None:
        since = result.action_started or result.injected
        switched = _switched(samples, since, scenario.final_target)
        result.rolled_back = max(switched or action_end, action_end)
    inject_at = result.injected or load_started
    result.before = steady_state(samples, load_started + 1, inject_at)
    after_from = (result.rolled_back or inject_at) + 1
    result.after = steady_state(samples, after_from, result.ended or time.time())
    result.writes_acknowledged = sum(load.ledger.acknowledged.values())
    result.writes_unknown = sum(load.ledger.unknown.values())


def _reconcile(
    result: DrillResult,
    stack: StackAddresses,
    profile: DrillProfile,
    counts_before: dict[int, int],
    ledger: WriteLedger,
) -> None:
    """The write probe's counts against the writes the load made (none lost), then put back."""
    probe = profile.write
    if probe is None:
        result.reconciliation = ["no write probe ([drills.write] in strangler.toml): the load wrote nothing"]
        return
    ready = probe.check_service and _service_ready(_health_url(stack, profile))
    services = {profile.service: stack.service_url} if ready else {}
    check = reconcile_writes(stack.legacy_url, probe, counts_before, ledger, service_urls=services)
    result.lost_writes = check.lost
    result.reconciliation = check.lines
    result.notes.extend(revert_writes(stack.legacy_url, probe, counts_before))


def _check_collateral(result: DrillResult, control: DrillControl) -> None:
    """Other routes the guards rolled back while the drill ran fail it: a drill leaves the rest alone."""
    since = datetime.fromtimestamp(result.started, tz=UTC)
    for entry in control.guard_rollbacks_elsewhere(since):
        result.collateral.append(f"{entry.get('target')} ({entry.get('reason')})")
    if result.collateral:
        result.notes.append(
            "the guards rolled back other routes while the drill ran (the drill does not put them back): "
            "its load, with the locust companion's, was more than the stack sustains beside them; run it "
            "with a lower --capacity-fraction, or look at those routes first"
        )


def run_scenarios(
    names: Sequence[str],
    stack: StackAddresses,
    control: DrillControl,
    options: DrillOptions,
    reports: Path,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> list[DrillResult]:
    """Run each named drill in turn, write its report, and an index of the run; a drill that fails to
    run is reported as an error and the next one still runs."""
    results: list[DrillResult] = []
    paths: list[Path] = []
    for name in names:
        scenario = SCENARIOS[name]
        try:
            if scenario.expect is Expectation.SYNC:
                result = run_broker_drill(scenario, stack, options, say=say)
            else:
                saved_guard = control.guard_settings()
                try:
                    result = run_drill(scenario, stack, control, options, say=say)
                finally:
                    control.restore_guard(saved_guard)  # the drill's failing_windows: 2 ends with it
        except Exception as exc:  # reported in the drill's report and its summary line
            log.exception("drill %s failed to run", name)
            result = DrillResult(name, scenario.summary, scenario.expect.value, started=time.time())
            result.error = f"{type(exc).__name__}: {exc}"
        paths.append(write_report(result, reports))
        results.append(result)
    write_index(results, paths, reports)
    return results


def _service_ready(url: str) -> bool:
    """True when the service answers its readiness check at ``url`` (its final counts are then checked)."""
    try:
        return httpx2.get(url, timeout=2.0).status_code == 200
    except httpx2.HTTPError:
        return False
