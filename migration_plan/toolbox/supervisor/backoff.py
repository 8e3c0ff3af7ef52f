"""Exponential backoff between automatic restarts, reset once a process has stayed up for a while."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff", "BackoffState"]


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th consecutive restart: ``initial * factor ** (n - 1)``, never above ``cap``.

    A process that ran for at least ``reset_after`` seconds before it crashed starts again from ``initial``.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 30.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.cap <= 0 or self.reset_after < 0:
            raise ValueError("backoff initial, cap must be > 0 and reset_after >= 0")
        if self.factor < 1:
            raise ValueError("backoff factor must be >= 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number ``attempt`` (1 for the first restart after a crash)."""
        if attempt < 1:
            raise ValueError("attempt starts at 1")
        # Bound the exponent so huge attempt counts cannot overflow a float.
        exponent = min(attempt - 1, 64)
        return min(self.cap, self.initial * self.factor**exponent)


@dataclass
class BackoffState:
    """Consecutive crashes of one process, and the delay the next restart must wait."""

    policy: Backoff
    consecutive: int = 0

    def on_crash(self, stable_for: float) -> float:
        """Record a crash after ``stable_for`` seconds of uptime; return the delay before restarting."""
        if stable_for >= self.policy.reset_after:
            self.consecutive = 0
        self.consecutive += 1
        return self.policy.delay(self.consecutive)

    def reset(self) -> None:
        self.consecutive = 0
