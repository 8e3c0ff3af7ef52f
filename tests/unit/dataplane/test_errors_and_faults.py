"""The proxy's own error answers, and fault injection."""

from __future__ import annotations

import asyncio
import json

import pytest

from strangler_proxy.dataplane.errors import (
    CircuitOpen,
    InjectedFault,
    RequestTooLarge,
    UpstreamConnectError,
    UpstreamTimeout,
    render_error,
)
from strangler_proxy.dataplane.faults import apply_fault, fault_applies
from strangler_proxy.routes import FaultInjection

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (UpstreamConnectError("refused", upstream="catalog"), 502, "upstream_unreachable"),
        (UpstreamTimeout("slow", upstream="catalog"), 504, "upstream_timeout"),
        (CircuitOpen("open", upstream="catalog"), 503, "circuit_open"),
        (RequestTooLarge("big"), 413, "request_too_large"),
        (InjectedFault(418, upstream="catalog"), 418, "injected_fault"),
    ],
)
def test_json_error_bodies_say_what_failed(error, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    content_type, body = render_error(error, request_id="rid-123456", accept=b"application/json")
    document = json.loads(body)
    assert content_type == b"application/json"
    assert (document["status"], document["error"], document["request_id"]) == (status, code, "rid-123456")
    assert document["detail"] == error.detail
    assert error.status == status


def test_html_for_browsers_escapes_everything() -> None:
    error = UpstreamConnectError("<script>", upstream="cat<alog>")
    content_type, body = render_error(
        error, request_id="<id>", accept=b"text/html,application/xhtml+xml,*/*;q=0.8"
    )
    assert content_type.startswith(b"text/html")
    assert b"<script>" not in body and b"&lt;script&gt;" in body and b"&lt;id&gt;" in body
    assert b"502 Bad Gateway" in body


def test_json_wins_when_both_are_accepted() -> None:
    assert render_error(CircuitOpen("x"), request_id="r", accept=b"text/html, application/json")[0] == (
        b"application/json"
    )


def test_fault_targets() -> None:
    fault = FaultInjection(target="new", abort_status=503)
    assert fault_applies(fault, "new") and not fault_applies(fault, "legacy")
    assert fault_applies(FaultInjection(target="both"), "legacy")
    assert not fault_applies(None, "new")


def test_fault_aborts_only_its_share() -> None:
    fault = FaultInjection(percent=30, abort_status=500)
    outcomes = []
    for draw in (0.0, 0.29, 0.30, 0.99):
        try:
            asyncio.run(apply_fault(fault, upstream="catalog", chance=lambda d=draw: d))
            outcomes.append("passed")
        except InjectedFault as exc:
            outcomes.append(exc.status)
    assert outcomes == [500, 500, "passed", "passed"]


def test_fault_delay_then_abort() -> None:
    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(InjectedFault):
            await apply_fault(FaultInjection(delay_ms=50, abort_status=502), upstream="x")
        return loop.time() - start

    assert asyncio.run(timed()) >= 0.05


def test_an_injected_abort_never_opens_the_upstreams_breaker() -> None:
    """A drilled fault is the route's: the upstream's other routes keep their breaker closed."""
    from strangler_proxy.dataplane.breaker import BreakerState, CircuitBreaker
    from strangler_proxy.dataplane.upstream_failures import inject
    from strangler_proxy.routes import BreakerSettings

    breaker = CircuitBreaker(BreakerSettings(failure_threshold=2))
    fault = FaultInjection(percent=100, abort_status=500)
    for _ in range(5):
        assert breaker.allow()
        with pytest.raises(InjectedFault):
            asyncio.run(inject(fault, "catalog", breaker))
    assert breaker.state is BreakerState.CLOSED
