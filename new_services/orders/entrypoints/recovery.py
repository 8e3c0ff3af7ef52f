"""The recovery worker: saga recovery in a loop, so that no one has to remember to run it.

Every ``every`` seconds it runs one round, ``CheckoutSaga.recover(older_than=...)``: checkouts left
unfinished longer than ``older_than`` (a crashed worker, a release that failed) are compensated, and
reservations in doubt are settled with the stock side under their idempotency keys, then released. A
checkout interrupted at ``t`` is therefore finished by ``t + older_than + every`` (plus the round's own
time), as long as the database and the stock side answer. ``older_than`` must exceed the longest a
checkout request may run (gunicorn's ``timeout``), so that a live checkout is never touched.

A round that fails (database or stock side down, ``RecoveryIncomplete``) is logged with its reason and
the next round tries again; a stop request (SIGTERM, SIGINT) ends the loop after the current round.
Several workers may run at once: every stock call carries its step's key, so a release or a settled
reservation sent twice is applied once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from new_services.orders.service_layer import CheckoutSaga, RecoveryIncomplete

__all__ = ["MAX_PERIOD", "RecoverySchedule", "RoundResult", "run_recovery"]

log = structlog.get_logger("orders.recovery")

MAX_PERIOD = 3600.0
"""The longest period between rounds: the bound on recovery time must stay a bound."""


@dataclass(frozen=True, slots=True)
class RecoverySchedule:
    """How often a round runs and how old an unfinished checkout must be to be recovered (seconds)."""

    every: float
    older_than: float

    def __post_init__(self) -> None:
        if not 0 < self.every <= MAX_PERIOD:
            raise ValueError(f"--every must be more than 0 and at most {MAX_PERIOD:g} seconds")
        if self.older_than < 0:
            raise ValueError("--older-than must not be negative")

    @property
    def bound(self) -> float:
        """How long after it began an interrupted checkout is finished at the latest (rounds aside)."""
        return self.older_than + self.every


@dataclass(frozen=True, slots=True)
class RoundResult:
    recovered: list[str]
    failed: dict[str, str]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None


def run_round(saga: CheckoutSaga, older_than: float) -> RoundResult:
    """One round; its failures are returned (and logged), never raised: the next round retries."""
    try:
        recovered = saga.recover(older_than=timedelta(seconds=older_than))
    except RecoveryIncomplete as exc:
        log.error("recovery round incomplete", recovered=exc.recovered, failed=exc.failed)
        return RoundResult(exc.recovered, exc.failed)
    except Exception as exc:
        log.error("recovery round failed", error=str(exc) or type(exc).__name__, exc_info=True)
        return RoundResult([], {}, str(exc) or type(exc).__name__)
    if recovered:
        log.info("recovery round finished checkouts", recovered=recovered)
    return RoundResult(recovered, {})


def run_recovery(
    saga_factory: Callable[[], CheckoutSaga],
    schedule: RecoverySchedule,
    stop: threading.Event,
    *,
    on_round: Callable[[RoundResult], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Run rounds until ``stop`` is set; the number of rounds run. A round starts every ``every`` seconds
    (a round longer than that is followed by the next at once)."""
    log.info("recovery worker started", every=schedule.every, older_than=schedule.older_than)
    rounds = 0
    while not stop.is_set():
        started = monotonic()
        result = run_round(saga_factory(), schedule.older_than)
        rounds += 1
        if on_round is not None:
            on_round(result)
        stop.wait(max(0.0, schedule.every - (monotonic() - started)))
    log.info("recovery worker stopped", rounds=rounds)
    return rounds
