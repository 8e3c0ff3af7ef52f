"""The outcome of one drill: the measured figures, the targets they meet or miss, the summary line."""

from __future__ import annotations

from dataclasses import dataclass, field

from migration_plan.toolbox.drills.capacity import LoadRate
from migration_plan.toolbox.drills.load import Sample
from migration_plan.toolbox.drills.series import SteadyState

__all__ = ["AUTOMATIC_ROLLBACK_TARGET_S", "DrillResult", "TargetCheck"]

AUTOMATIC_ROLLBACK_TARGET_S = 3.0
"""An automatic rollback lands within this many seconds of the end of the first failing window."""


@dataclass(frozen=True)
class TargetCheck:
    name: str
    met: bool
    detail: str


@dataclass
class DrillResult:
    name: str
    summary: str
    expect: str
    started: float
    injected: float | None = None
    action_started: float | None = None
    """Manual drills: when the operator's rollback (or panic) was asked; the injection time by default."""
    detected: float | None = None
    """When the guard was first seen judging the route failing (or tripped)."""
    first_failing_window_end: float | None = None
    rolled_back: float | None = None
    """When the route was served by legacy again (guard audit time, or the end of the manual action)."""
    ended: float | None = None
    failures: dict[str, int] = field(default_factory=dict)
    not_sent: int = 0
    """Requests the load generator skipped because all its connections were busy (not failures)."""
    writes_acknowledged: int = 0
    writes_unknown: int = 0
    lost_writes: int = 0
    reconciliation: list[str] = field(default_factory=list)
    before: SteadyState | None = None
    after: SteadyState | None = None
    samples: list[Sample] = field(default_factory=list)
    pace: LoadRate | None = None
    """The load's rate, and the route's capacity it was derived from (measured at the drill's start)."""
    events: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    collateral: list[str] = field(default_factory=list)
    """Other routes the guards rolled back while the drill ran (each as ``route (reason)``)."""
    skipped: str | None = None
    error: str | None = None

    @property
    def failed_requests(self) -> int:
        return sum(self.failures.values())

    @property
    def detect_s(self) -> float | None:
        if self.detected is None or self.injected is None:
            return None
        return max(0.0, self.detected - self.injected)

    @property
    def rollback_s(self) -> float | None:
        """Guard drills: from the end of the first failing window; manual ones: from the action's start."""
        if self.rolled_back is None:
            return None
        if self.expect == "guard":
            origin = self.first_failing_window_end
        else:
            origin = self.action_started if self.action_started is not None else self.injected
        if origin is None:
            return None
        return max(0.0, self.rolled_back - origin)

    def targets(self) -> list[TargetCheck]:
        if self.skipped or self.error:
            return []
        checks = []
        if self.expect == "guard":
            value = self.rollback_s
            checks.append(
                TargetCheck(
                    f"automatic rollback within {AUTOMATIC_ROLLBACK_TARGET_S:g} s of the first failing window"
                    "",
                    value is not None and value <= AUTOMATIC_ROLLBACK_TARGET_S,
                    "no automatic rollback" if value is None else f"{value:.2f} s",
                )
            )
        if self.expect == "manual":
            checks.append(
                TargetCheck(
                    "0 failed requests on a manual flip or rollback under load",
                    self.failed_requests == 0,
                    f"{self.failed_requests} failed",
                )
            )
        checks.append(
            TargetCheck("0 acknowledged writes lost", self.lost_writes == 0, f"{self.lost_writes} lost")
        )
        checks.append(
            TargetCheck(
                "no other route rolled back by its guard during the drill",
                not self.collateral,
                "none" if not self.collateral else "; ".join(self.collateral),
            )
        )
        return checks

    @property
    def passed(self) -> bool:
        return self.skipped is None and self.error is None and all(check.met for check in self.targets())

    def line(self) -> str:
        """``drill <name>: detect_s=<x> rollback_s=<x> failed_requests=<n> lost_writes=<n>``."""
        if self.skipped:
            return f"drill {self.name}: skipped ({self.skipped})"
        if self.error:
            return f"drill {self.name}: error ({self.error})"

        def figure(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        return (
            f"drill {self.name}: detect_s={figure(self.detect_s)} rollback_s={figure(self.rollback_s)} "
            f"failed_requests={self.failed_requests} lost_writes={self.lost_writes}"
        )
