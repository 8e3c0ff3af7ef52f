"""The control plane under tracing (the standard OTEL_* variables): a server span per admin request,
continuing the caller's W3C trace context; none for the health checks; its log lines are JSON, the
access line of a traced request with the trace id."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.integration.controlplane.conftest import start_control_plane
from tests.support.net import free_port
from tests.support.otlp import OtlpReceiver, ReceivedSpan

pytestmark = pytest.mark.integration

CALLER = "0af7651916cd43dd8448eb211c80319c"


def test_admin_requests_are_spans_in_the_callers_trace(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        plane = start_control_plane(
            tmp_path / "home",
            tmp_path,
            STRANGLER_LEGACY_URL=f"http://127.0.0.1:{free_port()}",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        try:
            request = urllib.request.Request(
                f"{plane.url}/login", headers={"traceparent": f"00-{CALLER}-b7ad6b7169203331-01"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200

            def login_span(spans: list[ReceivedSpan]) -> bool:
                # the server span itself: the ASGI instrumentation's inner send/receive spans end first and
                # can be exported in an earlier batch than it
                return any(
                    s.trace_id == CALLER and s.service == "strangler-controlplane" and s.kind == 2
                    for s in spans
                )

            spans = receiver.wait_for(login_span, timeout=20)
        finally:
            plane.process.stop()
    ours = [s for s in spans if s.trace_id == CALLER and s.kind == 2]
    assert len(ours) == 1 and ours[0].parent_id == "b7ad6b7169203331"
    assert ours[0].name.startswith("GET")
    assert not any("readyz" in s.name or "healthz" in s.name for s in spans)
    lines = [
        json.loads(line) for line in (tmp_path / f"controlplane-{plane.port}.log").read_text().splitlines()
    ]
    (access,) = [line for line in lines if line.get("trace_id") == CALLER]
    assert access["logger"] == "uvicorn.access" and "GET /login" in access["event"], lines
