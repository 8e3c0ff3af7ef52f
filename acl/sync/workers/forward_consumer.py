"""The generic forward consumer: the monolith's outbox events -> a service's ``/internal/sync/apply``.

For a project's own service (strangler.toml's ``[sync] forward``), where a pipeline may have a consumer
written for its service instead (``acl.sync.workers.consumer``). The batch loop is
``InboxConsumer``'s (the sync database's inbox drops duplicates and holds gaps, per aggregate in sequence
order); applying posts the batch to the service, whose own appliers and inbox (the service kit's
``forward_inbox``) apply each event once. Events the service itself made (its origin,
come back from the monolith's appliers) are ``echo`` and never sent. An event the service refuses for
good is ``rejected``; unavailability raises, and the batch comes again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import Inbox, Outcome
from acl.sync.core.outcomes import EventOutcome
from acl.sync.transports.base import Transport
from acl.sync.workers.consumer import InboxConsumer

__all__ = ["ApplyClient", "ServiceForwardConsumer"]

log = logging.getLogger(__name__)

OUTCOMES = frozenset({"applied", "duplicate", "stale", "ignored"})


class ApplyClient(Protocol):
    """Posts events to an ``/internal/sync/apply``
    (``acl.sync.workers.internal_client.MonolithInternalClient``)."""

    def apply_events(self, events: Sequence[SyncEvent], *, batch: int = 100) -> list[EventOutcome]: ...


class ServiceForwardConsumer(InboxConsumer):
    def __init__(
        self,
        transport: Transport,
        inbox: Inbox,
        client: ApplyClient,
        *,
        origin: str,
        batch_size: int = 200,
        wait: float = 0.2,
        hold_timeout: float = 1.0,
    ) -> None:
        super().__init__(
            transport, inbox, origin=origin, batch_size=batch_size, wait=wait, hold_timeout=hold_timeout
        )
        self._client = client

    def _apply(self, events: Sequence[SyncEvent]) -> list[tuple[SyncEvent, Outcome]]:
        outgoing = [event for event in events if event.origin != self.origin]
        answered = (
            {outcome.event_id: outcome for outcome in self._client.apply_events(outgoing)} if outgoing else {}
        )
        outcomes: list[tuple[SyncEvent, Outcome]] = []
        for event in events:
            if event.origin == self.origin:
                outcomes.append((event, "echo"))
                continue
            answer = answered.get(event.event_id)
            if answer is None:
                raise RuntimeError(f"the service gave no result for event {event.event_id}")
            if answer.refused:
                log.error("the service refused event %s (%s): %s", event.event_id, event.type, answer.reason)
                self.stats.rejected += 1
                outcomes.append((event, "rejected"))
            elif answer.outcome in OUTCOMES:
                if answer.outcome == "applied":
                    self.stats.applied += 1
                outcomes.append((event, answer.outcome))
            else:
                raise RuntimeError(f"the service answered {answer.outcome!r} for event {event.event_id}")
        return outcomes
