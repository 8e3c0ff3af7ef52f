"""The crash drill's outcome (:mod:`.orders_crash`): its figures, the summary line, the Markdown report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from migration_plan.toolbox.drills.capacity import LoadRate, pace_figures, pace_rows
from migration_plan.toolbox.drills.report import timeline_lines
from migration_plan.toolbox.drills.tables import figure_table

__all__ = ["NAME", "CrashResult", "write_crash_report"]

log = logging.getLogger(__name__)

NAME = "orders-crash"


@dataclass
class CrashResult:
    started: float
    older_than_s: float
    customers: int
    acknowledged: int = 0
    acknowledged_after_restart: int = 0
    refused: int = 0
    unknown: int = 0
    """Checkouts whose outcome is still unknown after the retry under their key."""
    retried: int = 0
    lost_writes: int = 0
    """Acknowledged orders missing on a side (counted once per side)."""
    oversold: int = 0
    held: int = 0
    unfinished: int = 0
    unreleased: int = 0
    recovered_s: float | None = None
    """From the kill to the moment the service reported nothing pending."""
    rate: float = 0.0
    """Checkout attempts per second over the load, as it ran."""
    pace: LoadRate | None = None
    """The rate the load was set to and the capacity it was derived from."""
    stock_lines: list[str] = field(default_factory=list)
    order_lines: list[str] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    events: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def event(self, label: str) -> float:
        now = time.time()
        self.events.append((now, label))
        log.info("drill %s: %s", NAME, label)
        return now

    @property
    def passed(self) -> bool:
        violations = self.lost_writes + self.oversold + self.held + self.unfinished + self.unreleased
        return self.error is None and violations == 0 and self.acknowledged > 0

    def line(self) -> str:
        if self.error is not None:
            return f"drill {NAME}: error ({self.error})"
        return (
            f"drill {NAME}: acknowledged={self.acknowledged} lost_writes={self.lost_writes} "
            f"oversold={self.oversold} unfinished={self.unfinished + self.unreleased} held={self.held} "
            f"unknown={self.unknown} older_than_s={self.older_than_s:g} {pace_figures(self.pace)}"
        )


def write_crash_report(result: CrashResult, reports: Path) -> Path:
    """``<stamp>-orders-crash.md``: the figures, the timeline, the stock and orders checks; its last
    line is :meth:`CrashResult.line`."""
    reports.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(result.started, tz=UTC).strftime("%Y%m%d-%H%M%S")
    path = reports / f"{stamp}-{NAME}.md"
    recovered = "n/a" if result.recovered_s is None else f"{result.recovered_s:.1f} s"
    lines = [
        f"# Drill `{NAME}`",
        "",
        f"{result.customers} customers check their session carts out ({result.rate:.1f} checkout attempts/s) "
        "while the service is killed (kill -9) and restarted; then the drill's recovery worker runs with "
        f"`--older-than {result.older_than_s:g}` (seconds).",
        "",
        *figure_table(
            [
                *pace_rows(result.pace),
                ("acknowledged checkouts (orders)", str(result.acknowledged)),
                ("of which after the restart", str(result.acknowledged_after_restart)),
                ("refused checkouts", str(result.refused)),
                (
                    "unknown outcome after the retry under their key",
                    f"{result.unknown} (retried {result.retried})",
                ),
                ("acknowledged orders missing on a side", str(result.lost_writes)),
                ("oversold units", str(result.oversold)),
                ("units held without an acknowledged order", str(result.held)),
                ("checkouts unfinished after recovery", str(result.unfinished)),
                ("compensated checkouts still holding stock", str(result.unreleased)),
                ("kill -> nothing pending", recovered),
            ]
        ),
        "",
        "## Refusals",
        "",
        *([f"- {reason}: {count}" for reason, count in sorted(result.refusals.items())] or ["- none"]),
        "",
        "## Timeline",
        "",
        *timeline_lines(result.events),
        "",
        "## Stock against the acknowledged orders",
        "",
        *([f"- {line}" for line in result.stock_lines] or ["- not checked"]),
        "",
        "## Acknowledged orders on both sides",
        "",
        *([f"- {line}" for line in result.order_lines] or ["- not checked"]),
        "",
    ]
    if result.notes:
        lines += ["## Notes", "", *[f"- {note}" for note in result.notes], ""]
    lines.append(result.line())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
