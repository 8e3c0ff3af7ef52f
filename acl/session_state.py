"""The monolith's session data, read and changed through its ``/internal/session/state`` endpoint.

A service that took over a route whose contract depends on the session (a checkout of the session
cart) asks the monolith for the session's data instead of opening its session table: the monolith
answers only the keys it chose to share, whatever its session engine. The session cookie's value
travels in ``X-Legacy-Session``, never in a URL. Errors are ``acl.errors`` ones; a read is retried like
any GET, a change (``PATCH``) never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from acl.errors import LegacyDataError, LegacyNotFound
from acl.legacy_http import LegacyHttpClient

__all__ = [
    "SESSION_MESSAGES_PATH",
    "SESSION_STATE_PATH",
    "FlashMessage",
    "PendingMessages",
    "SessionState",
    "SessionStateClient",
]

SESSION_STATE_PATH = "/internal/session/state"
SESSION_MESSAGES_PATH = "/internal/session/messages"


@dataclass(frozen=True, slots=True)
class FlashMessage:
    """One of the monolith's flash messages: its level, its CSS tags and its text (not HTML-escaped)."""

    level: int
    tags: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class PendingMessages:
    """The messages a client's next page shows, and the ``Set-Cookie`` values that page must carry."""

    messages: tuple[FlashMessage, ...] = ()
    set_cookies: tuple[str, ...] = ()


def _messages_from_json(body: Any) -> PendingMessages:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise LegacyDataError("session messages", body, 'expected {"messages": [...], "set_cookies": [...]}')
    cookies = body.get("set_cookies", [])
    if not isinstance(cookies, list) or not all(isinstance(value, str) for value in cookies):
        raise LegacyDataError("set_cookies", cookies, "not a list of Set-Cookie values")
    taken = []
    for item in body["messages"]:
        if not isinstance(item, dict):
            raise LegacyDataError("messages", item, "not a message object")
        level, tags, text = item.get("level"), item.get("tags"), item.get("message")
        if not isinstance(level, int) or not isinstance(tags, str) or not isinstance(text, str):
            raise LegacyDataError("messages", item, 'expected {"level": int, "tags": str, "message": str}')
        taken.append(FlashMessage(level, tags, text))
    return PendingMessages(tuple(taken), tuple(cookies))


@dataclass(frozen=True, slots=True)
class SessionState:
    """The signed-in user of a session (None: anonymous) and the session keys the monolith shares."""

    user_id: int | None
    data: Mapping[str, Any] = field(default_factory=dict)


def _state_from_json(body: Any) -> SessionState:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise LegacyDataError("session state", body, 'expected {"user_id", "data": {...}}')
    user_id = body.get("user_id")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise LegacyDataError("user_id", user_id, "not an integer user id")
    return SessionState(user_id=user_id, data=body["data"])


class SessionStateClient(LegacyHttpClient):
    """``LegacyHttpClient`` with the monolith's internal bearer token."""

    def __init__(self, base_url: str, token: str, **kwargs: Any) -> None:
        if not token:
            raise ValueError("the internal token is empty")
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        super().__init__(base_url, headers=headers, **kwargs)

    def read(self, session_key: str, *, before_request: str | None = None) -> SessionState | None:
        """The session's state, or None when the monolith knows no such (live) session; with
        ``before_request`` (an ``X-Request-Id``), as it was before that request changed it (a shadowed
        write sees what the monolith saw)."""
        headers = {"X-Legacy-Session": session_key}
        if before_request:
            headers["X-Legacy-Before-Request"] = before_request
        try:
            response = self._request("GET", SESSION_STATE_PATH, headers=headers)
        except LegacyNotFound:
            return None
        return _state_from_json(self._json(response))

    def take_messages(self, session_key: str | None, messages_cookie: str | None) -> PendingMessages:
        """The client's pending flash messages, taken as the monolith's next page would take them (so a
        message is shown once, on whichever side renders that page). Never retried (it changes state)."""
        headers = {}
        if session_key:
            headers["X-Legacy-Session"] = session_key
        if messages_cookie:
            headers["X-Legacy-Messages"] = messages_cookie
        response = self._request("POST", SESSION_MESSAGES_PATH, headers=headers)
        return _messages_from_json(self._json(response))

    def change(
        self,
        session_key: str,
        data: Mapping[str, Any],
        *,
        expect: Mapping[str, Any] | None = None,
    ) -> SessionState:
        """Set ``data``'s keys (None removes one) if every key of ``expect`` still holds its value.

        Raises ``LegacyRejected`` (409, code ``session_changed``) when the session moved on, and
        ``LegacyNotFound`` when it ended.
        """
        body = {"data": dict(data), "expect": dict(expect or {})}
        response = self._request(
            "PATCH", SESSION_STATE_PATH, json=body, headers={"X-Legacy-Session": session_key}
        )
        return _state_from_json(self._json(response))
