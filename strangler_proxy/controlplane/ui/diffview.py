"""Unified diffs as (css class, line) pairs for the templates: additions, deletions, hunk headers."""

from __future__ import annotations

__all__ = ["DiffLine", "diff_lines"]

DiffLine = tuple[str, str]


def diff_lines(text: str | None) -> list[DiffLine]:
    """Classify each line of a unified diff; file headers (``---``/``+++``) are kept as hunk lines."""
    if not text:
        return []
    lines: list[DiffLine] = []
    for line in text.splitlines():
        if line.startswith(("+++", "---", "@@")):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines
