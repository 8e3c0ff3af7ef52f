"""A circuit breaker per upstream: closed, open, half-open.

Closed: requests pass; ``failure_threshold`` consecutive failures open it. Open: requests are refused
(503, or the legacy answers a GET/HEAD) for ``open_s``. Half-open: one trial request passes; its success
closes the breaker, its failure opens it again. The state lives in one worker (each worker judges the
upstream from its own traffic), and time comes from a clock passed in so tests can drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from strangler_proxy.routes import BreakerSettings

__all__ = ["BreakerState", "Breakers", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    __slots__ = ("_clock", "_failures", "_opened_at", "_state", "_trial_in_flight", "settings")

    def __init__(self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.settings.open_s:
            return BreakerState.HALF_OPEN
        return self._state

    def allow(self) -> bool:
        """May a request be sent now? In half-open, only the first caller gets the trial."""
        if self._state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_in_flight:
                return False
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        self._state = BreakerState.CLOSED

    def release(self) -> None:
        """The request ended without a verdict (the client went away): free the half-open trial slot."""
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._trial_in_flight = False
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._failures >= self.settings.failure_threshold:
            self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0


class Breakers:
    """The breakers of one worker, by upstream name; settings follow the table's upstream definitions."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_name: dict[str, CircuitBreaker] = {}

    def get(self, name: str, settings: BreakerSettings) -> CircuitBreaker:
        breaker = self._by_name.get(name)
        if breaker is None:
            breaker = self._by_name[name] = CircuitBreaker(settings, self._clock)
        elif breaker.settings is not settings and breaker.settings != settings:
            breaker.settings = settings
        return breaker

    def states(self) -> dict[str, str]:
        return {name: breaker.state.value for name, breaker in self._by_name.items()}
