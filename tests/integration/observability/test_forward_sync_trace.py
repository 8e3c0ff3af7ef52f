"""Forward sync in the trace of the monolith request that caused it: a traced stock change in the real
monolith (gunicorn, traced by the toolkit's Django app from the OTEL_* variables) writes an outbox event
that keeps the request's trace context; the real relay sends it inside a span of that trace, and the
real catalog consumer's apply continues it, all exported to an OTLP/HTTP test receiver."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.sync.harness import SyncStack, eventually, running_sync_stack
from tests.support.otlp import OtlpReceiver, ReceivedSpan, render_tree

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("tracing_stack")]

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _otel(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_TRACES_EXPORTER": "otlp_proto_http",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[SyncStack, OtlpReceiver]]:
    with (
        OtlpReceiver() as receiver,
        running_sync_stack(tmp_path, monolith_env=_otel(receiver, "legacyshop")) as stack,
    ):
        stack.start("relay", env=_otel(receiver, "strangler-sync-relay"))
        stack.start("consume", env=_otel(receiver, "strangler-sync-consume"))
        yield stack, receiver


def test_a_traced_monolith_change_is_relayed_and_applied_in_its_trace(
    traced: tuple[SyncStack, OtlpReceiver],
) -> None:
    stack, receiver = traced
    # a change in a request its caller did not sample: its event carries no context, makes no span
    unsampled = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    stack.stock_write(5, {"quantity": 40}, headers={"traceparent": unsampled})
    eventually(lambda: stack.catalog_stock(5) == 40, what="stock 40 in the catalog")
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    stack.stock_write(5, {"quantity": 41}, headers={"traceparent": f"00-{trace_id}-{caller}-01"})
    eventually(lambda: stack.catalog_stock(5) == 41, what="stock 41 in the catalog")

    def applied(spans: list[ReceivedSpan]) -> bool:
        """Every process's span has arrived (each exports on its own schedule)."""
        names = {
            (s.service, s.name if s.service != "legacyshop" else s.kind)
            for s in spans
            if s.trace_id == trace_id
        }
        return {
            ("legacyshop", SERVER),
            ("strangler-sync-relay", "sync relay"),
            ("strangler-sync-consume", "sync apply"),
        } <= names

    spans = receiver.wait_for(applied, timeout=30)
    trace = [s for s in spans if s.trace_id == trace_id]
    tree = render_tree(trace)
    (request,) = [s for s in trace if s.service == "legacyshop" and s.kind == SERVER]
    assert request.parent_id == caller and "stock" in request.name, tree
    monolith = {s.span_id for s in trace if s.service == "legacyshop"}
    (relayed,) = [s for s in trace if s.name == "sync relay"]
    assert relayed.service == "strangler-sync-relay" and relayed.kind == PRODUCER, tree
    assert relayed.parent_id in monolith, tree  # the span that wrote the outbox row
    (consumed,) = [s for s in trace if s.name == "sync apply"]
    assert consumed.service == "strangler-sync-consume" and consumed.kind == CONSUMER, tree
    assert consumed.parent_id == relayed.span_id, tree
    assert consumed.attributes["strangler.sync.event_types"] == ("product.stock_changed",), tree
    # the JSON log lines of the monolith (gunicorn's access line), the relay and the consumer name it
    for log in ("gunicorn.log", "relay.log", "consume.log"):
        eventually(
            lambda log=log: any(
                line.get("trace_id") == trace_id for line in _json_lines(stack.workdir / log)
            ),
            what=f"a line of {log} with the trace id",
        )
    (access,) = [
        line
        for line in _json_lines(stack.workdir / "gunicorn.log")
        if line["logger"] == "gunicorn.access" and line.get("trace_id") == trace_id
    ]
    assert "/api/products/5/stock" in access["event"], access
    # the unsampled change before it made no sync span at all
    sync_spans = [s for s in receiver.snapshot() if s.name in ("sync relay", "sync apply")]
    assert {s.trace_id for s in sync_spans} == {trace_id}, render_tree(sync_spans)
    print(tree)
