"""The batch loop of the forward stream's consumers: legacy events -> ACL translators -> a service's port,
exactly once.

``InboxConsumer`` runs one batch: receive from the transport, classify through the inbox (duplicates and
stale events dropped, gaps held), let the subclass apply the events (``_apply``), record the outcomes in
the inbox, acknowledge. Events whose origin is the consumer's own tag are changes the service itself
made and sent back through reverse sync: they are recorded as ``echo`` and never applied again.

Its subclasses, one per service, are the pipelines' own consumers (each in its pipeline's package).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from acl.sync.core.events import SyncEvent
from acl.sync.core.inbox import HeldEvents, Inbox, Outcome
from acl.sync.transports.base import Delivery, Transport
from acl.sync.workers.traced import apply_in_trace

__all__ = ["ConsumerStats", "InboxConsumer"]

log = logging.getLogger(__name__)


@dataclass
class ConsumerStats:
    applied: int = 0
    skipped: int = 0
    rejected: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class InboxConsumer:
    """The batch loop shared by every consumer; a subclass implements ``_apply``."""

    def __init__(
        self,
        transport: Transport,
        inbox: Inbox,
        *,
        origin: str,
        batch_size: int = 200,
        wait: float = 0.2,
        hold_timeout: float = 1.0,
    ) -> None:
        self._transport = transport
        self._inbox = inbox
        self.origin = origin
        self.batch_size = batch_size
        self.wait = wait
        self._held = HeldEvents(hold_timeout)
        self._held_deliveries: dict[str, Delivery] = {}
        self.stats = ConsumerStats()

    @property
    def name(self) -> str:
        return self._inbox.consumer

    def run_once(self) -> int:
        """Handle one batch (plus any held events now due); return how many deliveries were settled.

        When applying fails, the transport is rewound (unacknowledged deliveries come again) and the
        error propagates to the caller's retry loop.
        """
        try:
            return self._run_batch()
        except Exception:
            self._transport.rewind(self.name)  # held events stay held: they are settled later
            raise

    def _run_batch(self) -> int:
        deliveries = self._transport.receive(self.name, limit=self.batch_size, wait=self.wait)
        held = [self._held_deliveries[event.event_id] for event in self._held.take_all()]
        pending = held + [d for d in deliveries if d.event.event_id not in self._held_deliveries]
        # Per aggregate in sequence order, so that a held event follows the one that fills its gap.
        pending.sort(key=lambda delivery: (delivery.event.aggregate_key, delivery.event.sequence))
        if not pending:
            return 0
        decisions = self._inbox.classify([delivery.event for delivery in pending])
        by_id = {delivery.event.event_id: delivery for delivery in pending}
        settled: list[Delivery] = []
        outcomes: list[tuple[SyncEvent, Outcome]] = []
        to_apply: list[SyncEvent] = []
        for decision in decisions:
            event, delivery = decision.event, by_id[decision.event.event_id]
            action = decision.action
            if action == "hold" and self._held.expired(event):
                log.warning(
                    "gap before %s %s#%d not filled in time; applying", *event.aggregate_key, event.sequence
                )
                action = "apply"
            if action == "hold":
                self._held.add(event)
                self._held_deliveries[event.event_id] = delivery
                continue
            self._held.discard(event)
            self._held_deliveries.pop(event.event_id, None)
            settled.append(delivery)
            if action == "apply":
                to_apply.append(event)
            else:
                outcomes.append((event, action))
        outcomes.extend(apply_in_trace(self._apply, to_apply))
        self._inbox.record(outcomes)
        self._transport.ack(self.name, settled)
        for _, outcome in outcomes:
            self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
        return len(settled)

    def _apply(self, events: Sequence[SyncEvent]) -> list[tuple[SyncEvent, Outcome]]:
        """Apply ``events`` (in sequence order per aggregate); one outcome per event. Raise to retry the
        batch (nothing is recorded or acknowledged then); a malformed event is an outcome, not a raise."""
        raise NotImplementedError

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("consumer batch failed; retrying")
                stop.wait(1.0)
