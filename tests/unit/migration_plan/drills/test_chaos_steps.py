"""The chaos drill runs its plan's steps on time: a process's steps run in order in a lane of their own,
so that a start waiting for a slow readiness holds up no other process's fault (no process started:
a stand-in supervisor answers)."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest

from migration_plan.admin_client import AdminClient
from migration_plan.toolbox.drills.chaos_plan import Step
from migration_plan.toolbox.drills.chaos_result import ChaosResult
from migration_plan.toolbox.drills.chaos_run import ChaosOptions, ChaosRun
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.profile import WriteProbe
from migration_plan.toolbox.drills.stack import StackAddresses

pytestmark = pytest.mark.unit

PROBE = WriteProbe(path="/counters/{id}/add", read="/counters/{id}", field="value", undo="by")
RULE_MATCH = {"kind": "pattern", "path": "^/counters/[0-9]+/add$", "methods": ["POST"]}


class _Supervisor:
    """Stands in for a stack: ps answers two running processes; ``start catalog`` waits for ``ready``."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.commands: list[str] = []

    def supervisor(self, command: str, name: str | None = None, *, timeout: float = 180.0) -> dict[str, Any]:
        if command == "ps":
            return {"processes": [{"name": "catalog"}, {"name": "legacy"}]}
        if (command, name) == ("start", "catalog"):
            assert self.ready.wait(5.0)
        self.commands.append(f"{command} {name}")
        return {"ok": True}


def test_a_slow_start_holds_up_no_other_process_and_each_process_keeps_its_order() -> None:
    stack = _Supervisor()
    result = ChaosResult(seed=1, started=time.time(), duration_s=10.0)
    options = ChaosOptions(PROBE, RULE_MATCH, targets=("catalog", "legacy"), worker_target=None)
    control = DrillControl(cast(AdminClient, None), "chaos-stock", "catalog")
    chaos = ChaosRun(cast(StackAddresses, stack), control, options, result)
    steps = [
        Step(0.0, "stop", "catalog"),
        Step(0.1, "start", "catalog"),
        Step(0.2, "stop", "legacy"),
        Step(0.3, "start", "legacy"),
        Step(0.4, "stop", "catalog"),
    ]
    for index, step in enumerate(steps):
        chaos.run_step(step, index)
    deadline = time.monotonic() + 5.0
    while "start legacy" not in stack.commands and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.commands == ["stop catalog", "stop legacy", "start legacy"], "the legacy's steps ran"
    stack.ready.set()
    chaos.wait_for_steps(timeout=5.0)
    assert stack.commands[3:] == ["start catalog", "stop catalog"], "the catalog's, in their order"
    assert not result.notes
