"""The catalog's sync pipeline, as ``python -m acl.sync`` finds it (``STRANGLER_SYNC_PIPELINES``): the
``consume`` worker, and ``catalog`` as a target of ``backfill`` and ``reconcile``."""

from __future__ import annotations

from acl.catalog.sync import commands
from acl.catalog.sync.environ import LEGACYSHOP_ALIASES
from acl.sync.pipelines import Pipeline, Worker

__all__ = ["PIPELINE"]

PIPELINE = Pipeline(
    name="catalog",
    workers=(Worker("consume", "apply published legacy events to the catalog", commands.consume),),
    backfill=commands.backfill,
    reconcile=commands.reconcile,
    environ_aliases=LEGACYSHOP_ALIASES,
)
