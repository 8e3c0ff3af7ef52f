"""The figures table every drill report opens with, rendered one way for all of them."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Figure", "figure_table"]

Figure = tuple[str, str]
"""One row of a drill's figures: what was measured, and its value as the report shows it."""


def figure_table(rows: Iterable[Figure]) -> list[str]:
    """``rows`` as a Markdown table of two columns, figure and value, one line each."""
    return ["| figure | value |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)]
