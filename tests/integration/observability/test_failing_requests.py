"""A route's failing requests reach the admin API with their trace ids: the real data plane (tracing on,
exporting to an OTLP/HTTP test receiver) answers 502 for a route whose new upstream is stopped and 500
when the legacy answers 500 itself; its worker keeps those requests and writes them to the store, and
the real control plane lists them, each with the trace id its client's traceparent carried (a trusted
peer's) or of the sampled trace the data plane started."""

from __future__ import annotations

import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Stack, admin_api, api_call
from tests.support.net import free_port
from tests.support.otlp import OtlpReceiver, ReceivedSpan, render_tree
from tests.support.processes import RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("tracing_stack")]

ROUTE, LEGACY_ROUTE = "orders-api", "errors"


@dataclass
class FailingStack:
    stack: Stack
    receiver: OtlpReceiver

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        """The status and the request id of a GET through the front door."""
        request = urllib.request.Request(self.stack.dataplane_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers["x-request-id"]
        except urllib.error.HTTPError as error:
            return error.code, error.headers["x-request-id"]

    def failing(self, route: str) -> list[dict[str, Any]]:
        url = f"{self.stack.admin_url}/api/v1/stats/{route}/failing-requests"
        with admin_api(self.stack).open(url, timeout=10) as response:
            document = json.loads(response.read())
        assert document["route"] == route
        return document["requests"]


def _eventually(probe: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def failing_stack(tmp_path: Path) -> Iterator[FailingStack]:
    home, logs = tmp_path / "home", tmp_path / "logs"
    legacy_port, admin_port, dataplane_port, internal_port = (free_port() for _ in range(4))
    stopped = free_port()  # nothing listens there: the new upstream is down
    legacy_url = f"http://127.0.0.1:{legacy_port}"
    common = {
        "STRANGLER_HOME": str(home),
        "STRANGLER_LEGACY_URL": legacy_url,
        "STRANGLER_ADMIN_PORT": str(admin_port),
        "STRANGLER_DATAPLANE_PORT": str(dataplane_port),
        "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
    }
    processes: dict[str, RunningProcess] = {}
    with OtlpReceiver() as receiver:
        try:
            processes["legacy"] = start_process(
                [
                    sys.executable,
                    "-m",
                    "tests.integration.dataplane.upstream_app",
                    "--port",
                    str(legacy_port),
                    "--name",
                    "legacy",
                ],
                log_path=logs / "legacy.log",
                ready_url=f"{legacy_url}/healthz",
            )
            admin_url = f"http://127.0.0.1:{admin_port}"
            processes["controlplane"] = start_process(
                [sys.executable, "-m", "strangler_proxy.controlplane"],
                env={**common, "STRANGLER_GUARDS_ENABLED": "false"},  # no rollback of the failing route
                log_path=logs / "controlplane.log",
                ready_url=f"{admin_url}/readyz",
            )
            processes["dataplane"] = start_process(
                [sys.executable, "-m", "strangler_proxy.dataplane"],
                env={
                    **common,
                    "STRANGLER_DATAPLANE_WORKERS": "1",
                    "STRANGLER_ACCESS_LOG": "false",
                    "STRANGLER_TRUSTED_PROXIES": "127.0.0.1",
                    "STRANGLER_FAILING_REQUESTS_INTERVAL_S": "0.2",
                    "STRANGLER_STATS_INTERVAL_S": "0.2",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                    "OTEL_TRACES_EXPORTER": "otlp_proto_http",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                },
                log_path=logs / "dataplane.log",
                ready_url=f"http://127.0.0.1:{internal_port}/_strangler/readyz",
            )
            stack = Stack(
                home=home,
                admin_url=admin_url,
                dataplane_url=f"http://127.0.0.1:{dataplane_port}",
                admin_password=(home / "secrets" / "admin_password").read_text().strip(),
                new_upstream="orders",
                processes=processes,
            )
            opener = admin_api(stack)
            api_call(
                opener, "PUT", f"{admin_url}/api/v1/upstreams/orders", {"url": f"http://127.0.0.1:{stopped}"}
            )
            # The legacy's route first: the test waits for the second one to be served, and so for a
            # version that holds both (each POST publishes a version of its own).
            for name, path, action in (
                (LEGACY_ROUTE, "/status", {"mode": "legacy"}),
                (ROUTE, "/api/orders", {"mode": "new", "upstream": "orders", "fallback": "none"}),
            ):
                rule = {"name": name, "match": {"kind": "prefix", "path": path}, "action": action}
                api_call(opener, "POST", f"{admin_url}/api/v1/routes", {"rule": rule, "reason": "test"})
            yield FailingStack(stack, receiver)
        finally:
            for process in reversed(processes.values()):
                process.stop()


def test_failing_requests_are_listed_with_their_trace_ids(failing_stack: FailingStack) -> None:
    stack = failing_stack
    # the data plane serves both routes once it has applied the last version (a stopped upstream: 502)
    _eventually(lambda: stack.get("/api/orders/1")[0] == 502, "the route to the stopped upstream")
    client_trace = secrets.token_hex(16)
    traceparent = f"00-{client_trace}-{secrets.token_hex(8)}-01"
    status, carried = stack.get("/api/orders/42?card=4111111111111111", {"traceparent": traceparent})
    assert status == 502
    status, started = stack.get("/api/orders/43")  # no traceparent: the data plane starts the trace
    assert status == 502
    assert stack.get("/status/500?secret=x")[0] == 500  # the legacy's own 500 (its answer, its headers)
    assert stack.get("/status/200")[0] == 200  # a success is no failing request

    def listed(route: str, *request_ids: str) -> dict[str, dict[str, Any]]:
        found = {entry["request_id"]: entry for entry in stack.failing(route)}
        return found if all(r in found for r in request_ids) else {}

    found = _eventually(lambda: listed(ROUTE, carried, started), "the failing requests in the API")
    entry = found[carried]
    assert entry["trace_id"] == client_trace, entry
    assert (entry["status"], entry["failure"], entry["method"]) == (502, "upstream_unreachable", "GET")
    assert (entry["path"], entry["target"], entry["upstream"]) == ("/api/orders/{int}", "new", "orders")
    assert "4111" not in json.dumps(found)  # never the query string

    def door(spans: list[ReceivedSpan]) -> bool:
        return any(s.attributes.get("strangler.request_id") == started for s in spans)

    spans = stack.receiver.wait_for(door, timeout=20)
    (span,) = [s for s in spans if s.attributes.get("strangler.request_id") == started]
    assert found[started]["trace_id"] == span.trace_id != client_trace, render_tree(spans)
    assert span.attributes["strangler.outcome"] == "error"

    (legacy,) = _eventually(lambda: stack.failing(LEGACY_ROUTE), "the legacy's 500 in the API")
    assert (legacy["status"], legacy["failure"], legacy["target"]) == (500, "upstream_status", "legacy")
    assert legacy["path"] == "/status/{int}" and len(legacy["trace_id"]) == 32, legacy
