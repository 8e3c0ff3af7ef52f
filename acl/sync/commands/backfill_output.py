"""What ``python -m acl.sync backfill <target>`` shows: a progress bar while it copies, one summary line
after, and each legacy row it could not translate (on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["backfill_progress", "print_backfill_summary"]


class _Summary(Protocol):
    read: int
    written: int
    last_id: Any
    complete: bool

    @property
    def rejected(self) -> Sequence[Any]: ...


@contextmanager
def backfill_progress(
    target: str, unit: str, total: int, *, disable: bool
) -> Iterator[Callable[[int], None]]:
    """A rich progress bar ``backfill <target>`` over ``total`` ``unit``; yields ``done(read_so_far)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"backfill {target}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=disable,
        transient=False,
    ) as progress:
        task = progress.add_task(unit, total=total)
        yield lambda read: progress.update(task, completed=read)


def print_backfill_summary(target: str, report: _Summary, *, describe_rejected: Callable[[Any], str]) -> None:
    """``backfill <target>: read …, written …, rejected …, last id …, complete|interrupted``, then one
    stderr line per rejected row (``describe_rejected`` names it, e.g. ``id=7``)."""
    print(
        f"backfill {target}: read {report.read}, written {report.written}, rejected {len(report.rejected)}, "
        f"last id {report.last_id}, {'complete' if report.complete else 'interrupted'}"
    )
    for rejected in report.rejected:
        print(f"  rejected {describe_rejected(rejected.legacy_id)}: {rejected.error}", file=sys.stderr)
