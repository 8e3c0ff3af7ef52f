"""The chaos drill's seeded fault plan: which fault, on which process, at which moment, for how long.

``plan_faults(seed, duration_s)`` draws the faults from ``random.Random(seed)`` (the same seed gives
the same plan); ``fault_steps`` turns them into the timed steps the drill runs, in order:

    kill         kill -9 of a process group (the supervisor restarts it)
    kill-worker  kill -9 of one data-plane worker (the data plane restarts it)
    stop/start   a process stopped through the supervisor and started again ``down_s`` later; some with a
                 flip or rollback halfway (a backlog is then pending); a stop of the control plane comes
                 just after a flip is sent, so it may go down in the middle of that handover
    flip         the route moved to the other side (a handover, never forced)

Faults may overlap: a fault may be drawn while a stopped process is still down (the catalog stopped
while the reverse relay is killed, say). The overlap is bounded so that the stack can settle: at most
``MAX_OUTAGES`` processes are down at once, a process is never faulted while it is down, and every
outage lasts at most ``MAX_DOWN_S``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TARGETS",
    "FAULT_KINDS",
    "MAX_DOWN_S",
    "MAX_OUTAGES",
    "WORKER_TARGET",
    "Fault",
    "Step",
    "fault_steps",
    "overlapping",
    "plan_faults",
]

DEFAULT_TARGETS = (
    "sync-relay",
    "sync-consume",
    "sync-reverse",
    "sync-reverse-orders",
    "sync-consume-orders",
    "catalog",
    "orders",
    "legacy",
    "controlplane",
)
"""The processes killed or stopped: every sync worker, the services, the monolith and the control plane."""
WORKER_TARGET = "dataplane"
"""The process whose workers ``kill-worker`` kills one at a time (the data plane restarts them)."""
CONTROL_PLANE = "controlplane"
FAULT_KINDS = ("kill", "kill-worker", "stop", "flip")
MAX_OUTAGES = 2
"""At most this many processes stopped at the same time."""
MAX_DOWN_S = 5.0
OVERLAP_CHANCE = 0.4
"""After a stop, the chance that the next fault comes while the process is still down."""


@dataclass(frozen=True)
class Fault:
    at: float
    """Seconds after the load started, not before which the fault is injected."""
    kind: str
    """kill | kill-worker | stop | flip"""
    target: str | None = None
    down_s: float = 0.0
    """stop: how long the process stays down."""
    flip_while_down: bool = False
    """stop: flip or roll back the route halfway through the outage (a backlog is then pending)."""
    flip_before_s: float | None = None
    """stop: a flip is sent this long before the stop (the control plane's: mid-handover)."""

    @property
    def end(self) -> float:
        return self.at + self.down_s

    def describe(self) -> str:
        if self.kind == "kill":
            return f"kill -9 {self.target}"
        if self.kind == "kill-worker":
            return f"kill -9 one worker of {self.target}"
        if self.kind == "stop":
            extra = ", flip while it is down" if self.flip_while_down else ""
            if self.flip_before_s is not None:
                extra += f", {self.flip_before_s:.2f} s after a flip was sent"
            return f"stop {self.target} for {self.down_s:.1f} s{extra}"
        return "flip the route to the other side"


@dataclass(frozen=True, order=True)
class Step:
    at: float
    action: str
    """kill | kill-worker | stop | start | flip"""
    target: str | None = None
    label: str = ""
    """What the fault is, said when the step that opens it runs."""


def plan_faults(
    seed: int,
    duration_s: float,
    targets: Sequence[str] = DEFAULT_TARGETS,
    *,
    worker_target: str | None = WORKER_TARGET,
) -> list[Fault]:
    """The seed's fault sequence, in order of ``at``: the same seed gives the same faults at the same
    moments. ``targets``: the processes killed or stopped; ``worker_target``: the process one of whose
    workers may be killed (None: no such fault)."""
    rng = random.Random(seed)
    faults: list[Fault] = []
    outages: dict[str, float] = {}
    """Process -> the end of its outage, for the stops still under way."""
    at = rng.uniform(1.0, 3.0)
    while at < duration_s - 2.0:
        outages = {name: end for name, end in outages.items() if end > at}
        fault = _draw(rng, at, [t for t in targets if t not in outages], worker_target)
        faults.append(fault)
        if fault.kind == "stop" and fault.target is not None:
            outages[fault.target] = fault.end
        latest = max([at, *outages.values()])
        if outages and len(outages) < MAX_OUTAGES and rng.random() < OVERLAP_CHANCE:
            at = rng.uniform(at + 0.3, max(at + 0.4, latest - 0.3))  # while a process is still down
        else:
            at = latest + rng.uniform(1.0, 4.0)
    return faults


def _draw(rng: random.Random, at: float, targets: Sequence[str], worker_target: str | None) -> Fault:
    draw = rng.random()
    if not targets:
        return Fault(at, "flip")
    if draw < 0.25:
        return Fault(at, "kill", rng.choice(targets))
    if draw < 0.5:
        target = rng.choice(targets)
        down_s = rng.uniform(1.5, MAX_DOWN_S)
        if target == CONTROL_PLANE:  # a flip just sent: the control plane may stop mid-handover
            return Fault(at, "stop", target, down_s, flip_before_s=rng.uniform(0.05, 1.0))
        return Fault(at, "stop", target, down_s, rng.random() < 0.5)
    if draw < 0.6 and worker_target is not None:
        return Fault(at, "kill-worker", worker_target)
    return Fault(at, "flip")


def fault_steps(faults: Sequence[Fault]) -> list[Step]:
    """The steps of ``faults`` in the order they run (a stop opens an outage that its start ends)."""
    steps: list[Step] = []
    for fault in faults:
        label = fault.describe()
        if fault.kind == "stop":
            if fault.flip_before_s is not None:
                steps.append(Step(max(0.0, fault.at - fault.flip_before_s), "flip", None, label))
                label = ""
            steps.append(Step(fault.at, "stop", fault.target, label))
            if fault.flip_while_down:
                steps.append(Step(fault.at + fault.down_s / 2, "flip"))
            steps.append(Step(fault.end, "start", fault.target))
        else:
            steps.append(Step(fault.at, fault.kind, fault.target, label))
    return sorted(steps, key=lambda step: step.at)


def overlapping(faults: Sequence[Fault]) -> list[tuple[Fault, Fault]]:
    """Pairs of faults where the second comes while the first's process is still down."""
    return [
        (first, second)
        for index, first in enumerate(faults)
        for second in faults[index + 1 :]
        if first.kind == "stop" and first.at < second.at < first.end
    ]
