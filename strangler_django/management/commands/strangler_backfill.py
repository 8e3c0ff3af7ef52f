"""``manage.py strangler_backfill AGGREGATE...``: a snapshot outbox event per existing row (backfill)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strangler_django.snapshots import UnknownSnapshot, backfill, snapshot_for


class Command(BaseCommand):
    help = (
        "Record one snapshot event per existing row of each aggregate (registered with"
        " strangler_django.snapshots.register_snapshot), so forward sync carries the rows written before"
        " the outbox. Safe to run again: each run sends the rows' current state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("aggregates", nargs="+", metavar="AGGREGATE", help="a registered aggregate")
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        try:
            snapshots = [snapshot_for(aggregate) for aggregate in options["aggregates"]]
        except UnknownSnapshot as exc:
            raise CommandError(str(exc)) from exc
        for snapshot in snapshots:
            done = 0
            for done, total in backfill(snapshot.aggregate, batch=batch):
                self.stdout.write(f"{snapshot.aggregate}: {done}/{total} rows")
            self.stdout.write(
                self.style.SUCCESS(f"{snapshot.aggregate}: {done} {snapshot.event_type} events recorded")
            )
