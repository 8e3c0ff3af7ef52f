"""The chaos drill's faults (:mod:`.chaos`): a seeded random sequence of kills, stops and flips, the
same for the same seed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_TARGETS", "Fault", "plan_faults"]

DEFAULT_TARGETS = ("sync-relay", "sync-consume", "sync-reverse", "catalog", "legacy")
"""The processes a fault may kill or stop."""


@dataclass(frozen=True)
class Fault:
    at: float
    """Seconds after the load started, not before which the fault is injected."""
    kind: str
    """kill | stop | flip"""
    target: str | None = None
    down_s: float = 0.0
    """stop: how long the process stays down."""
    flip_while_down: bool = False
    """stop: flip or roll back the route halfway through the outage (a backlog is then pending)."""

    def describe(self) -> str:
        if self.kind == "kill":
            return f"kill -9 {self.target}"
        if self.kind == "stop":
            extra = ", flip while it is down" if self.flip_while_down else ""
            return f"stop {self.target} for {self.down_s:.1f} s{extra}"
        return "flip the route to the other side"


def plan_faults(seed: int, duration_s: float, targets: Sequence[str] = DEFAULT_TARGETS) -> list[Fault]:
    """The seed's fault sequence: the same seed gives the same faults at the same moments."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    at = rng.uniform(1.0, 3.0)
    while at < duration_s - 2.0:
        draw = rng.random()
        if draw < 0.3:
            fault = Fault(at, "kill", rng.choice(targets))
        elif draw < 0.6:
            fault = Fault(at, "stop", rng.choice(targets), rng.uniform(1.5, 5.0), rng.random() < 0.5)
        else:
            fault = Fault(at, "flip")
        faults.append(fault)
        at += fault.down_s + rng.uniform(1.0, 4.0)
    return faults
