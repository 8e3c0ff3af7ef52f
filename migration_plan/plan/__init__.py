"""Plan as code: a YAML plan (model), where each stage stands (state), gate checks, and the engine.

from migration_plan.plan import PlanEngine, load_plan
engine = PlanEngine(load_plan(Path("plans/mysite.yaml")), admin_client)
engine.status(); engine.advance(dry_run=True); engine.rollback()
"""

from migration_plan.plan.engine import PlanEngine, PlanStatus, StageStatus, StepChange
from migration_plan.plan.gates import GateResult, GateSourceError
from migration_plan.plan.model import Plan, PlanError, Stage, Step, load_plan, parse_plan
from migration_plan.plan.sources import load_gate_runner, sync_lag_from_command

__all__ = [
    "GateResult",
    "GateSourceError",
    "Plan",
    "PlanEngine",
    "PlanError",
    "PlanStatus",
    "Stage",
    "StageStatus",
    "Step",
    "StepChange",
    "load_gate_runner",
    "load_plan",
    "parse_plan",
    "sync_lag_from_command",
]
