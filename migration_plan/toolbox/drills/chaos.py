"""The chaos drill: a seeded random sequence of faults under a write load whose owner keeps moving.

    prepare   a route for the write probe's writes (strangler.toml's ``[drills.write]``; the route, its
              match and the counters from ``[drills.chaos]``: migration_plan/toolbox/drills/chaos_config.py)
              served by the legacy; the ``down`` counters topped up so that their falls never hit zero;
              the sides agree
    capacity  the staff clients send their writes back to back for ``probe_s`` seconds (the route on the
              legacy): what the route sustains; the load then runs at ``capacity_fraction`` of it
              (``rate``: fixed)
    load      staff clients move the counters through the front door at that rate (:mod:`.chaos_load`);
              the probe's writes are in the same ledger, never retried
    faults    for ``duration_s`` seconds, at random moments (``random.Random(seed)``, :mod:`.chaos_plan`),
              some overlapping: kill -9 of a process group (the supervisor restarts it) or of one
              data-plane worker (the data plane restarts it), stop and later start of a process (every
              sync worker, the services, the monolith, the control plane; sometimes with a flip or
              rollback while it is down, so while a backlog is pending, or mid-handover), and forward
              flips / rollbacks of the route through the admin API (handovers, never forced)
    settle    every process running and healthy again (the data plane with all its workers), the load
              drained, the two sides agreeing
    check     each side's final stock against the client's ledger (lost, duplicated), new conflicts;
              with field changes (``[drills.chaos] fields``, :mod:`.chaos_fields`), each field id's
              final value on each side against its last acknowledged change (lost)
    restore   the route back on legacy (a handover), the stock moved back to where it was, the fields
              set back to their values from before the drill

The route's writes go to whichever side owns it, so every flip and rollback is a handover of writes
with a backlog in flight; nothing is forced, so a refused handover (409) is an outcome, not a failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from migration_plan.toolbox.drills.capacity import LoadRate, load_rate
from migration_plan.toolbox.drills.chaos_fields import FieldCheck
from migration_plan.toolbox.drills.chaos_load import ChaosLoad, ChaosLoadSettings, DeltaLedger
from migration_plan.toolbox.drills.chaos_plan import Fault, fault_steps, overlapping, plan_faults
from migration_plan.toolbox.drills.chaos_result import ChaosResult, write_chaos_report
from migration_plan.toolbox.drills.chaos_run import ChaosOptions, ChaosRun
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.load import WriteLedger
from migration_plan.toolbox.drills.profile import WriteProbe
from migration_plan.toolbox.drills.stack import StackAddresses
from migration_plan.toolbox.drills.writes import WriteCheck, read_counts, revert_writes

__all__ = [
    "ChaosOptions",
    "ChaosResult",
    "Fault",
    "plan_faults",
    "run_chaos",
    "write_chaos_report",
]

log = logging.getLogger(__name__)

TOP_UP = 1000
"""Units added to each ``down`` product before the drill (and taken back after it)."""


def run_chaos(
    stack: StackAddresses,
    control: DrillControl,
    options: ChaosOptions,
    *,
    say: Callable[[str], None] = lambda _: None,
) -> ChaosResult:
    """Run the chaos drill for ``options.seed``; the stack is put back even when the drill fails."""
    result = ChaosResult(options.seed, time.time(), options.duration_s)
    chaos = ChaosRun(stack, control, options, result)
    faults = plan_faults(options.seed, options.duration_s, chaos.targets, worker_target=chaos.worker_target)
    result.overlaps = len({second for _, second in overlapping(faults)})
    products = options.up_products + options.down_products
    say(f"drill chaos: seed {options.seed}, {len(faults)} faults over {options.duration_s:g} s")
    probe = options.probe
    auth = probe.auth or ("", "")  # who logs in: chaos_config insists on a user
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
            fields=options.fields,
        )
    )
    fields_before: dict[int, str] = {}
    try:
        chaos.ensure_route()
        revert_writes(stack.legacy_url, probe, topped)  # the top-up: one compensating write each
        start = chaos.settle(products, options.settle_timeout_s)
        if not start.agree:
            raise RuntimeError(f"the sides disagree before the load: {start}")
        before, fields_before = start.legacy, start.legacy_fields
        conflicts_before = chaos.conflict_count()
        result.pace = _pace(load, options)
        if result.pace.capacity is not None:
            result.event(f"capacity measured: {result.pace.capacity.describe()}")
        load.start(result.pace.rate)
        began = _faults_under_load(chaos, faults, load, say)
        end = chaos.settle(products, options.settle_timeout_s)
        result.event("sides settled")
        check = WriteCheck(
            before,
            end.legacy,
            WriteLedger(acknowledged=load.ledger.acknowledged, unknown=load.ledger.unknown),
            others={"catalog": end.catalog},
            directions={p: -1 for p in options.down_products},
            label=lambda product: f"product {product} stock",
        )
        fields = FieldCheck(
            fields_before, {"legacy": end.legacy_fields, "catalog": end.catalog_fields}, load.field_ledger
        )
        result.lost_writes, result.duplicated = check.lost + fields.lost, check.duplicated
        result.reconciliation = check.lines + fields.lines
        result.conflicts = chaos.conflict_count() - conflicts_before
        result.run_s = time.time() - began
    except Exception as exc:  # reported in the summary line; the stack is still put back below
        log.exception("drill chaos failed")
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        _stop_load(load, result)
        _tally(result, load)
        _put_back(chaos, probe, original)
        if fields_before:
            _put_fields_back(load, fields_before, result)
    return result


def _faults_under_load(
    chaos: ChaosRun, faults: list[Fault], load: ChaosLoad, say: Callable[[str], None]
) -> float:
    """The plan's steps at their moments under the load, then every process back and the load drained;
    the moment the load started."""
    options, result = chaos.options, chaos.result
    pace = result.pace.describe() if result.pace is not None else "?"
    began = result.event(f"load started: {pace} from {options.clients} staff sessions")
    for index, step in enumerate(fault_steps(faults)):
        wait = began + step.at - time.time()
        if wait > 0:
            time.sleep(wait)
        if step.label:
            result.faults += 1
            result.event(f"fault at +{step.at:.1f} s: {step.label}")
        chaos.run_step(step, index)
    remaining = began + options.duration_s - time.time()
    if remaining > 0:
        time.sleep(remaining)
    say("drill chaos: faults done, settling")
    chaos.wait_for_steps()
    chaos.bring_back(options.settle_timeout_s)
    load.stop()
    result.event("load drained")
    return began


def _pace(load: ChaosLoad, options: ChaosOptions) -> LoadRate:
    """``options.rate``, else ``capacity_fraction`` of the writes the route sustains now."""
    if options.rate is not None:
        load.log_in()
        return LoadRate(options.rate)
    return load_rate(load.measure_capacity(options.probe_s), options.capacity_fraction)


def _stop_load(load: ChaosLoad, result: ChaosResult) -> None:
    """Stop the load if a failure left it running (``stop`` is idempotent)."""
    try:
        load.stop()
    except RuntimeError as exc:
        if str(exc) not in result.notes:
            result.notes.append(str(exc))


def _put_back(chaos: ChaosRun, probe: WriteProbe, original: dict[int, int]) -> None:
    result = chaos.result
    try:
        chaos.wait_for_steps()
        chaos.bring_back(chaos.options.settle_timeout_s)
        chaos.back_to_legacy()
        result.notes.extend(revert_writes(chaos.stack.legacy_url, probe, original))
    except Exception as exc:  # the stack could not be put back: said in the report
        log.exception("drill chaos could not put the stack back")
        result.notes.append(f"the stack was not put back: {type(exc).__name__}: {exc}")


def _put_fields_back(load: ChaosLoad, values: dict[int, str], result: ChaosResult) -> None:
    try:
        result.notes.extend(load.put_fields_back(values))
    except Exception as exc:  # said in the report
        log.exception("drill chaos could not set the fields back")
        result.notes.append(f"the fields were not set back: {type(exc).__name__}: {exc}")


def _tally(result: ChaosResult, load: ChaosLoad) -> None:
    ledger: DeltaLedger = load.ledger
    result.acknowledged = ledger.writes["acknowledged"]
    result.unknown = ledger.writes["unknown"]
    result.refused = ledger.writes["refused"]
    result.not_sent = load.not_sent
    result.writes = dict(sorted(ledger.writes.items()))
    if load.settings.fields is not None:
        result.field_writes = load.field_ledger.count("acknowledged")
