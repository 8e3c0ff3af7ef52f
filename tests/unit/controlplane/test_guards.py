"""Automatic rollback: a failing new upstream sends its route back to legacy by itself, audited with
actor "guard" and the evidence; a healthy or idle route is left alone. Driven by a fake data-plane writer."""

from __future__ import annotations

import pytest

from strangler_proxy.controlplane.metrics import ShadowWindow, Window, percentile
from strangler_proxy.controlplane.repositories.audit import AuditFilter
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.guards import GuardService, GuardSettings, judge_window
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.routes import ActionMode, Rule, RuleAction, RuleMatch
from tests.unit.controlplane.fake_dataplane import write_second, write_shadow

pytestmark = pytest.mark.unit

T0 = 1_800_000_000
ME = Actor("alice")


class FakeSeconds:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def seconds() -> FakeSeconds:
    return FakeSeconds(T0)


@pytest.fixture
def guard(services: ControlPlaneServices, seconds: FakeSeconds) -> GuardService:
    services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
    services.publishing.add_route(
        Rule(
            name="catalog",
            match=RuleMatch(path="/catalog"),
            action=RuleAction(mode=ActionMode.CANARY, upstream="catalog", weight=50),
        ),
        actor=ME,
        reason="canary 50%",
    )
    engine = GuardService(services.engine, services.publishing, lag_s=2, seconds=seconds)
    engine.tick()  # sees the canary from T0 on
    return engine


def _traffic(
    services: ControlPlaneServices, second: int, *, new_errors: int, new_latency: float = 4.0
) -> None:
    write_second(services.engine, second=second, route="catalog", target="legacy", requests=20)
    write_second(
        services.engine,
        second=second,
        route="catalog",
        target="new",
        requests=20,
        errors=new_errors,
        latency_ms=new_latency,
    )


