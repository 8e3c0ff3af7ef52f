"""``python -m acl.sync dead-letters [--json] [--retry EVENT_ID ... | --all]``.

Lists the reverse events the monolith refused for good (the service's ``service_dead_letter``, in
``STRANGLER_SYNC_SERVICE_DATABASE_URL``), or sends them to ``/internal/sync/apply`` again once the
cause is fixed. Sending again is safe: the monolith applies an event once by its id. An event it now
takes (applied, duplicate, or stale: a later change of the same aggregate is already there) leaves
the dead letters; one it refuses again stays, with the new reason. Exit status: 0 when every event
asked for was delivered (or, listing, always), 1 when one was refused again, 2 when the monolith
could not be reached (the events stay) or an event id is unknown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from acl.errors import LegacyServiceError
from acl.sync.core.dead_letters import DeadLetters
from acl.sync.core.engines import make_engine
from acl.sync.settings import SyncSettings
from acl.sync.workers.internal_client import MonolithInternalClient
from acl.sync.workers.relay import row_to_event

__all__ = ["register", "run"]

ClientFactory = Callable[[SyncSettings], MonolithInternalClient]


def register(commands: Any) -> argparse.ArgumentParser:
    """Add ``dead-letters`` to the ``python -m acl.sync`` sub-commands."""
    parser = commands.add_parser(
        "dead-letters", help="list the reverse events the monolith refused, or send them again"
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--retry", action="append", metavar="EVENT_ID", default=[], help="send this event again (repeatable)"
    )
    chosen.add_argument("--all", action="store_true", help="send every dead letter again")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _client(settings: SyncSettings) -> MonolithInternalClient:
    return MonolithInternalClient(settings.legacy_url, settings.internal_token())


def _entry(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "aggregate": f"{row.aggregate_type}/{row.aggregate_id}",
        "sequence": row.sequence,
        "origin": row.origin,
        "occurred_at": row.occurred_at.isoformat(),
        "refused_at": row.refused_at.isoformat(),
        "attempts": row.attempts,
        "reason": json.loads(row.reason),
    }


def run(
    settings: SyncSettings,
    args: argparse.Namespace,
    *,
    client_factory: ClientFactory = _client,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    engine = make_engine(settings.service_database_url)
    try:
        store = DeadLetters(engine)
        if not args.retry and not args.all:
            return _list(store, args, out)
        return _retry(store, settings, args, client_factory, out)
    finally:
        engine.dispose()


def _list(store: DeadLetters, args: argparse.Namespace, out: TextIO) -> int:
    entries = [_entry(row) for row in store.list()]
    if args.json:
        print(json.dumps(entries, indent=2), file=out)
        return 0
    print(f"{len(entries)} dead letters", file=out)
    for entry in entries:
        reason = entry["reason"]
        why = reason.get("message") or reason.get("body") or json.dumps(reason)
        print(
            f"  {entry['event_id']}  {entry['event_type']} {entry['aggregate']} seq {entry['sequence']}"
            f"  refused {entry['refused_at']} (x{entry['attempts']}): {why}",
            file=out,
        )
    return 0


def _retry(
    store: DeadLetters,
    settings: SyncSettings,
    args: argparse.Namespace,
    client_factory: ClientFactory,
    out: TextIO,
) -> int:
    rows = store.list(None if args.all else args.retry)
    missing = sorted(set(args.retry) - {row.event_id for row in rows})
    if missing:
        print(f"error: no dead letter with event id {', '.join(missing)}", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    status = 0
    client = client_factory(settings)
    try:
        for row in rows:
            try:
                [outcome] = client.apply_events([row_to_event(row)])
            except LegacyServiceError as exc:
                print(f"error: the monolith could not take {row.event_id}: {exc}", file=sys.stderr)
                results.append({"event_id": row.event_id, "outcome": "unavailable", "error": str(exc)})
                status = 2
                break
            if outcome.refused:
                store.refused_again(row.event_id, outcome)
                status = max(status, 1)
            else:
                store.remove(row.event_id)
            results.append({"event_id": row.event_id, "outcome": outcome.outcome, "reason": outcome.reason})
    finally:
        client.close()
    if args.json:
        print(json.dumps(results, indent=2), file=out)
    else:
        for result in results:
            detail = f": {json.dumps(result['reason'])}" if result.get("reason") else ""
            print(f"  {result['event_id']}  {result['outcome']}{detail}", file=out)
        kept = sum(1 for result in results if result["outcome"] in ("refused", "unavailable"))
        print(f"{len(results) - kept} delivered, {kept} still dead", file=out)
    return status
