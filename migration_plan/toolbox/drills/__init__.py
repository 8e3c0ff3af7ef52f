"""Rollback drills: a scenario (a fault, or an operator's action) run under load against a stack, with
time to detect, time to roll back, failed requests by cause and acknowledged writes lost, reported in
Markdown and HTML under drills/reports/. `strangler drill NAME` is the command line; `strangler drill
chaos --seed N` runs a seeded sequence of faults and handovers under stock writes (:mod:`.chaos`)."""

from migration_plan.toolbox.drills.chaos import ChaosOptions, ChaosResult, run_chaos, write_chaos_report
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.runner import DrillOptions, run_drill, run_scenarios
from migration_plan.toolbox.drills.scenarios import SCENARIOS, Expectation, Scenario
from migration_plan.toolbox.drills.stack import OwnStack, StackAddresses, StackError

__all__ = [
    "SCENARIOS",
    "ChaosOptions",
    "ChaosResult",
    "DrillControl",
    "DrillOptions",
    "DrillResult",
    "Expectation",
    "OwnStack",
    "Scenario",
    "StackAddresses",
    "StackError",
    "run_chaos",
    "run_drill",
    "run_scenarios",
    "write_chaos_report",
]
