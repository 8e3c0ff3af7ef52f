"""Operations on the orders database.

``python -m new_services.orders migrate``
    bring the orders database to the newest schema.
"""

from __future__ import annotations

import argparse
import sys

from new_services.orders.adapters.engine import make_engine
from new_services.orders.adapters.migrate import upgrade_to_head
from new_services.orders.config import OrdersSettings

__all__ = ["main", "migrate_database"]


def migrate_database(settings: OrdersSettings) -> str:
    engine = make_engine(settings.database_url)
    try:
        return upgrade_to_head(engine)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m new_services.orders")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the orders database to the newest revision")
    parser.parse_args(argv)
    print(f"orders database at revision {migrate_database(OrdersSettings())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
