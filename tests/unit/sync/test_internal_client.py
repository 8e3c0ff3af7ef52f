from __future__ import annotations

import json
from dataclasses import replace

import httpx2
import pytest

from acl.errors import LegacyDataError, LegacyServerError, LegacyServiceError
from acl.sync.workers.internal_client import MonolithInternalClient, ResolvedSession
from tests.unit.sync.fakes import product_event

pytestmark = pytest.mark.unit


def _client(handler) -> MonolithInternalClient:  # type: ignore[no-untyped-def]
    return MonolithInternalClient(
        "http://legacy.test", "s3cret", transport=httpx2.MockTransport(handler), sleep=lambda _: None
    )


def test_events_go_in_ordered_batches_with_the_token() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["Authorization"] == "Bearer s3cret"
        events = json.loads(request.content)["events"]
        seen.append([event["event_id"] for event in events])
        results = [{"event_id": event["event_id"], "outcome": "applied"} for event in events]
        results[-1] = {"event_id": events[-1]["event_id"], "error": {"code": "not_found", "message": "gone"}}
        return httpx2.Response(200, json={"results": results})

    events = [product_event(1, n) for n in range(1, 6)]
    with _client(handler) as client:
        outcomes = client.apply_events(events, batch=3)
    assert seen == [[e.event_id for e in events[:3]], [e.event_id for e in events[3:]]]
    assert [o.outcome for o in outcomes] == ["applied", "applied", "refused", "applied", "refused"]
    assert [o.event_id for o in outcomes] == [e.event_id for e in events]
    assert outcomes[2].reason == {"code": "not_found", "message": "gone"} and outcomes[2].refused


def test_a_batch_refused_as_a_request_is_split_until_the_bad_event_is_alone() -> None:
    """A 400 for the whole request (not per event): halves are sent until the culprit stands alone."""
    sizes: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        events = json.loads(request.content)["events"]
        sizes.append(len(events))
        if any(event["payload"].get("poison") for event in events):
            return httpx2.Response(400, json={"error": {"code": "invalid_body", "message": "no"}})
        return httpx2.Response(
            200, json={"results": [{"event_id": e["event_id"], "outcome": "applied"} for e in events]}
        )

    events = [product_event(1, n) for n in range(1, 6)]
    events[3] = replace(events[3], payload={**events[3].payload, "poison": True})
    with _client(handler) as client:
        outcomes = client.apply_events(events)
    assert [o.outcome for o in outcomes] == ["applied", "applied", "applied", "refused", "applied"]
    assert outcomes[3].reason is not None and outcomes[3].reason["status"] == 400
    assert sizes[0] == 5 and sizes.count(1) >= 1


@pytest.mark.parametrize("status", [401, 403, 404, 429])
def test_a_refusal_about_the_caller_is_not_the_events_fault(status: int) -> None:
    """A wrong token or address is retried (raised), never turned into dead letters."""
    with (
        _client(lambda request: httpx2.Response(status, json={})) as client,
        pytest.raises(LegacyServiceError),
    ):
        client.apply_events([product_event(1, 1), product_event(1, 2)])


def test_results_that_do_not_match_the_events_sent_raise() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        events = json.loads(request.content)["events"]
        return httpx2.Response(
            200, json={"results": [{"event_id": "other", "outcome": "applied"} for _ in events]}
        )

    with _client(handler) as client, pytest.raises(LegacyDataError):
        client.apply_events([product_event(1, 1)])


def test_an_unavailable_monolith_raises_so_the_batch_is_retried() -> None:
    with _client(lambda request: httpx2.Response(500, json={})) as client, pytest.raises(LegacyServerError):
        client.apply_events([product_event(1, 1)])


def test_session_resolution() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert "sessionid" not in str(request.url)  # the key never travels in the URL
        if request.headers.get("X-Legacy-Session") == "good":
            return httpx2.Response(
                200, json={"user_id": 4, "username": "demo", "is_staff": False, "customer_id": 9}
            )
        return httpx2.Response(404, json={"error": {"code": "not_found", "message": "no"}})

    with _client(handler) as client:
        assert client.resolve_session("good") == ResolvedSession(4, "demo", False, 9)
        assert client.resolve_session("bad") is None
    with pytest.raises(ValueError, match="empty"):
        MonolithInternalClient("http://legacy.test", "")
