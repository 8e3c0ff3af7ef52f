"""Sync events carry the trace context of the transaction that wrote them, beside their body."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from acl.sync.core.events import SyncEvent, trace_runs
from acl.sync.workers.relay import row_to_event
from acl.tracing import TRACE_KEY

pytestmark = pytest.mark.unit

PARENT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def _row(payload: dict) -> SimpleNamespace:
    return SimpleNamespace(
        event_id="0175bf26-1f9e-46e7-8cf2-1d2bc5a8699a",
        aggregate_type="order",
        aggregate_id="7",
        sequence=1,
        event_type="order.placed",
        payload=payload,
        occurred_at=datetime(2026, 1, 1),
        origin="orders",
    )


def _event(n: int, trace: dict[str, str]) -> SyncEvent:
    return SyncEvent(f"e{n}", "order", "7", n, "order.placed", {}, datetime.now(UTC), "orders", trace)


def test_the_trace_context_is_taken_out_of_the_payload_and_never_sent_in_the_body() -> None:
    event = row_to_event(_row({"ord_no": "A1", TRACE_KEY: PARENT}))
    assert event.trace == PARENT
    assert event.payload == {"ord_no": "A1"}
    assert "trace" not in event.to_dict() and TRACE_KEY not in event.to_json()
    assert row_to_event(_row({"ord_no": "A1"})).trace == {}


def test_events_are_sent_in_order_one_request_per_run_of_the_same_trace() -> None:
    other = {"traceparent": "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    events = [_event(1, PARENT), _event(2, PARENT), _event(3, other), _event(4, {}), _event(5, {})]
    groups = trace_runs(events)
    assert [[e.sequence for e in group] for group in groups] == [[1, 2], [3], [4, 5]]
    untraced = [_event(n, {}) for n in range(1, 6)]
    assert [list(group) for group in trace_runs(untraced)] == [untraced]  # tracing off: batches unchanged
    assert trace_runs([]) == []


def test_a_transport_message_carries_the_trace_context_beside_the_body() -> None:
    traced = _event(1, PARENT)
    message = traced.to_message()
    assert SyncEvent.from_message(message).trace == PARENT
    assert SyncEvent.from_json(traced.to_json()).trace == {}  # the body alone never has it
    untraced = _event(2, {})
    assert "trace" not in untraced.to_message() and SyncEvent.from_message(untraced.to_message()).trace == {}
    assert SyncEvent.from_message(untraced.to_json()) == untraced  # a message of an older relay
