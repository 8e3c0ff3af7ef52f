"""Operations on the orders database.

``python -m new_services.orders migrate``
    bring the orders database to the newest schema.
``python -m new_services.orders recover [--older-than SECONDS]``
    one round of saga recovery: compensate checkouts left unfinished (a crashed worker, a stock
    release that failed) — abandon their pending order, release their stock — and settle reservations
    left in doubt under their idempotency keys; exit 1 when some could not be finished.
``python -m new_services.orders recover --every SECONDS [--older-than SECONDS]``
    the recovery worker: a round every SECONDS until SIGTERM or SIGINT (what ``strangler up`` and
    docker-compose run, see ``entrypoints/recovery.py``).
``python -m new_services.orders pending``
    read only: prints ``{"unfinished": N, "unreleased": M}`` (checkouts not finished yet, and
    compensated checkouts still holding stock), whatever their age; what ``strangler drill
    orders-crash`` checks once recovery has run.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from new_services.kit.migrations import migrate_command, service_commands
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.bootstrap import bootstrap
from new_services.orders.entrypoints.recovery import RecoverySchedule, RoundResult, run_recovery
from new_services.orders.service_layer import RecoveryIncomplete
from new_services.orders.settings import OrdersSettings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser, commands = service_commands("orders")
    recover = commands.add_parser("recover", help="compensate checkouts left unfinished")
    recover.add_argument(
        "--older-than",
        type=float,
        default=300.0,
        help="seconds since the checkout began; more than the longest a checkout request may run",
    )
    recover.add_argument(
        "--every", type=float, default=None, help="run as a worker: a round every SECONDS (at most 3600)"
    )
    recover.add_argument(
        "--heartbeat",
        type=Path,
        default=None,
        help="worker: touch this file after every round (a container's health check reads its age)",
    )
    commands.add_parser("pending", help="count checkouts left unfinished or still holding stock (read only)")
    args = parser.parse_args(argv)
    settings = OrdersSettings()
    if args.command == "migrate":
        return migrate_command(settings, MIGRATIONS)
    if args.command == "pending":
        return _pending(settings)
    if args.heartbeat is not None and args.every is None:
        parser.error("--heartbeat is for the worker: give --every too")
    if args.every is not None:
        try:
            schedule = RecoverySchedule(every=args.every, older_than=args.older_than)
        except ValueError as exc:
            parser.error(str(exc))
        return _worker(settings, schedule, args.heartbeat)
    orders = bootstrap(settings)
    try:
        recovered = orders.saga().recover(older_than=timedelta(seconds=args.older_than))
    except RecoveryIncomplete as exc:
        print(f"compensated {len(exc.recovered)} unfinished checkout(s), {len(exc.failed)} failed")
        for checkout_id, reason in exc.failed.items():
            print(f"  {checkout_id} failed: {reason}", file=sys.stderr)
        return 1
    finally:
        orders.dispose()
    print(f"compensated {len(recovered)} unfinished checkout(s)")
    for checkout_id in recovered:
        print(f"  {checkout_id}")
    return 0


def _pending(settings: OrdersSettings) -> int:
    """Print how many checkouts are unfinished, and how many compensated ones still hold stock."""
    orders = bootstrap(settings)
    try:
        everything = datetime.now(UTC) + timedelta(days=1)
        with orders.uow_factory() as uow:
            unfinished = uow.checkouts.list_unfinished(started_before=everything)
            unreleased = uow.checkouts.list_unreleased(started_before=everything)
    finally:
        orders.dispose()
    print(json.dumps({"unfinished": len(unfinished), "unreleased": len(unreleased)}))
    return 0


def _worker(settings: OrdersSettings, schedule: RecoverySchedule, heartbeat: Path | None) -> int:
    """The loop under a supervisor: SIGTERM or SIGINT ends it after the current round (exit 0)."""
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    orders = bootstrap(settings)
    try:
        run_recovery(orders.saga, schedule, stop, on_round=None if heartbeat is None else _beat(heartbeat))
    finally:
        orders.dispose()
    return 0


def _beat(path: Path) -> Callable[[RoundResult], None]:
    """After each round, the file's modification time says the loop is alive (failed rounds included:
    they are logged; a loop that stopped turning is what a health check must catch)."""

    def touch(_result: RoundResult) -> None:
        path.touch()

    return touch


if __name__ == "__main__":
    sys.exit(main())
