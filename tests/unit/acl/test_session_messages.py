"""The ACL's side of the flash messages: the monolith's answer translated, a bad one refused, and the call
(which takes the messages) never sent twice."""

from __future__ import annotations

import httpx2
import pytest

from acl.errors import LegacyDataError, LegacyServerError
from acl.session_state import FlashMessage, PendingMessages, SessionStateClient

pytestmark = pytest.mark.unit


def _client(answer: httpx2.Response, seen: list[httpx2.Request]) -> SessionStateClient:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answer

    return SessionStateClient("http://legacy.test", "tok", transport=httpx2.MockTransport(handle))


def test_pending_messages_are_taken_with_the_clients_cookies() -> None:
    seen: list[httpx2.Request] = []
    body = {
        "messages": [{"level": 25, "tags": "success", "message": "Saved <b>"}],
        "set_cookies": ["messages=; Max-Age=0; Path=/"],
    }
    client = _client(httpx2.Response(200, json=body), seen)
    pending = client.take_messages("sess", "cookie-value")
    assert pending == PendingMessages(
        (FlashMessage(25, "success", "Saved <b>"),), ("messages=; Max-Age=0; Path=/",)
    )
    assert str(pending.messages[0]) == "Saved <b>"
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/internal/session/messages")
    assert (
        request.headers["x-legacy-session"] == "sess"
        and request.headers["x-legacy-messages"] == "cookie-value"
    )
    assert request.headers["authorization"] == "Bearer tok"
    client.take_messages(None, None)
    assert "x-legacy-session" not in seen[-1].headers and "x-legacy-messages" not in seen[-1].headers


@pytest.mark.parametrize(
    "body",
    [
        {"set_cookies": []},
        {"messages": [{"level": "25", "tags": "success", "message": "x"}], "set_cookies": []},
        {"messages": ["x"], "set_cookies": []},
        {"messages": [], "set_cookies": [1]},
    ],
)
def test_an_answer_of_another_shape_is_refused(body: dict) -> None:
    with pytest.raises(LegacyDataError):
        _client(httpx2.Response(200, json=body), []).take_messages("sess", None)


def test_a_failed_take_is_not_retried() -> None:
    seen: list[httpx2.Request] = []
    with pytest.raises(LegacyServerError):
        _client(httpx2.Response(503, json={"error": {}}), seen).take_messages("sess", None)
    assert len(seen) == 1
