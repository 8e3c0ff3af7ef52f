"""Short rollback drills against a real stack (`strangler up` on free ports, a small seed):
the catalog starts answering 500s and the guard must roll it back within 3 s of the first failing
window; an operator's panic under load must not fail a single request; the sync broker goes away
under writes and comes back; the chaos drill (one seed) kills, stops and restarts the sync workers, the
services, the monolith, the control plane and a data-plane worker, some at once, and moves the stock
writes' owner back and forth. No drill may lose a write. Every drill's load runs at half of what its
route sustains, measured at the start of the drill."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_plan.admin_client import AdminClient
from migration_plan.project import load_project
from migration_plan.toolbox.drills import (
    SCENARIOS,
    DrillControl,
    DrillOptions,
    OwnStack,
    StackAddresses,
    run_chaos,
    run_scenarios,
)
from migration_plan.toolbox.drills.chaos_config import chaos_options
from migration_plan.toolbox.drills.chaos_plan import overlapping, plan_faults
from migration_plan.toolbox.drills.orders_crash import CrashOptions, run_orders_crash, write_crash_report
from migration_plan.toolbox.drills.profile import drill_profile, match_json
from tests.support.processes import ROOT

pytestmark = [pytest.mark.load, pytest.mark.integration, pytest.mark.xdist_group("drills")]

PROFILE = drill_profile(load_project(ROOT / "strangler.toml"))  # the repository's own [drills]
OPTIONS = DrillOptions(PROFILE, steady_s=3.0, after_s=3.0, rollback_timeout_s=15.0, write_share=0.05)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnStack]:
    home = tmp_path_factory.mktemp("drills") / "home"
    own = OwnStack(
        home,
        ROOT / "strangler.toml",
        PROFILE.service,
        PROFILE.upstream,
        env={"LEGACYSHOP_SEED_PRODUCTS": "60"},
    )
    try:
        own.start()
        yield own
    finally:
        own.stop()


@pytest.fixture(scope="module")
def stack(own_stack: OwnStack) -> StackAddresses:
    assert own_stack.addresses is not None
    return own_stack.addresses


@pytest.fixture
def control(stack: StackAddresses) -> Iterator[DrillControl]:
    with AdminClient.connect(stack.admin_url, None, stack.home) as admin:
        yield DrillControl(admin, PROFILE.route, PROFILE.upstream, dict(PROFILE.match or {}))


def test_short_drills_are_marked_for_ci() -> None:
    assert sorted(name for name, scenario in SCENARIOS.items() if scenario.short) == ["errors", "panic"]


def test_the_guard_rolls_back_a_failing_catalog_within_three_seconds(
    stack: StackAddresses, control: DrillControl, tmp_path: Path
) -> None:
    [result] = run_scenarios(["errors"], stack, control, OPTIONS, tmp_path)
    assert result.error is None, result.error
    assert control.mode() == "legacy", "the guard sent the route back to legacy"
    assert result.rolled_back is not None and result.first_failing_window_end is not None, result.notes
    assert result.rollback_s is not None and result.rollback_s <= 3.0, result.line()
    assert result.lost_writes == 0, result.reconciliation
    assert result.failed_requests == 0, f"reads fall back to legacy: {result.failures}"
    assert result.before is not None and result.before.requests > 0
    assert control.rule()["fault"] is None, "the drill removed its fault"
    report = next(tmp_path.glob("*-errors.md")).read_text()
    assert report.rstrip().endswith(result.line())
    # the load ran at half the capacity the route showed at the start of the drill, and the report says so
    assert result.pace is not None and result.pace.capacity is not None, "the capacity was measured"
    assert result.pace.capacity.rps > 0 and result.pace.fraction == 0.5
    assert result.pace.rate == pytest.approx(max(1.0, result.pace.capacity.rps / 2))
    assert f"| load rate | {result.pace.describe()} |" in report
    assert f"| {result.pace.capacity.describe()} |" in report
    assert (tmp_path / "index.md").exists() and next(tmp_path.glob("*-errors.html")).exists()


def test_a_panic_under_load_fails_no_request(
    stack: StackAddresses, control: DrillControl, tmp_path: Path
) -> None:
    [result] = run_scenarios(["panic"], stack, control, OPTIONS, tmp_path)
    assert result.error is None, result.error
    served = {sample.target for sample in result.samples if sample.kind == "read"}
    assert served == {"new", "legacy"}, "the catalog served before the panic, the monolith after"
    assert result.failed_requests == 0, result.failures
    assert result.lost_writes == 0, result.reconciliation
    assert result.passed, [check for check in result.targets() if not check.met]


def test_the_broker_drill_loses_no_write_and_gives_the_stack_its_sync_back(
    stack: StackAddresses, control: DrillControl, tmp_path: Path
) -> None:
    """The broker drill runs its own relay beside a stack whose relay holds the monolith's outbox: it
    pauses the stack's relay and catalog consumer for its length, and starts them again."""
    [result] = run_scenarios(["broker"], stack, control, OPTIONS, tmp_path)
    assert result.error is None, result.error
    assert result.skipped is None, result.skipped
    assert result.lost_writes == 0, result.reconciliation
    assert result.writes_acknowledged > 0, "the drill wrote under the outage"
    states = {process["name"]: process for process in stack.supervisor("ps")["processes"]}
    for name in ("sync-relay", "sync-consume"):
        assert states[name]["state"] in ("starting", "running"), states[name]


