"""The orders' sync pipeline, as ``python -m acl.sync`` finds it (``STRANGLER_SYNC_PIPELINES``): the
``consume-orders`` worker, and ``orders`` as a target of ``backfill`` and ``reconcile``."""

from __future__ import annotations

from acl.catalog.sync.environ import LEGACYSHOP_ALIASES
from acl.orders.sync import commands
from acl.sync.pipelines import Pipeline, Worker

__all__ = ["PIPELINE"]

PIPELINE = Pipeline(
    name="orders",
    workers=(
        Worker(
            "consume-orders",
            "apply published legacy order events to the orders service",
            commands.consume_orders,
        ),
    ),
    backfill=commands.backfill_orders,
    reconcile=commands.reconcile_orders,
    environ_aliases=LEGACYSHOP_ALIASES,
)
