"""The chaos drill's parts that need no stack: the seeded fault plan (deterministic per seed, every kind
of fault and every target reached, overlaps within bounds), how a write's answer is judged, the check of
signed moves against the ledger, the summary line and the report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx2
import pytest

from migration_plan.toolbox.drills.capacity import Capacity, load_rate
from migration_plan.toolbox.drills.chaos import ChaosResult, plan_faults, write_chaos_report
from migration_plan.toolbox.drills.chaos_load import DeltaLedger, _judge
from migration_plan.toolbox.drills.chaos_plan import (
    DEFAULT_TARGETS,
    FAULT_KINDS,
    MAX_DOWN_S,
    MAX_OUTAGES,
    Step,
    fault_steps,
    overlapping,
)
from migration_plan.toolbox.drills.load import WriteLedger
from migration_plan.toolbox.drills.writes import WriteCheck

pytestmark = pytest.mark.unit


def test_a_seed_gives_the_same_faults_at_the_same_moments_and_another_seed_others() -> None:
    assert plan_faults(7, 60.0) == plan_faults(7, 60.0)
    assert fault_steps(plan_faults(7, 60.0)) == fault_steps(plan_faults(7, 60.0))
    assert plan_faults(7, 60.0) != plan_faults(8, 60.0)


def test_every_kind_of_fault_and_every_target_is_reached_within_the_duration() -> None:
    faults = [fault for seed in range(1, 11) for fault in plan_faults(seed, 60.0)]
    assert {fault.kind for fault in faults} == set(FAULT_KINDS) == {"kill", "kill-worker", "stop", "flip"}
    assert any(fault.kind == "stop" and fault.flip_while_down for fault in faults), "a flip with a backlog"
    assert {fault.target for fault in faults if fault.kind == "kill"} == set(DEFAULT_TARGETS)
    assert {fault.target for fault in faults if fault.kind == "stop"} == set(DEFAULT_TARGETS)
    assert {fault.target for fault in faults if fault.kind == "kill-worker"} == {"dataplane"}
    assert {
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "sync-reverse-orders",
        "sync-consume-orders",
        "catalog",
        "orders",
        "legacy",
        "controlplane",
    } == set(DEFAULT_TARGETS), "every sync worker, the services, the monolith and the control plane"
    assert all(0 < fault.at < 58.0 for fault in faults)
    assert all(fault.down_s <= MAX_DOWN_S for fault in faults)
    for seed in range(1, 11):
        moments = [fault.at for fault in plan_faults(seed, 60.0)]
        assert moments == sorted(moments) and len(moments) >= 5


def test_a_stop_of_the_control_plane_comes_just_after_a_flip_is_sent() -> None:
    stops = [
        fault
        for seed in range(1, 11)
        for fault in plan_faults(seed, 60.0)
        if fault.kind == "stop" and fault.target == "controlplane"
    ]
    assert stops and all(fault.flip_before_s is not None for fault in stops)
    for fault in stops:
        steps = fault_steps([fault])
        assert [step.action for step in steps] == ["flip", "stop", "start"]
        assert 0 < steps[1].at - steps[0].at <= 1.0, "the handover may still be under way"
        assert steps[0].label == fault.describe() and not steps[1].label, "one fault, said once"


def test_some_seeds_overlap_faults_within_bounds() -> None:
    overlapped = {seed for seed in range(1, 11) if overlapping(plan_faults(seed, 60.0))}
    assert 3 <= len(overlapped) < 10, f"seeds with overlapping faults: {sorted(overlapped)}"
    pairs = [pair for seed in range(1, 11) for pair in overlapping(plan_faults(seed, 60.0))]
    assert any(second.kind in ("kill", "kill-worker") for _, second in pairs), "a kill during an outage"
    assert any(second.kind == "stop" for _, second in pairs), "two processes down at once"
    for seed in range(1, 51):
        faults = plan_faults(seed, 60.0)
        for moment in sorted({step.at for step in fault_steps(faults)}):
            down = [f for f in faults if f.kind == "stop" and f.at <= moment < f.end]
            assert len(down) <= MAX_OUTAGES, (seed, moment, down)
            assert len({f.target for f in down}) == len(down), "a process is never stopped twice"
            killed = {f.target for f in faults if f.kind == "kill" and f.at == moment}
            assert not killed & {f.target for f in down if f.at < moment}, "never killed while down"
        assert max(fault.end for fault in faults) < 60.0 + MAX_DOWN_S


def test_the_steps_open_and_close_each_outage_in_order() -> None:
    faults = plan_faults(1, 30.0)
    steps = fault_steps(faults)
    assert [step.at for step in steps] == sorted(step.at for step in steps)
    stops = [fault for fault in faults if fault.kind == "stop"]
    for fault in stops:
        assert Step(fault.end, "start", fault.target) in steps
    assert sum(1 for step in steps if step.label) == len(faults), "each fault is said once"
    flips_while_down = sum(1 for fault in stops if fault.flip_while_down or fault.flip_before_s is not None)
    flips = sum(1 for fault in faults if fault.kind == "flip")
    assert sum(1 for step in steps if step.action == "flip") == flips + flips_while_down


def test_only_a_target_the_stack_runs_is_faulted() -> None:
    faults = plan_faults(3, 60.0, targets=("catalog",), worker_target=None)
    assert {fault.target for fault in faults if fault.kind != "flip"} == {"catalog"}
    assert plan_faults(3, 60.0, targets=()) and all(
        fault.kind in ("flip", "kill-worker") for fault in plan_faults(3, 60.0, targets=())
    )


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (httpx2.Response(200, json={"stock": 5}), "acknowledged"),
        (httpx2.Response(400, json={"error": "invalid_body"}), "refused"),
        (httpx2.Response(403, json={"error": "csrf_failed"}), "refused"),
        (httpx2.Response(503, json={"error": "writes_fenced"}), "refused"),
        (httpx2.Response(503, json={"error": "circuit_open"}), "refused"),
        (httpx2.Response(502, json={"error": "upstream_unreachable"}), "refused"),
        (httpx2.Response(502, json={"error": "upstream_protocol_error"}), "unknown"),
        (httpx2.Response(504, json={"error": "upstream_timeout"}), "unknown"),
        (httpx2.Response(500, text="<h1>Server Error</h1>"), "unknown"),
    ],
)
def test_a_write_is_unknown_unless_its_answer_says_whether_it_was_applied(
    response: httpx2.Response, outcome: str
) -> None:
    assert _judge(response)[0] == outcome


def test_falls_of_a_down_product_are_checked_as_falls() -> None:
    ledger = WriteLedger(acknowledged=Counter({4: 5, 5: 5, 6: 5}), unknown=Counter({6: 2}))
    check = WriteCheck(
        before={4: 100, 5: 100, 6: 100},
        after={4: 95, 5: 97, 6: 92},
        ledger=ledger,
        directions={4: -1, 5: -1, 6: -1},
    )
    assert check.lost == 2, "product 5 fell by 3 of 5 acknowledged units"
    assert check.duplicated == 1, "product 6 fell by 8: 5 acknowledged, at most 2 unknown"
    assert check.lines[0] == "counter 4: 100 -> 95 (-5); acknowledged -5, unknown outcome 0: ok"


def test_the_ledger_counts_units_per_product_and_writes_per_outcome() -> None:
    ledger = DeltaLedger()
    ledger.record(1, 3, "acknowledged")
    ledger.record(1, 2, "unknown", "ReadTimeout")
    ledger.record(4, 1, "refused", "http 503 writes_fenced")
    assert ledger.acknowledged == Counter({1: 3}) and ledger.unknown == Counter({1: 2})
    assert ledger.writes["acknowledged"] == 1 and ledger.writes["refused: http 503 writes_fenced"] == 1


def test_the_summary_line_and_the_report(tmp_path: Path) -> None:
    capacity = Capacity(84.0, 252, 0, 3.0, 4, what="stock writes")
    result = ChaosResult(seed=4, started=1_800_000_000.0, duration_s=60.0, pace=load_rate(capacity, 0.5))
    result.acknowledged, result.unknown, result.conflicts = 900, 3, 0
    result.faults, result.overlaps, result.run_s = 12, 2, 95.4
    result.event("fault at +1.0 s: kill -9 sync-relay")
    line = (
        "drill chaos: seed=4 acknowledged=900 unknown=3 lost_writes=0 duplicated=0 conflicts=0 "
        "capacity_rps=84.0 rate_rps=42.0"
    )
    assert result.line() == line and result.passed
    report = write_chaos_report(result, tmp_path)
    assert report.name.endswith("-chaos-seed4.md")
    text = report.read_text()
    assert "kill -9 sync-relay" in text and text.rstrip().endswith(line)
    assert (
        "| measured capacity of the route (at the start of the drill) | 84.0 req/s (252 stock writes in "
        "3.0 s over 4 connections, back to back; 0 failed) |"
    ) in text
    assert "| load rate | 42.0 req/s (50% of the measured capacity) |" in text
    assert "| faults applied (of which overlapping another) | 12 (2) |" in text
    assert "| run time, load start to the check (s) | 95 |" in text
    result.lost_writes = 1
    assert not result.passed
