"""Process-tree figures from ``/proc`` (Linux): children, resident memory, open file descriptors."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["children", "fd_count", "rss_bytes", "tree"]


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's list), empty when it is gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except FileNotFoundError:
            continue
        found += [int(part) for part in text.split()]
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    result, pending = [], [pid]
    while pending:
        current = pending.pop()
        result.append(current)
        pending += children(current)
    return result


def rss_bytes(pid: int) -> int:
    """Resident set size of one process; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return 0
    return 0


def fd_count(pid: int) -> int:
    """Open file descriptors of one process; 0 when it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except FileNotFoundError:
        return 0
