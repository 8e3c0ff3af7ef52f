"""What the plan engine (:mod:`.engine`) reports: each stage's position and next gates, the plan's
status, and one step up or down (previewed or published), each with its JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration_plan.plan.gates import GateResult
from migration_plan.plan.state import StagePosition

__all__ = ["PlanStatus", "StageStatus", "StepChange"]


@dataclass(frozen=True)
class StageStatus:
    position: StagePosition
    gates: tuple[GateResult, ...] = ()
    """The next step's gates, evaluated now (a load gate is only run by advance)."""

    def to_dict(self) -> dict[str, Any]:
        position = self.position
        following = position.next_step
        return {
            "stage": position.stage.name,
            "step": position.label,
            "index": position.index,
            "steps": [step.label for step in position.stage.steps],
            "complete": position.complete,
            "next": following.label if following else None,
            "routes": [
                {
                    "route": r.route,
                    "state": r.state,
                    "step": r.step_label(position.stage),
                    "index": r.index,
                    "off_plan": r.off_plan,
                    "match_differs": r.match_differs,
                }
                for r in position.routes
            ],
            "gates": [gate.to_dict() for gate in self.gates],
        }


@dataclass(frozen=True)
class PlanStatus:
    plan: str
    version: int
    stages: tuple[StageStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "version": self.version, "stages": [s.to_dict() for s in self.stages]}


@dataclass(frozen=True)
class StepChange:
    """One step up or down, previewed or published."""

    stage: str
    before: str
    after: str
    reason: str
    diff: Mapping[str, Any]
    problems: tuple[str, ...] = ()
    gates: tuple[GateResult, ...] = ()
    forced_past: tuple[str, ...] = ()
    published: Mapping[str, Any] | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    """The stage's routes whose state changes: ``name: shadow -> canary 5%``."""

    @property
    def blocked(self) -> bool:
        """Gates failed and nothing was forced: nothing was published."""
        return self.published is None and not self.dry_run and not self.problems

    @property
    def failing_gates(self) -> list[GateResult]:
        return [gate for gate in self.gates if not gate.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "from": self.before,
            "to": self.after,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "gates": [gate.to_dict() for gate in self.gates],
            "forced_past": list(self.forced_past),
            "problems": list(self.problems),
            "diff": dict(self.diff),
            "published": dict(self.published) if self.published else None,
            "notes": list(self.notes),
            "changes": list(self.changes),
        }
