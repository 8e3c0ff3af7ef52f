"""Redis Streams: XADD by the relay, one consumer group per consumer name, XACK after applying.

A restarted consumer first takes back what it had been given but not acknowledged (its pending
entries), then new entries. Each message carries the event as JSON in the ``event`` field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta
from typing import Any

import redis

from acl.sync.core.events import SyncEvent
from acl.sync.transports.base import Backlog, Delivery

__all__ = ["RedisStreamTransport"]


class RedisStreamTransport:
    def __init__(
        self,
        client: redis.Redis,
        stream: str = "strangler:sync:legacy",
        *,
        worker: str = "w1",
        maxlen: int = 1_000_000,
    ) -> None:
        # redis-py's annotations do not describe what the stream commands answer (a list of
        # [stream, [(id, fields), ...]] pairs for XREADGROUP): the answers are read as documented.
        self._redis: Any = client
        self._maxlen = maxlen
        self.stream = stream
        self._worker = worker
        self._groups: set[str] = set()
        self._pending_drained: set[str] = set()

    @classmethod
    def from_url(cls, url: str, stream: str = "strangler:sync:legacy") -> RedisStreamTransport:
        return cls(redis.Redis.from_url(url), stream)

    def publish(self, events: Sequence[SyncEvent]) -> None:
        if not events:
            return
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            # Approximate trimming keeps the stream bounded; a consumer a million events behind is
            # beyond catching up anyway (backfill and reconcile repair that case).
            pipe.xadd(self.stream, {"event": event.to_message()}, maxlen=self._maxlen, approximate=True)
        pipe.execute()

    def _ensure_group(self, consumer: str) -> None:
        if consumer in self._groups:
            return
        try:
            self._redis.xgroup_create(self.stream, consumer, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(consumer)

    def receive(self, consumer: str, *, limit: int, wait: float) -> list[Delivery]:
        self._ensure_group(consumer)
        if consumer not in self._pending_drained:
            answer = self._redis.xreadgroup(consumer, self._worker, {self.stream: "0"}, count=limit)
            entries = answer[0][1] if answer else []
            if entries:
                return [self._delivery(entry_id, fields) for entry_id, fields in entries]
            self._pending_drained.add(consumer)
        block = max(1, int(wait * 1000))
        answer = self._redis.xreadgroup(consumer, self._worker, {self.stream: ">"}, count=limit, block=block)
        entries = answer[0][1] if answer else []
        return [self._delivery(entry_id, fields) for entry_id, fields in entries]

    @staticmethod
    def _delivery(entry_id: bytes, fields: dict[bytes, bytes]) -> Delivery:
        return Delivery(SyncEvent.from_message(fields[b"event"]), entry_id.decode())

    def ack(self, consumer: str, deliveries: Sequence[Delivery]) -> None:
        if deliveries:
            self._redis.xack(self.stream, consumer, *[delivery.token for delivery in deliveries])

    def rewind(self, consumer: str) -> None:
        """The next ``receive`` reads this consumer's pending entries again, as after a restart."""
        self._pending_drained.discard(consumer)

    def backlog(self, consumer: str) -> Backlog:
        """Pending (delivered, unacknowledged) entries plus those after the group's last delivered id."""
        self._ensure_group(consumer)
        group = next(
            (g for g in self._redis.xinfo_groups(self.stream) if g["name"].decode() == consumer), None
        )
        if group is None:
            return Backlog(0, None)
        pending = self._redis.xpending(self.stream, consumer)
        first_ids = []
        if pending["pending"]:
            first_ids.append(pending["min"].decode() if isinstance(pending["min"], bytes) else pending["min"])
        last = group["last-delivered-id"].decode()
        undelivered = self._redis.xrange(self.stream, min=f"({last}", count=1)
        lag = group.get("lag")
        if undelivered:
            first_ids.append(undelivered[0][0].decode())
        count = int(pending["pending"]) + (
            int(lag) if lag is not None else len(self._redis.xrange(self.stream, min=f"({last}"))
        )
        if not first_ids:
            return Backlog(count, None)
        oldest_id = min(first_ids, key=lambda text: tuple(int(part) for part in text.split("-")))
        entry = self._redis.xrange(self.stream, min=oldest_id, max=oldest_id)
        if not entry:
            return Backlog(count, None)
        event = SyncEvent.from_message(entry[0][1][b"event"])
        return Backlog(count, event.occurred_at.astimezone(UTC))

    def prune(self, *, keep: timedelta) -> int:
        """Nothing to do: XADD trims the stream (MAXLEN)."""
        return 0

    def close(self) -> None:
        self._redis.close()
