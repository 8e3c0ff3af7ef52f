"""The catalog's sync pipeline, as ``python -m acl.sync`` finds it (``STRANGLER_SYNC_PIPELINES``): the
``consume`` worker, and ``catalog`` as a target of ``backfill`` and ``reconcile``."""

from __future__ import annotations

from acl.catalog.sync import commands
from acl.catalog.sync.settings import CATALOG_ALIASES, CATALOG_DEFAULTS, CATALOG_DIRECTIONS
from acl.sync.pipelines import Pipeline, Worker

__all__ = ["PIPELINE"]

PIPELINE = Pipeline(
    name="catalog",
    workers=(Worker("consume", "apply published legacy events to the catalog", commands.consume),),
    backfill=commands.backfill,
    reconcile=commands.reconcile,
    environ_aliases=CATALOG_ALIASES,
    environ_defaults=CATALOG_DEFAULTS,
    directions=CATALOG_DIRECTIONS,
)
