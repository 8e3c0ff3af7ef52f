"""Data sync between the monolith and the services, in both directions.

Forward: the monolith's transactional outbox (``outbox_event``) -> ``OutboxRelay`` -> a transport
(``SqlStreamTransport`` or ``RedisStreamTransport``) -> ``CatalogConsumer`` / ``OrdersConsumer`` -> the
ACL translators -> the service's ``CatalogPort`` / ``OrdersPort``, each with its own ``Inbox`` that applies
every event once and in order per aggregate.
Reverse: the service's ``service_outbox`` -> ``OutboxRelay`` -> the monolith's ``/internal/sync/apply``;
events the monolith refuses for good go to the service's dead letters.
Plus a resumable backfill, reconcile and lag figures. Entry points: ``python -m acl.sync``.
"""

from acl.sync.backfill import BackfillRun, CheckpointStore, run_catalog_backfill
from acl.sync.catalog_consumer import CatalogConsumer
from acl.sync.events import LEGACY_ORIGIN, SyncEvent
from acl.sync.inbox import Inbox
from acl.sync.internal_client import MonolithInternalClient, ResolvedSession
from acl.sync.orders_consumer import OrdersConsumer
from acl.sync.ports import CatalogPort, OrdersPort
from acl.sync.reconcile import ReconcileReport, reconcile_catalog, reconcile_records
from acl.sync.relay import OutboxRelay, RelayLock, RelayLocked
from acl.sync.reverse import create_service_outbox, record_product_change, record_service_event

__all__ = [
    "LEGACY_ORIGIN",
    "BackfillRun",
    "CatalogConsumer",
    "CatalogPort",
    "CheckpointStore",
    "Inbox",
    "MonolithInternalClient",
    "OrdersConsumer",
    "OrdersPort",
    "OutboxRelay",
    "ReconcileReport",
    "RelayLock",
    "RelayLocked",
    "ResolvedSession",
    "SyncEvent",
    "create_service_outbox",
    "reconcile_catalog",
    "reconcile_records",
    "record_product_change",
    "record_service_event",
    "run_catalog_backfill",
]
