"""SyncEvent: one change travelling between the monolith and a service, in either direction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

__all__ = ["LEGACY_ORIGIN", "SyncEvent", "trace_runs"]

LEGACY_ORIGIN = "legacy"


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """``payload`` in the legacy vocabulary; ``occurred_at`` aware UTC; ``origin``: who made the change."""

    event_id: str
    aggregate_type: str
    aggregate_id: str
    sequence: int
    type: str
    payload: dict[str, Any] = field(hash=False)
    occurred_at: datetime
    origin: str = LEGACY_ORIGIN
    trace: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """The W3C trace context (``traceparent``, ``tracestate``) of the transaction that wrote the event,
    empty when it was not traced; it travels beside the event (HTTP headers to the monolith, the
    transport's message envelope to a consumer: :meth:`to_message`), never in its body."""

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError(f"occurred_at must be aware, got {self.occurred_at!r}")
        if self.sequence < 1:
            raise ValueError(f"sequence starts at 1, got {self.sequence}")

    @property
    def aggregate_key(self) -> tuple[str, str]:
        return (self.aggregate_type, self.aggregate_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "sequence": self.sequence,
            "type": self.type,
            "payload": self.payload,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "origin": self.origin,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    def to_message(self) -> str:
        """The event as a transport message: its body plus, when traced, its trace context."""
        message = self.to_dict()
        if self.trace:
            message["trace"] = self.trace
        return json.dumps(message, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_message(cls, text: str | bytes) -> SyncEvent:
        """An event read from a transport (:meth:`to_message`; a message without a trace context, as
        older relays wrote them, is an untraced event)."""
        data = json.loads(text)
        event = cls.from_dict(data)
        trace = data.get("trace") if isinstance(data, dict) else None
        if isinstance(trace, dict) and all(isinstance(v, str) for v in trace.values()):
            return replace(event, trace={str(k): v for k, v in trace.items()})
        return event

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncEvent:
        try:
            return cls(
                event_id=str(data["event_id"]),
                aggregate_type=str(data["aggregate_type"]),
                aggregate_id=str(data["aggregate_id"]),
                sequence=int(data["sequence"]),
                type=str(data["type"]),
                payload=dict(data["payload"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
                origin=str(data.get("origin") or LEGACY_ORIGIN),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a sync event: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> SyncEvent:
        return cls.from_dict(json.loads(text))


def trace_runs(events: Sequence[SyncEvent]) -> list[Sequence[SyncEvent]]:
    """Consecutive runs of events written in the same trace (all of them when none is traced), in
    order: each run can be handled in its own span, continuing its own trace."""
    runs: list[Sequence[SyncEvent]] = []
    start = 0
    for index in range(1, len(events) + 1):
        if index == len(events) or events[index].trace != events[start].trace:
            runs.append(events[start:index])
            start = index
    return runs
