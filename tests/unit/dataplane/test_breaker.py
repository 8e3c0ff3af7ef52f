"""The circuit breaker's states, driven by a fake clock."""

from __future__ import annotations

import pytest

from strangler_proxy.dataplane.breaker import Breakers, BreakerState, CircuitBreaker
from strangler_proxy.routes import BreakerSettings

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(threshold: int = 3, open_s: float = 5.0) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    return CircuitBreaker(BreakerSettings(failure_threshold=threshold, open_s=open_s), clock), clock


def test_opens_after_consecutive_failures_only() -> None:
    breaker, _ = _breaker()
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_half_open_lets_one_trial_through_then_closes_on_success() -> None:
    breaker, clock = _breaker(threshold=1)
    breaker.record_failure()
    clock.now += 4.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one trial at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_failed_trial_opens_again_for_a_full_period() -> None:
    breaker, clock = _breaker(threshold=2)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 4.9
    assert not breaker.allow()


def test_a_trial_without_verdict_frees_the_slot() -> None:
    breaker, clock = _breaker(threshold=1)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_breakers_follow_the_tables_settings() -> None:
    breakers = Breakers(Clock())
    first = breakers.get("catalog", BreakerSettings(failure_threshold=1))
    first.record_failure()
    assert breakers.states() == {"catalog": "open"}
    same = breakers.get("catalog", BreakerSettings(failure_threshold=9))
    assert same is first and same.settings.failure_threshold == 9
