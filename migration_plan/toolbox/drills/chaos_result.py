"""The chaos drill's result: its figures, summary line and Markdown report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from migration_plan.toolbox.drills.capacity import LoadRate, pace_figures, pace_rows
from migration_plan.toolbox.drills.report import timeline_lines
from migration_plan.toolbox.drills.tables import figure_table

__all__ = ["ChaosResult", "write_chaos_report"]

log = logging.getLogger("migration_plan.toolbox.drills.chaos")


@dataclass
class ChaosResult:
    seed: int
    started: float
    duration_s: float
    pace: LoadRate | None = None
    """The load's rate and the capacity it was derived from (None: the drill failed before)."""
    acknowledged: int = 0
    unknown: int = 0
    refused: int = 0
    not_sent: int = 0
    lost_writes: int = 0
    duplicated: int = 0
    conflicts: int = 0
    field_writes: int | None = None
    """Acknowledged field changes (None: the drill made none, counters only)."""
    faults: int = 0
    """Faults applied (each kill, stop or flip of the plan, whatever its outcome)."""
    overlaps: int = 0
    """Faults of the plan that came while another fault's process was still down."""
    run_s: float = 0.0
    """From the start of the load to the end of the check (the settling included)."""
    handovers: dict[str, int] = field(default_factory=dict)
    """Flips and rollbacks by outcome (``flip new: done``, ``rollback legacy: refused 409`` ...)."""
    writes: dict[str, int] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    reconciliation: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def event(self, label: str) -> float:
        now = time.time()
        self.events.append((now, label))
        log.info("chaos: %s", label)
        return now

    @property
    def passed(self) -> bool:
        return self.error is None and self.lost_writes == 0 and self.duplicated == 0

    def line(self) -> str:
        """``drill chaos: seed=N acknowledged=N unknown=N lost_writes=N duplicated=N conflicts=N``, then
        ``field_writes=N`` when the drill changed fields, then the pace."""
        if self.error is not None:
            return f"drill chaos: seed={self.seed} error ({self.error})"
        fields = "" if self.field_writes is None else f"field_writes={self.field_writes} "
        return (
            f"drill chaos: seed={self.seed} acknowledged={self.acknowledged} unknown={self.unknown} "
            f"lost_writes={self.lost_writes} duplicated={self.duplicated} conflicts={self.conflicts} "
            f"{fields}{pace_figures(self.pace)}"
        )


def write_chaos_report(result: ChaosResult, reports: Path) -> Path:
    """``<stamp>-chaos-seed<N>.md``: the figures, every fault and handover as it happened, the ledger's
    reconciliation per product and side; its last line is :meth:`ChaosResult.line`."""
    reports.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(result.started, tz=UTC).strftime("%Y%m%d-%H%M%S")
    path = reports / f"{stamp}-chaos-seed{result.seed}.md"
    lines = [
        f"# Drill chaos, seed {result.seed}",
        "",
        f"Faults for {result.duration_s:g} s under writes through the front door.",
        "",
        *figure_table(
            [
                *pace_rows(result.pace),
                ("acknowledged writes", str(result.acknowledged)),
                ("writes of unknown outcome", str(result.unknown)),
                ("refused writes (nothing applied)", str(result.refused)),
                ("writes not sent (client still waiting)", str(result.not_sent)),
                *(
                    [("acknowledged field changes", str(result.field_writes))]
                    if result.field_writes is not None
                    else []
                ),
                ("lost writes (units; a field counts one per id)", str(result.lost_writes)),
                ("duplicated (units)", str(result.duplicated)),
                ("new sync conflicts", str(result.conflicts)),
                ("faults applied (of which overlapping another)", f"{result.faults} ({result.overlaps})"),
                ("run time, load start to the check (s)", f"{result.run_s:.0f}"),
            ]
        ),
        "",
        "## Writes by outcome",
        "",
        *[f"- {key}: {count}" for key, count in result.writes.items()],
        "",
        "## Handovers",
        "",
        *[f"- {key}: {count}" for key, count in sorted(result.handovers.items())],
        "",
        "## Timeline",
        "",
        *timeline_lines(result.events),
        "",
        "## Reconciliation against the client's ledger",
        "",
        *[f"- {line}" for line in result.reconciliation],
        "",
    ]
    if result.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in result.notes], ""]
    lines.append(result.line())
    path.write_text("\n".join(lines) + "\n")
    return path
