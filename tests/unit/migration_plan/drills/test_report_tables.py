"""Every drill report opens with the same figures table (one renderer), the pace rows among its figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_plan.toolbox.drills.chaos_result import ChaosResult, write_chaos_report
from migration_plan.toolbox.drills.crash_report import CrashResult, write_crash_report
from migration_plan.toolbox.drills.report import write_report
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.tables import figure_table

pytestmark = pytest.mark.unit

HEADER = ["| figure | value |", "| --- | --- |"]
PACE = [
    "| measured capacity of the route (at the start of the drill) | not measured |",
    "| load rate | - |",
]


def test_figure_table_is_a_header_and_one_row_per_figure() -> None:
    assert figure_table([("a", "1"), ("b", "two")]) == [*HEADER, "| a | 1 |", "| b | two |"]
    assert figure_table([]) == HEADER


def _table(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(HEADER[0])
    end = lines.index("", start)
    return lines[start:end]


def test_the_drill_chaos_and_crash_reports_share_the_table(tmp_path: Path) -> None:
    drill = DrillResult(name="errors", summary="errors on the route", expect="guard", started=0.0)
    chaos = ChaosResult(seed=1, started=0.0, duration_s=10.0)
    crash = CrashResult(started=0.0, older_than_s=3.0, customers=2)
    tables = [
        _table(write_report(drill, tmp_path / "drill").read_text()),
        _table(write_chaos_report(chaos, tmp_path / "chaos").read_text()),
        _table(write_crash_report(crash, tmp_path / "crash").read_text()),
    ]
    for table in tables:
        assert table[:2] == HEADER
        assert all(line.startswith("| ") and line.endswith(" |") for line in table)
        assert PACE[0] in table and PACE[1] in table
