"""`strangler inventory`: every URL of the monolith, the plan stage claiming it, its share of traffic.

patterns = run_urls_json(manage=["python", "manage.py"])  # or read_urlconf_file(path)
inventory = build_inventory(patterns, plan, stats["routes"])
inventory.unclaimed
"""

from migration_plan.inventory.patterns import match_accepts, sample_path
from migration_plan.inventory.report import Claim, Inventory, InventoryRow, build_inventory
from migration_plan.inventory.source import (
    InventoryError,
    UrlPattern,
    parse_urlconf,
    read_urlconf_file,
    run_urls_json,
)

__all__ = [
    "Claim",
    "Inventory",
    "InventoryError",
    "InventoryRow",
    "UrlPattern",
    "build_inventory",
    "match_accepts",
    "parse_urlconf",
    "read_urlconf_file",
    "run_urls_json",
    "sample_path",
]
