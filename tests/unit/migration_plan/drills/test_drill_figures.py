"""Drill figures: per-second series, steady state, failure causes, targets and the summary line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from migration_plan.toolbox.drills.load import Sample, WriteLedger
from migration_plan.toolbox.drills.report import chart, write_index, write_report
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.series import failures_by_cause, per_second, percentile, steady_state
from migration_plan.toolbox.drills.writes import WriteCheck

pytestmark = pytest.mark.unit

T0 = 1_800_000_000.0


def sample(at: float, *, target: str = "new", latency: float = 10.0, cause: str | None = None) -> Sample:
    return Sample(T0 + at, "detail", 0 if cause else 200, latency, target, cause)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.99) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0


def test_per_second_groups_by_second_and_target() -> None:
    points = per_second(
        [
            sample(0.1),
            sample(0.9, latency=30.0),
            sample(0.5, target="legacy"),
            sample(1.2, cause="http 502"),
        ]
    )
    summary = [(p.second - int(T0), p.target, p.requests, p.errors) for p in points]
    assert summary == [(0, "legacy", 1, 0), (0, "new", 2, 0), (1, "new", 1, 1)]
    assert points[1].p99_ms == 30.0


def test_steady_state_counts_only_its_period() -> None:
    samples = [sample(at / 10) for at in range(20)] + [sample(2.5, cause="client timeout")]
    before = steady_state(samples, T0, T0 + 1)
    assert before.requests == 10 and before.rps == pytest.approx(10.0) and before.error_rate == 0
    after = steady_state(samples, T0 + 2, T0 + 3)
    assert after.requests == 1 and after.error_rate == 1.0
    assert steady_state(samples, T0 + 10, T0 + 11).describe() == "no traffic"


def test_failures_are_counted_by_cause_and_kind() -> None:
    samples = [sample(0, cause="http 502"), sample(1, cause="http 502"), sample(2, cause="client timeout")]
    assert failures_by_cause(samples) == {"http 502 (detail)": 2, "client timeout (detail)": 1}


def test_acknowledged_writes_missing_from_the_monolith_are_lost() -> None:
    ledger = WriteLedger(acknowledged=Counter({1: 3, 2: 2}), unknown=Counter({2: 1}))
    check = WriteCheck(before={1: 10, 2: 5}, after={1: 12, 2: 8}, ledger=ledger)
    assert check.lost == 1
    assert check.lines[0].endswith("1 lost, 0 unexplained")
    assert check.lines[1].endswith(": ok"), "the write of unknown outcome may have been applied"


def test_a_loss_both_sides_share_is_lost_however_well_they_agree() -> None:
    """The sides agree with each other (12 and 12), yet both miss an acknowledged write: lost, on the
    ledger's word; a side that applied a move twice shows as duplicated."""
    ledger = WriteLedger(acknowledged=Counter({1: 3}))
    shared = WriteCheck(before={1: 10}, after={1: 12}, ledger=ledger, others={"catalog": {1: 12}})
    assert shared.lost == 1 and shared.duplicated == 0
    assert [line.split(":")[0] for line in shared.lines] == ["counter 1 on legacy", "counter 1 on catalog"]
    doubled = WriteCheck(before={1: 10}, after={1: 13}, ledger=ledger, others={"catalog": {1: 14}})
    assert doubled.lost == 0 and doubled.duplicated == 1


def guard_result(*, rolled_back_after_window: float | None, lost: int = 0) -> DrillResult:
    result = DrillResult("errors", "the catalog answers 500", "guard", started=T0)
    result.injected = T0 + 5
    result.detected = T0 + 7.5
    result.first_failing_window_end = T0 + 6
    result.rolled_back = None if rolled_back_after_window is None else T0 + 6 + rolled_back_after_window
    result.lost_writes = lost
    return result


def test_a_guard_drill_meets_its_targets_within_three_seconds() -> None:
    result = guard_result(rolled_back_after_window=2.4)
    assert result.line() == "drill errors: detect_s=2.50 rollback_s=2.40 failed_requests=0 lost_writes=0"
    assert result.passed


@pytest.mark.parametrize(("after", "lost"), [(3.2, 0), (None, 0), (1.0, 1)])
def test_a_slow_missing_or_lossy_rollback_misses_a_target(after: float | None, lost: int) -> None:
    result = guard_result(rolled_back_after_window=after, lost=lost)
    assert not result.passed
    assert [check.met for check in result.targets()].count(False) == 1


def test_a_manual_drill_must_not_fail_a_request() -> None:
    result = DrillResult("panic", "panic", "manual", started=T0)
    result.injected, result.rolled_back = T0 + 5, T0 + 5.04
    assert result.passed and result.line().endswith("rollback_s=0.04 failed_requests=0 lost_writes=0")
    result.failures = {"http 502 (detail)": 1}
    assert not result.passed


def test_skipped_and_broken_drills_say_why() -> None:
    result = DrillResult("broker", "broker", "sync", started=T0, skipped="no redis-server binary")
    assert result.line() == "drill broker: skipped (no redis-server binary)"
    assert not result.passed


def test_reports_are_written_with_a_well_formed_chart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = guard_result(rolled_back_after_window=2.0)
    result.samples = [sample(at / 4, target="new" if at < 28 else "legacy") for at in range(60)]
    svg = chart(result)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert svg.count("<polyline") == 6, "three panels, two targets each"
    assert "rollback" in svg and "fault" in svg
    report = write_report(result, tmp_path)
    assert report.read_text().splitlines()[-1] == result.line()
    html = report.with_suffix(".html").read_text()
    assert "<svg" in html and "automatic rollback within 3 s" in html
    index = write_index([result], [report], tmp_path).read_text()
    assert "passed" in index and report.name in index


def test_the_locust_companion_reports_its_failures_per_endpoint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from migration_plan.toolbox.drills.companion import LocustCompanion
    from migration_plan.toolbox.load.summary import EndpointFigures, LoadSummary

    companion = LocustCompanion(
        "http://127.0.0.1:9", users=3, seconds=12.2, reports_dir=tmp_path, prefix="drill-locust"
    )
    assert companion.options.run_time_s == 13 and companion.options.spawn_rate == 3
    checkout = EndpointFigures("POST", "/api/cart/checkout", 10, 2, 1.0, 20.0, 90.0, 120.0, 150.0)
    browse = EndpointFigures("GET", "/api/products", 90, 0, 9.0, 10.0, 30.0, 40.0, 50.0)
    companion.summary = LoadSummary.build(
        aggregate=EndpointFigures("", "Aggregated", 100, 2, 10.0, 11.0, 80.0, 110.0, 150.0),
        endpoints=[checkout, browse],
        max_error_rate=None,
        max_p95_ms=None,
        host="http://127.0.0.1:9",
        locustfile="loadtests/shop.py",
        users=3,
        run_time_s=13,
        csv_prefix=str(tmp_path / "drill-locust"),
        json_path=str(tmp_path / "drill-locust_summary.json"),
    )
    lines = companion.describe()
    assert lines[0].startswith("locust companion load: 3 users for 13 s, 100 requests, 2 failures (2.00%)")
    assert lines[1:] == ["locust POST /api/cart/checkout: 2 failures of 10"]
    companion.error = "locust exited 2"
    assert companion.describe() == ["locust companion load failed: locust exited 2"]
