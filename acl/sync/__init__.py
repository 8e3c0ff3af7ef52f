"""Data sync between a monolith and the services, in both directions: the generic engine.

Forward: the monolith's transactional outbox (``outbox_event``) -> ``OutboxRelay`` -> a transport
(``SqlStreamTransport`` or ``RedisStreamTransport``) -> a consumer (``InboxConsumer``'s batch loop, with its
own ``Inbox`` that applies every event once and in order per aggregate) -> a service.
Reverse: the service's ``service_outbox`` -> ``OutboxRelay`` -> the monolith's ``/internal/sync/apply``;
events the monolith refuses for good go to the service's dead letters.
Plus resumable backfills, reconcile and lag figures. Entry points: ``python -m acl.sync``.

What knows one monolith's aggregates is a pipeline (``acl.sync.pipelines``), registered by name in the
project's configuration (``STRANGLER_SYNC_PIPELINES`` or strangler.toml); the engine assumes none.
"""

from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.events import LEGACY_ORIGIN, SyncEvent
from acl.sync.core.inbox import Inbox
from acl.sync.core.reconcile import ReconcileReport
from acl.sync.service.outbox import create_service_outbox, record_service_event
from acl.sync.workers.internal_client import MonolithInternalClient, ResolvedSession
from acl.sync.workers.relay import OutboxRelay, RelayLock, RelayLocked

__all__ = [
    "LEGACY_ORIGIN",
    "CheckpointStore",
    "Inbox",
    "MonolithInternalClient",
    "OutboxRelay",
    "ReconcileReport",
    "RelayLock",
    "RelayLocked",
    "ResolvedSession",
    "SyncEvent",
    "create_service_outbox",
    "record_service_event",
]
