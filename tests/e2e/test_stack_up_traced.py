"""`strangler up` with tracing turned on by the standard OTEL_* variables only: a request through the
front door reaches the monolith (started under ``opentelemetry-instrument`` by the supervisor) in one
trace, exported over OTLP/HTTP to a test receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_plan.toolbox.drills.stack import free_port_range
from migration_plan.toolbox.supervisor.sync_specs import HEALTH_PORTS
from tests.e2e.test_stack_up import STACK_VARIABLES
from tests.integration.supervisor.harness import StranglerUp, get
from tests.support.net import free_port
from tests.support.otlp import OtlpReceiver, ReceivedSpan, render_tree

pytestmark = pytest.mark.integration

SERVER = 2


@pytest.fixture
def traced_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[StranglerUp, dict[str, int], OtlpReceiver]]:
    for name in STACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    ports = {
        name: free_port()
        for name in (
            "LEGACYSHOP_PORT",
            "STRANGLER_ADMIN_PORT",
            "STRANGLER_DATAPLANE_PORT",
            "STRANGLER_DATAPLANE_INTERNAL_PORT",
            "CATALOG_PORT",
            "ORDERS_PORT",
        )
    }
    with OtlpReceiver() as receiver:
        env = {
            **{name: str(port) for name, port in ports.items()},
            "STRANGLER_SYNC_HEALTH_PORT": str(free_port_range(HEALTH_PORTS)),
            "STRANGLER_DATAPLANE_WORKERS": "1",
            "LEGACYSHOP_SEED_PRODUCTS": "20",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        run = StranglerUp.start(tmp_path / "home", env=env)
        try:
            yield run, ports, receiver
        finally:
            run.kill()


def test_a_request_through_the_front_door_is_one_trace_under_strangler_up(
    traced_stack: tuple[StranglerUp, dict[str, int], OtlpReceiver],
) -> None:
    run, ports, receiver = traced_stack
    run.wait_ready(timeout=240)
    status, _ = get(f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}/api/products/3", timeout=10)
    assert status == 200

    def served(spans: list[ReceivedSpan]) -> bool:
        doors = [s for s in spans if s.service == "strangler-dataplane" and s.kind == SERVER]
        return any(
            s.service == "legacy-monolith" and s.parent_id == door.span_id for door in doors for s in spans
        )

    spans = receiver.wait_for(served, timeout=60)
    (door,) = [
        s
        for s in spans
        if s.service == "strangler-dataplane" and s.attributes.get("url.path") == "/api/products/3"
    ]
    trace = receiver.trace(door.trace_id)
    tree = render_tree(trace)
    assert (
        door.attributes["strangler.decision"] == "legacy" and door.attributes["strangler.outcome"] == "ok"
    ), tree
    monolith = [s for s in trace if s.service == "legacy-monolith" and s.kind == SERVER]
    assert [s.parent_id for s in monolith] == [door.span_id], tree