@pytest.mark.timeout(480)  # run alone (-k), it also starts the module's stack: 4 min on a loaded machine
def test_the_orders_crash_drill_oversells_nothing_loses_no_order_and_leaves_nothing(
    own_stack: OwnStack, stack: StackAddresses, control: DrillControl, tmp_path: Path
) -> None:
    """`strangler drill orders-crash`: customers check out their session carts with /api/orders on the
    orders service, which is killed -9 and restarted; the drill's recovery worker leaves nothing behind."""
    project = load_project(ROOT / "strangler.toml")
    assert project.drills is not None and project.drills.crash is not None
    section = project.drills.crash
    assert section.password is not None
    options = CrashOptions(section, section.password, after_s=3.0, worker_env=own_stack.environment, cwd=ROOT)
    crash_control = DrillControl(control.admin, section.route, section.upstream, match_json(section.match))
    try:
        result = run_orders_crash(stack, crash_control, options)
    finally:
        crash_control.remove_created()
    report = write_crash_report(result, tmp_path)
    summary = report.read_text()
    assert result.error is None, summary
    assert result.acknowledged >= 5 and result.acknowledged_after_restart > 0, summary
    assert any("kill -9 orders" in label for _, label in result.events), summary
    assert (result.lost_writes, result.oversold, result.held) == (0, 0, 0), summary
    assert (result.unfinished, result.unreleased, result.unknown) == (0, 0, 0), summary
    assert len(result.stock_lines) == len(section.products), summary
    assert result.passed, summary
    assert f"--older-than {section.older_than_s:g}" in summary
    assert summary.rstrip().splitlines()[-1] == result.line()
    assert result.line().startswith(f"drill orders-crash: acknowledged={result.acknowledged} lost_writes=0 ")
    # the checkouts ran at half of what the route sustained at the start of the drill, and the report says so
    assert result.pace is not None and result.pace.capacity is not None, "the capacity was measured"
    assert result.pace.capacity.what == "checkouts" and result.pace.capacity.rps > 0
    assert result.pace.fraction == 0.5
    assert result.pace.rate == pytest.approx(max(1.0, result.pace.capacity.rps / 2))
    assert f"| load rate | {result.pace.describe()} |" in summary
    assert result.line().endswith(
        f"capacity_rps={result.pace.capacity.rps:.1f} rate_rps={result.pace.rate:.1f}"
    )
    assert any(label == f"route {section.route} on legacy" for _, label in result.events), summary
    states = {process["name"]: process["state"] for process in stack.supervisor("ps")["processes"]}
    assert states["orders"] == "running", states


def test_the_chaos_drill_loses_and_duplicates_no_acknowledged_write(
    stack: StackAddresses, control: DrillControl
) -> None:
    """Last in this module: it kills and restarts the stack's processes (and puts them back). Seed 1 for
    40 s (the default is 60: the CI's cost stays bounded) overlaps two outages (the monolith and the
    orders service stopped at once), kills a data-plane worker, and stops the control plane 0.45 s after
    a flip was sent (mid-handover)."""
    options = chaos_options(load_project(ROOT / "strangler.toml"), PROFILE, seed=1, duration_s=40.0)
    workers = len(stack.dataplane_workers())
    planned = plan_faults(options.seed, options.duration_s)
    assert overlapping(planned), "the seed's plan overlaps faults"
    assert {"kill-worker", "stop"} <= {fault.kind for fault in planned}
    assert any(f.target == "controlplane" and f.flip_before_s is not None for f in planned)
    result = run_chaos(stack, DrillControl(control.admin, options.route, PROFILE.upstream), options)
    assert result.error is None, (result.error, result.notes, result.events)
    summary = (result.line(), result.writes, result.handovers, result.reconciliation, result.notes)
    assert result.acknowledged > 100, summary
    assert result.writes.get("acknowledged: by new", 0) > 0, (
        f"the catalog owned writes for a while: {summary}"
    )
    assert result.writes.get("acknowledged: by legacy", 0) > 0, summary
    assert result.lost_writes == 0, summary
    assert result.duplicated == 0, summary
    # the renames of products 7 and 8 ([drills.chaos] fields) went on the same route, checked on both sides
    assert result.field_writes is not None and result.field_writes > 0, summary
    assert result.writes.get("field change acknowledged: by new", 0) > 0, summary
    assert any(line.startswith("field 7 on catalog: ") for line in result.reconciliation), summary
    assert f" conflicts={result.conflicts} field_writes={result.field_writes} " in result.line()
    assert result.faults == len(planned) and result.overlaps >= 1, summary
    labels = [label for _, label in result.events]
    assert any(label.startswith("kill -9 data-plane worker") for label in labels), labels
    assert "stop controlplane: done" in labels and "start controlplane: done" in labels, labels
    assert result.line().startswith("drill chaos: seed=1 acknowledged=")
    # the writes ran at half of what the route sustained at the start of the drill (the probe's writes
    # are in the ledger too, never retried)
    assert result.pace is not None and result.pace.capacity is not None, "the capacity was measured"
    assert result.pace.capacity.what == "stock writes" and result.pace.capacity.rps > 0
    assert result.pace.fraction == 0.5
    assert result.pace.rate == pytest.approx(max(1.0, result.pace.capacity.rps / 2))
    assert result.line().endswith(
        f"capacity_rps={result.pace.capacity.rps:.1f} rate_rps={result.pace.rate:.1f}"
    )
    states = {process["name"]: process["state"] for process in stack.supervisor("ps")["processes"]}
    assert all(states[name] == "running" for name in options.targets), states
    assert len(stack.dataplane_workers()) == workers >= 2, "the data plane restarted its worker"
    assert control.admin.request("GET", f"/routes/{options.route}")["rule"]["action"]["mode"] == "legacy"
