"""A small hand-written SVG line chart: one panel per measure, one line per target, moments marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Marker", "Panel", "line_chart"]

COLOURS = {"legacy": "#1f77b4", "new": "#d62728", "unknown": "#7f7f7f", "all": "#2ca02c"}
WIDTH, PANEL_HEIGHT, LEFT, RIGHT, TOP, GAP = 760, 150, 60, 110, 24, 44


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    lines: dict[str, list[tuple[float, float]]]
    """Target name -> (x seconds, y value) points in x order."""


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    colour: str = "#ff7f0e"


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(top / step) + 1)]


def line_chart(panels: Sequence[Panel], markers: Sequence[Marker], x_range: tuple[float, float]) -> str:
    """The SVG document (a string) of ``panels`` stacked over a shared x axis in seconds."""
    x0, x1 = x_range
    span = max(x1 - x0, 1e-9)
    plot_width = WIDTH - LEFT - RIGHT
    height = TOP + len(panels) * (PANEL_HEIGHT + GAP) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]

    def sx(x: float) -> float:
        return LEFT + (x - x0) / span * plot_width

    for index, panel in enumerate(panels):
        top = TOP + index * (PANEL_HEIGHT + GAP)
        bottom = top + PANEL_HEIGHT
        peak = max((y for points in panel.lines.values() for _, y in points), default=0.0)
        ticks = _ticks(peak * 1.1 or 1.0)
        y_top = max(ticks[-1], 1e-9)

        def sy(y: float, bottom: float = bottom, y_top: float = y_top) -> float:
            return bottom - y / y_top * PANEL_HEIGHT

        parts.append(f'<text x="{LEFT}" y="{top - 6}" font-weight="bold">{escape(panel.title)}</text>')
        parts.append(
            f'<rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" '
            'fill="none" stroke="#999"/>'
        )
        for tick in ticks:
            y = sy(tick)
            parts.append(
                f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            )
            parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:g}</text>')
        parts.append(
            f'<text x="12" y="{top + PANEL_HEIGHT / 2:.1f}" transform="rotate(-90 12 '
            f'{top + PANEL_HEIGHT / 2:.1f})" text-anchor="middle">{escape(panel.unit)}</text>'
        )
        second = int(x0)
        while second <= x1:
            if second % 5 == 0:
                x = sx(second)
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#999"/>'
                )
                parts.append(f'<text x="{x:.1f}" y="{bottom + 15}" text-anchor="middle">{second}</text>')
            second += 1
        for row, (target, points) in enumerate(sorted(panel.lines.items())):
            colour = COLOURS.get(target, "#9467bd")
            if points:
                path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
            legend_y = top + 14 + row * 16
            parts.append(
                f'<line x1="{WIDTH - RIGHT + 10}" x2="{WIDTH - RIGHT + 28}" y1="{legend_y - 4}" '
                f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>'
            )
            parts.append(f'<text x="{WIDTH - RIGHT + 32}" y="{legend_y}">{escape(target)}</text>')
        for order, marker in enumerate(markers):
            if x0 <= marker.x <= x1:
                x = sx(marker.x)
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{marker.colour}" '
                    'stroke-width="1.5" stroke-dasharray="4 3"/>'
                )
                if index == 0:
                    parts.append(
                        f'<text x="{x + 3:.1f}" y="{top + 12 + 12 * order}" fill="{marker.colour}">'
                        f"{escape(marker.label)}</text>"
                    )
    parts.append(
        f'<text x="{LEFT + plot_width / 2:.1f}" y="{height - 2}" text-anchor="middle">'
        "seconds since the fault</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)
