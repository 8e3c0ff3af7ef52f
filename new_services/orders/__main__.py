"""Operations on the orders database.

``python -m new_services.orders migrate``
    bring the orders database to the newest schema.
``python -m new_services.orders recover [--older-than SECONDS]``
    compensate checkout sagas left unfinished (a crashed worker, a stock release that failed):
    abandon their pending order, release their stock; run it from cron or a supervisor.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from new_services.kit.migrations import migrate_command, service_commands
from new_services.orders.adapters.migrate import MIGRATIONS
from new_services.orders.bootstrap import bootstrap
from new_services.orders.settings import OrdersSettings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser, commands = service_commands("orders")
    recover = commands.add_parser("recover", help="compensate checkouts left unfinished")
    recover.add_argument("--older-than", type=float, default=300.0, help="seconds since the checkout began")
    args = parser.parse_args(argv)
    settings = OrdersSettings()
    if args.command == "migrate":
        return migrate_command(settings, MIGRATIONS)
    orders = bootstrap(settings)
    try:
        recovered = orders.saga().recover(older_than=timedelta(seconds=args.older_than))
    finally:
        orders.dispose()
    print(f"compensated {len(recovered)} unfinished checkout(s)")
    for checkout_id in recovered:
        print(f"  {checkout_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
