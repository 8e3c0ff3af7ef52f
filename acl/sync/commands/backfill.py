"""``python -m acl.sync backfill <target>``, for any target: open the legacy read-only and the sync
store, copy page by page behind a progress bar, print the summary; exit 1 when rows were rejected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine

from acl.sync.bootstrap import sync_engine
from acl.sync.commands.backfill_output import backfill_progress, print_backfill_summary
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.engines import read_only_engine
from acl.sync.settings import SyncSettings

__all__ = ["run_backfill_command"]


def run_backfill_command(
    settings: SyncSettings,
    args: argparse.Namespace,
    *,
    target: str,
    unit: str,
    source: Callable[[Engine], Any],
    port: Callable[[SyncSettings], AbstractContextManager[Any]],
    run: Callable[..., Any],
    describe_rejected: Callable[[Any], str],
) -> int:
    """``source(legacy_engine)`` is read into ``port(settings)`` by ``run`` (a ``run_*_backfill``)."""
    engine = sync_engine(settings)
    legacy = read_only_engine(settings.legacy_database_url)
    rows = source(legacy)
    try:
        with (
            port(settings) as opened,
            backfill_progress(target, unit, rows.count(), disable=args.no_progress) as done,
        ):
            report = run(
                rows,
                opened,
                CheckpointStore(engine),
                batch_size=args.batch_size,
                restart=args.restart,
                on_page=lambda page: done(page.read),
                max_pages=args.max_pages,
            )
    finally:
        legacy.dispose()
        engine.dispose()
    print_backfill_summary(target, report, describe_rejected=describe_rejected)
    return 0 if report.ok else 1
