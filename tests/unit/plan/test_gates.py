"""Gate checks over /api/v1/stats figures, sync lag and load results."""

from __future__ import annotations

from typing import Any

import pytest

from migration_plan.plan.gates import (
    GateInputs,
    GateSourceError,
    check_health,
    check_shadow,
    check_sync_lag,
    evaluate_gates,
)
from migration_plan.plan.model import Gates, HealthGate, LoadGate, ShadowGate, SyncLagGate

pytestmark = pytest.mark.unit


def figures(route: str, *, legacy=(100, 0, 40.0), new=(100, 0, 45.0), shadow=(0, 0, 0)) -> dict[str, Any]:
    def side(values):
        requests, errors, p99 = values
        return {"requests": requests, "status_5xx": errors, "p99_ms": p99 if requests else None}

    matches, mismatches, errors = shadow
    return {
        "route": route,
        "legacy": side(legacy),
        "new": side(new),
        "shadow": {"matches": matches, "mismatches": mismatches, "errors": errors},
    }


def test_shadow_gate_sums_the_stage_routes() -> None:
    gate = ShadowGate(min_samples=100, min_parity=0.95)
    stats = [
        figures("a", shadow=(60, 1, 0)),
        figures("b", shadow=(40, 0, 1)),
        figures("other", shadow=(0, 500, 0)),
    ]
    result = check_shadow(gate, stats, ["a", "b"])
    assert result.passed and "98.04% over 102 samples" in result.detail
    assert not check_shadow(gate, stats, ["a"]).passed  # 61 samples < 100
    assert not check_shadow(ShadowGate(min_samples=1, min_parity=0.99), stats, ["a", "b"]).passed


def test_health_gate_compares_new_against_legacy() -> None:
    gate = HealthGate(
        min_requests=50, max_5xx_rate=0.05, max_5xx_rate_over_legacy=0.01, max_p99_ratio=1.5, p99_slack_ms=10
    )
    assert check_health(gate, [figures("a")], ["a"]).passed
    too_few = check_health(gate, [figures("a", new=(10, 0, 40.0))], ["a"])
    assert not too_few.passed and "10 requests on the new side" in too_few.detail
    errors = check_health(gate, [figures("a", new=(100, 3, 40.0))], ["a"])
    assert not errors.passed and "vs legacy 0.00%" in errors.detail
    slow = check_health(gate, [figures("a", new=(100, 0, 71.0))], ["a"])
    assert not slow.passed and "p99 71 ms > 70 ms" in slow.detail
    both_bad = [figures("a", legacy=(100, 3, 40.0), new=(100, 3, 40.0))]
    assert check_health(gate, both_bad, ["a"]).passed  # no worse than legacy, under the ceiling


def test_health_gate_absolute_p99_applies_without_legacy_traffic() -> None:
    gate = HealthGate(min_requests=10, max_p99_ms=100)
    assert check_health(gate, [figures("a", legacy=(0, 0, 0.0), new=(50, 0, 90.0))], ["a"]).passed
    assert not check_health(gate, [figures("a", legacy=(0, 0, 0.0), new=(50, 0, 120.0))], ["a"]).passed


def test_sync_lag_gate() -> None:
    lag = {"forward": {"lag_ms": 120.0, "backlog": 0}, "reverse": {"lag_ms": 5000.0, "backlog": 3}}
    assert check_sync_lag(SyncLagGate(max_lag_ms=1000, directions=("forward",)), lag).passed
    failed = check_sync_lag(SyncLagGate(max_lag_ms=1000), lag)
    assert not failed.passed and "reverse lag 5000 ms > 1000 ms" in failed.detail
    assert "reverse backlog 3 > 0" in failed.detail
    missing = check_sync_lag(SyncLagGate(directions=("sideways",)), lag)
    assert not missing.passed and "sideways: not reported" in missing.detail


def test_evaluate_reports_every_gate_and_a_broken_source_fails_its_gate() -> None:
    def broken_lag():
        raise GateSourceError("acl.sync lag exited 1")

    gates = Gates(shadow=ShadowGate(min_samples=0), sync_lag=SyncLagGate(), load=LoadGate())
    results = evaluate_gates(gates, ["a"], GateInputs(stats=lambda w: [figures("a")], sync_lag=broken_lag))
    by_name = {r.gate: r for r in results}
    assert by_name["shadow"].passed
    assert (
        not by_name["sync_lag"].passed
        and "could not measure: acl.sync lag exited 1" in by_name["sync_lag"].detail
    )
    assert by_name["load"].skipped and not by_name["load"].passed


def test_load_gate_uses_the_runner_result() -> None:
    seen = []

    def run(gate: LoadGate):
        seen.append(gate.users)
        return False, "p95 900 ms > 500 ms"

    results = evaluate_gates(
        Gates(load=LoadGate(users=7)), ["a"], GateInputs(stats=lambda w: [], run_load=run)
    )
    assert seen == [7] and not results[0].passed and results[0].detail == "p95 900 ms > 500 ms"


def test_stats_are_fetched_once_per_window() -> None:
    calls = []

    def stats(window: int):
        calls.append(window)
        return [figures("a", shadow=(5, 0, 0))]

    gates = Gates(window_s=30, shadow=ShadowGate(min_samples=1), health=HealthGate(min_requests=1))
    evaluate_gates(gates, ["a"], GateInputs(stats=stats))
    assert calls == [30]


def test_the_load_run_is_skipped_when_a_cheaper_gate_already_failed() -> None:
    runs = []
    gates = Gates(shadow=ShadowGate(min_samples=10), load=LoadGate())
    inputs = GateInputs(stats=lambda w: [figures("a")], run_load=lambda g: runs.append(g) or (True, "ok"))
    shadow, load = evaluate_gates(gates, ["a"], inputs)
    assert not shadow.passed and load.skipped and not load.passed and runs == []
