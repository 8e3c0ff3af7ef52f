"""The transport protocol: publish events in order; hand them to a named consumer; take its acks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from acl.sync.core.events import SyncEvent

__all__ = ["Backlog", "Delivery", "Transport"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event as delivered to a consumer; ``token`` is what ``ack`` needs."""

    event: SyncEvent
    token: str


@dataclass(frozen=True, slots=True)
class Backlog:
    """Events published but not yet acknowledged by a consumer; ``oldest`` is the first one's time (UTC)."""

    count: int
    oldest: datetime | None


class Transport(Protocol):
    def publish(self, events: Sequence[SyncEvent]) -> None:
        """Append ``events`` in order; publishing an event id twice keeps one copy where possible."""

    def receive(self, consumer: str, *, limit: int, wait: float) -> list[Delivery]:
        """The next events for ``consumer`` (unacknowledged ones first), waiting up to ``wait`` seconds."""

    def ack(self, consumer: str, deliveries: Sequence[Delivery]) -> None:
        """Mark ``deliveries`` done for ``consumer``."""

    def rewind(self, consumer: str) -> None:
        """After a failed batch: deliver what ``consumer`` received but did not acknowledge again."""

    def backlog(self, consumer: str) -> Backlog:
        """What ``consumer`` has not acknowledged yet."""

    def prune(self, *, keep: timedelta) -> int:
        """Drop events every consumer has acknowledged and older than ``keep``; return how many."""

    def close(self) -> None: ...
