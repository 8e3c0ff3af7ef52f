"""The chaos drill's parts that need no stack: the seeded fault plan, how a write's answer is judged,
the check of signed moves against the ledger, the summary line and the report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx2
import pytest

from migration_plan.drills.capacity import Capacity, load_rate
from migration_plan.drills.chaos import ChaosResult, plan_faults, write_chaos_report
from migration_plan.drills.chaos_load import DeltaLedger, _judge
from migration_plan.drills.load import WriteLedger
from migration_plan.drills.writes import WriteCheck

pytestmark = pytest.mark.unit


def test_a_seed_gives_the_same_faults_at_the_same_moments_and_another_seed_others() -> None:
    assert plan_faults(7, 60.0) == plan_faults(7, 60.0)
    assert plan_faults(7, 60.0) != plan_faults(8, 60.0)


def test_the_faults_cover_kills_stops_with_flips_and_flips_within_the_duration() -> None:
    faults = [fault for seed in range(1, 11) for fault in plan_faults(seed, 60.0)]
    assert {fault.kind for fault in faults} == {"kill", "stop", "flip"}
    assert any(fault.kind == "stop" and fault.flip_while_down for fault in faults), "a flip with a backlog"
    assert {fault.target for fault in faults if fault.kind != "flip"} == {
        "sync-relay",
        "sync-consume",
        "sync-reverse",
        "catalog",
        "legacy",
    }
    assert all(0 < fault.at < 58.0 for fault in faults)
    for seed in range(1, 11):
        moments = [fault.at for fault in plan_faults(seed, 60.0)]
        assert moments == sorted(moments) and len(moments) >= 5


def test_only_a_target_the_stack_runs_is_faulted() -> None:
    faults = plan_faults(3, 60.0, targets=("catalog",))
    assert {fault.target for fault in faults if fault.kind != "flip"} == {"catalog"}


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
    result.lost_writes = 1
    assert not result.passed
