"""Drill reports: Markdown and HTML (with an inline SVG chart) for each drill, and an index for a run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from migration_plan.toolbox.drills.capacity import pace_rows
from migration_plan.toolbox.drills.result import DrillResult
from migration_plan.toolbox.drills.series import per_second
from migration_plan.toolbox.drills.svg import Marker, Panel, line_chart
from migration_plan.toolbox.drills.tables import Figure, figure_table

__all__ = ["chart", "timeline_lines", "write_index", "write_report"]


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def timeline_lines(events: Sequence[tuple[float, str]]) -> list[str]:
    """A drill's events as Markdown list items, each with its UTC time to the millisecond."""
    return [
        f"- {datetime.fromtimestamp(at, tz=UTC).strftime('%H:%M:%S.%f')[:-3]} {label}" for at, label in events
    ]


def chart(result: DrillResult) -> str:
    """Requests/s, failed requests/s and p99 latency per target over time, the fault and rollback marked."""
    origin = result.injected or result.started
    points = per_second(result.samples)
    panels = []
    for title, unit, value in (
        ("requests per second, by the side that answered", "req/s", lambda p: float(p.requests)),
        ("failed requests per second (as the client saw them)", "failed/s", lambda p: float(p.errors)),
        ("p99 latency", "ms", lambda p: p.p99_ms),
    ):
        lines: dict[str, list[tuple[float, float]]] = {}
        for point in points:
            lines.setdefault(point.target, []).append((point.second - origin, value(point)))
        panels.append(Panel(title, unit, lines))
    markers = [Marker(0.0, "fault" if result.expect != "manual" else "action", "#ff7f0e")]
    if result.first_failing_window_end is not None:
        markers.append(Marker(result.first_failing_window_end - 1 - origin, "1st failing window", "#9467bd"))
    if result.rolled_back is not None:
        markers.append(Marker(result.rolled_back - origin, "rollback", "#2ca02c"))
    seconds = [point.second - origin for point in points] or [0.0]
    return line_chart(panels, markers, (min(seconds), max(seconds) + 1))


def _figures(result: DrillResult) -> list[Figure]:
    def seconds(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f} s"

    rows = [
        ("scenario", result.summary),
        ("who rolls back", {"guard": "the guard", "manual": "the operator", "sync": "nobody"}[result.expect]),
        ("time to detect (fault -> the guard or the sync relay reports it)", seconds(result.detect_s)),
        (
            "time to roll back (guard: end of the first failing window -> rollback; "
            "manual: action -> last request served by the old side)",
            seconds(result.rollback_s),
        ),
        *pace_rows(result.pace),
        ("failed requests", str(result.failed_requests)),
        ("requests not sent (every connection busy)", str(result.not_sent)),
        ("acknowledged writes", str(result.writes_acknowledged)),
        ("writes with unknown outcome", str(result.writes_unknown)),
        ("acknowledged writes lost", str(result.lost_writes)),
        ("steady state before", result.before.describe() if result.before else "-"),
        ("steady state after", result.after.describe() if result.after else "-"),
    ]
    return rows


def _markdown(result: DrillResult, svg_name: str) -> str:
    lines = [f"# Drill `{result.name}`", "", f"Started {_when(result.started)}.", ""]
    if result.skipped or result.error:
        lines.append(f"**{'Skipped' if result.skipped else 'Error'}:** {result.skipped or result.error}")
        lines += ["", *(f"- {note}" for note in result.notes)]
        return "\n".join(lines) + "\n"
    lines += figure_table(_figures(result))
    lines += ["", "## Targets", ""]
    lines += [f"- {'met' if c.met else '**missed**'}: {c.name} ({c.detail})" for c in result.targets()]
    lines += ["", "## Failed requests by cause", ""]
    lines += [f"- {cause}: {count}" for cause, count in result.failures.items()] or ["- none"]
    lines += ["", "## Timeline", ""]
    origin = result.injected or result.started
    lines += [f"- {moment - origin:+.2f} s {label}" for moment, label in result.events]
    lines += ["", "## Reconciliation of writes", ""]
    lines += [f"- {line}" for line in result.reconciliation] or ["- no writes"]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result.notes]
    lines += ["", f"![requests, errors and latency per target]({svg_name})", "", result.line(), ""]
    return "\n".join(lines)


def _html(result: DrillResult, svg: str) -> str:
    rows = "".join(f"<tr><th>{escape(n)}</th><td>{escape(v)}</td></tr>" for n, v in _figures(result))
    targets = "".join(
        f"<li class={'met' if c.met else 'missed'}>{escape(c.name)}: {escape(c.detail)}</li>"
        for c in result.targets()
    )
    causes = "".join(f"<li>{escape(k)}: {v}</li>" for k, v in result.failures.items()) or "<li>none</li>"
    origin = result.injected or result.started
    timeline = "".join(f"<li>{m - origin:+.2f} s {escape(label)}</li>" for m, label in result.events)
    reconciliation = "".join(f"<li>{escape(line)}</li>" for line in result.reconciliation)
    notes = "".join(f"<li>{escape(note)}</li>" for note in result.notes)
    status = escape(result.skipped or result.error or "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>drill {escape(result.name)}</title>
<style>body{{font-family:sans-serif;max-width:820px;margin:2em auto}}th{{text-align:left;padding-right:1em}}
.met{{color:#2a7}}.missed{{color:#c22;font-weight:bold}}code{{background:#f4f4f4}}</style></head><body>
<h1>Drill <code>{escape(result.name)}</code></h1><p>Started {_when(result.started)}. {status}</p>
<table>{rows}</table><h2>Targets</h2><ul>{targets}</ul>{svg}
<h2>Failed requests by cause</h2><ul>{causes}</ul><h2>Timeline</h2><ul>{timeline}</ul>
<h2>Reconciliation of writes</h2><ul>{reconciliation}</ul><h2>Notes</h2><ul>{notes}</ul>
<pre>{escape(result.line())}</pre></body></html>
"""


def write_report(result: DrillResult, directory: Path) -> Path:
    """Write ``<stamp>-<name>.md``, ``.html`` and ``.svg`` under ``directory``; return the Markdown path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.fromtimestamp(result.started, tz=UTC):%Y%m%d-%H%M%S}-{result.name}"
    svg = chart(result) if result.samples else ""
    if svg:
        (directory / f"{stem}.svg").write_text(svg, encoding="utf-8")
    markdown = directory / f"{stem}.md"
    markdown.write_text(_markdown(result, f"{stem}.svg"), encoding="utf-8")
    (directory / f"{stem}.html").write_text(_html(result, svg), encoding="utf-8")
    return markdown


def write_index(results: Sequence[DrillResult], reports: Sequence[Path], directory: Path) -> Path:
    """``index.md``: one line per drill of the run and a link to its report."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["# Drill run", "", "| drill | result | report |", "|---|---|---|"]
    for result, report in zip(results, reports, strict=True):
        verdict = "skipped" if result.skipped else "passed" if result.passed else "**failed**"
        lines.append(f"| {result.name} | {verdict}: `{result.line()}` | [{report.name}]({report.name}) |")
    path = directory / "index.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