def test_failing_new_upstream_is_rolled_back_to_legacy(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    for offset in range(4):
        _traffic(services, T0 + offset, new_errors=10)
    seconds.now = T0 + 4 + 2  # seconds T0..T0+3 final
    assert guard.tick() == []
    assert guard.state("catalog").consecutive == 4 and guard.state("catalog").status == "failing"
    _traffic(services, T0 + 4, new_errors=10)
    seconds.now += 1
    assert guard.tick() == ["catalog"]
    table = services.publishing.active_table()
    assert table.rule("catalog").action.mode is ActionMode.LEGACY
    [entry] = services.audit.search(AuditFilter(actor="guard"))
    assert (entry.action, entry.target, entry.outcome) == ("rollback", "catalog", "ok")
    assert "5 consecutive failing windows" in entry.reason
    windows = entry.evidence["windows"]
    assert (
        len(windows) == 5
        and windows[0]["new"]["error_rate"] == 0.5
        and "5xx rate" in windows[0]["reasons"][0]
    )
    assert guard.state("catalog").status == "tripped"
    assert guard.tick() == []  # nothing more to do


def test_a_healthy_window_resets_the_count(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    pattern = [10, 10, 10, 10, 0, 10, 10, 10, 10]
    for offset, errors in enumerate(pattern):
        _traffic(services, T0 + offset, new_errors=errors)
    seconds.now = T0 + len(pattern) + 2
    assert guard.tick() == []
    assert guard.state("catalog").consecutive == 4
    assert services.publishing.active_table().rule("catalog").action.mode is ActionMode.CANARY


def test_slow_new_upstream_trips_the_latency_check(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    for offset in range(5):
        _traffic(services, T0 + offset, new_errors=0, new_latency=800)
    seconds.now = T0 + 5 + 2
    assert guard.tick() == ["catalog"]
    [entry] = services.audit.search(AuditFilter(actor="guard"))
    assert "p99" in entry.evidence["windows"][0]["reasons"][0]


def test_quiet_windows_neither_count_nor_reset(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    for offset in range(3):
        _traffic(services, T0 + offset, new_errors=10)
    write_second(services.engine, second=T0 + 3, route="catalog", target="new", requests=2, errors=2)
    for offset in range(4, 6):
        _traffic(services, T0 + offset, new_errors=10)
    seconds.now = T0 + 6 + 2
    assert guard.tick() == ["catalog"]


def test_disabled_guard_never_acts(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    guard.configure("catalog", settings={}, enabled=False)
    for offset in range(8):
        _traffic(services, T0 + offset, new_errors=20)
    seconds.now = T0 + 10
    assert guard.tick() == []
    assert services.publishing.active_table().rule("catalog").action.mode is ActionMode.CANARY


def test_judge_window_rules() -> None:
    settings = GuardSettings()
    legacy = Window(requests=100, status_5xx=5, buckets=[0, 0, 0, 100] + [0] * 11)
    new = Window(requests=100, status_5xx=5, buckets=[0, 0, 0, 100] + [0] * 11)
    assert judge_window(settings, new, legacy, ShadowWindow()) == (False, [])  # legacy fails as much
    worse = Window(requests=100, status_5xx=7, buckets=new.buckets)
    failed, reasons = judge_window(settings, worse, legacy, ShadowWindow())
    assert failed and reasons == ["5xx rate 0.070 > 0.060"]
    assert judge_window(settings, Window(requests=2, status_5xx=2), legacy, ShadowWindow()) == (None, [])
    failed, reasons = judge_window(settings, Window(), Window(), ShadowWindow(matches=90, mismatches=10))
    assert failed and reasons == ["shadow parity 0.900 < 0.950"]


def test_shadow_parity_below_threshold_rolls_back(
    services: ControlPlaneServices, seconds: FakeSeconds
) -> None:
    services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
    services.publishing.add_route(
        Rule(
            name="catalog",
            match=RuleMatch(path="/catalog"),
            action=RuleAction(mode="shadow", upstream="catalog"),
        ),
        actor=ME,
        reason="shadow",
    )
    guard = GuardService(services.engine, services.publishing, lag_s=2, seconds=seconds)
    guard.configure("catalog", settings={"failing_windows": 3, "min_parity": 0.99}, enabled=True)
    guard.tick()
    for offset in range(3):
        write_shadow(services.engine, second=T0 + offset, route="catalog", matches=9, mismatches=1)
    seconds.now = T0 + 5
    assert guard.tick() == ["catalog"]


def test_percentile_interpolates_inside_buckets() -> None:
    buckets = [0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # ten requests between 5 and 10 ms
    assert percentile(buckets, 0.5) == pytest.approx(7.5)
    assert percentile(buckets, 1.0) == pytest.approx(10)
    assert percentile([0] * 15, 0.5) is None
    assert percentile([0] * 14 + [3], 0.99) == 30000


def test_old_per_second_rows_are_pruned(services: ControlPlaneServices) -> None:
    import time

    now = int(time.time())
    write_second(services.engine, second=now - 7200, route="r", target="new", requests=5)
    write_second(services.engine, second=now - 10, route="r", target="new", requests=7)
    write_shadow(services.engine, second=now - 7200, route="r", matches=1, mismatches=0)
    assert services.observability.prune(retention_s=3600) == 2
    [entry] = [f for f in services.observability.series("r", seconds=60) if f["new"]["requests"]]
    assert entry["new"]["requests"] == 7


def test_a_rollback_that_lost_a_race_is_retried(
    services: ControlPlaneServices, guard: GuardService, seconds: FakeSeconds
) -> None:
    for offset in range(5):
        _traffic(services, T0 + offset, new_errors=10)
    seconds.now = T0 + 5 + 2
    real_active_table = services.publishing.active_table
    stale = real_active_table()
    services.publishing.add_route(
        Rule(name="other", match=RuleMatch(path="/other")), actor=ME, reason="meanwhile"
    )
    services.publishing.active_table = lambda: stale  # type: ignore[method-assign]  # the guard read it before
    assert guard.tick() == ["catalog"]  # judged, but the rollback got 409
    assert services.publishing.active_table().rule("catalog").action.mode is ActionMode.CANARY
    services.publishing.active_table = real_active_table  # type: ignore[method-assign]
    assert guard.tick() == ["catalog"]  # no new window needed: it retries at once
    table = services.publishing.active_table()
    assert table.rule("catalog").action.mode is ActionMode.LEGACY and table.rule("other") is not None
    assert [e.outcome for e in services.audit.search(AuditFilter(actor="guard"))] == ["ok", "conflict"]


def test_a_fractional_lag_judges_a_second_half_a_second_after_it_ended(
    services: ControlPlaneServices,
) -> None:
    """With the data plane flushing every 0.25 s, ``STRANGLER_GUARD_LAG_S=0.5`` judges a window 0.5 s after it
    ended instead of whole seconds later: the drills' rollback lands well within 3 s."""
    services.upstreams.save({"name": "catalog", "url": "http://127.0.0.1:8201"})
    services.publishing.add_route(
        Rule(
            name="catalog",
            match=RuleMatch(path="/catalog"),
            action=RuleAction(mode=ActionMode.CANARY, upstream="catalog", weight=50),
        ),
        actor=ME,
        reason="canary 50%",
    )
    clock = FakeSeconds(T0)
    guard = GuardService(services.engine, services.publishing, lag_s=0.5, seconds=clock)
    guard.tick()
    services.guards.configure("catalog", settings={"failing_windows": 2}, enabled=True)
    for offset in range(2):
        _traffic(services, T0 + offset, new_errors=10)
    clock.now = T0 + 2.4  # second T0+1 ended 0.4 s ago: not final yet
    assert guard.tick() == []
    assert guard.state("catalog").consecutive == 1
    clock.now = T0 + 2.5  # ... and now it is
    assert guard.tick() == ["catalog"]
    assert services.publishing.active_table().rule("catalog").action.mode is ActionMode.LEGACY
