"""The level an operator's resolution of a stock conflict writes to both sides (``acl.catalog.sync.resolve``).

A parked stock change (a level set on one side while the other moved the stock, or a move below zero)
is resolved by a level both sides take: keeping ``ours`` keeps the stock of the side holding the
conflict, keeping ``theirs`` the other side's stock as it is now (the level it set plus every move it
applied since). The resolver writes that level to both sides as a forced change with a stock version
above both counts, so they hold the same stock and version again, each as a compare-and-set: a side
whose stock version moved since it was read (a move acknowledged meanwhile) answers ``changed``, takes
nothing, and the resolution fails (the conflict stays open) instead of absorbing that move.

A level absorbs the moves it was read with: a move still in flight to the other side would then count
twice there. So a level is computed only when no stock change is pending in either direction (every
change of each side in the other's inbox, as reconcile's history checks it); otherwise the resolution
is refused and the conflict stays open until the relays have drained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from acl.catalog.source import legacy_stock
from acl.catalog.sync.history import check_history
from acl.catalog.sync.port import CatalogPort
from acl.catalog.translators import STOCK_LEVEL_FIELD

__all__ = ["STOCK_FIELDS", "StockResolution", "stock_resolution"]

STOCK_FIELDS = frozenset({"stock", STOCK_LEVEL_FIELD})
"""``sync_conflict.field`` of a parked stock change (a service's queue, the monolith's)."""


@dataclass(frozen=True, slots=True)
class StockResolution:
    product_id: int
    level: int
    version: int
    service_version: int
    """The stock versions read on each side: the forced writes expect them still."""
    legacy_version: int


def stock_resolution(
    conflict: Mapping[str, Any],
    keep: str,
    *,
    on_service: bool,
    port: CatalogPort,
    legacy: Engine,
    service: Engine,
    origin: str,
) -> StockResolution:
    """The level and version that resolve ``conflict`` (parked on the service when ``on_service``).
    ValueError when a stock change is still pending either way, or a side lacks the product."""
    history = check_history(legacy, service, origin=origin)
    pending = len(history.not_applied_on_service) + len(history.not_applied_on_legacy)
    if pending:
        raise ValueError(
            f"{pending} stock changes are not applied on the other side yet: resolve once sync has drained"
        )
    product_id = int(conflict["aggregate_id"])
    held, there = port.stock_state(product_id), legacy_stock(legacy, product_id)
    if held is None or there is None:
        raise ValueError(f"product {product_id} is missing on a side")
    keep_service = on_service == (keep == "ours")
    level = held[0] if keep_service else there[0]
    version = 1 + max(held[1], there[1], int(conflict["found_version"]))
    return StockResolution(product_id, level, version, held[1], there[1])
