"""``POST /internal/session/messages``: a client's pending flash messages, taken as a page would take them.

A page a service renders must show what the monolith's page would, including the messages a view left
for the next page (``django.contrib.messages``: "Your order was placed."). Where they wait depends on
the project's ``MESSAGE_STORAGE`` (a signed cookie, the session, or the cookie then the session): the
service cannot read them itself, so it asks here, with the internal bearer token, the session cookie's
value in ``X-Legacy-Session`` and the messages cookie's value in ``X-Legacy-Messages`` (either may be
absent). The storage reads them, marks them shown and updates itself, as it does after a page is
rendered: the answer is ``{"messages": [{"level", "tags", "message"}], "set_cookies": [...]}``, where
``set_cookies`` are the ``Set-Cookie`` values the monolith's own answer would carry (the emptied
messages cookie) for the service to send with its page. POST: taking the messages changes state.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse

from strangler_django.http import internal_endpoint

__all__ = ["session_messages"]

SESSION_HEADER = "HTTP_X_LEGACY_SESSION"
MESSAGES_HEADER = "HTTP_X_LEGACY_MESSAGES"


@internal_endpoint(["POST"])
def session_messages(request: HttpRequest) -> JsonResponse:
    """The pending messages of the client whose cookies are given, taken (see the module)."""
    client = HttpRequest()
    cookie = request.META.get(MESSAGES_HEADER, "")
    if cookie:
        client.COOKIES[getattr(settings, "MESSAGE_COOKIE_NAME", "messages")] = cookie
    session: Any = import_module(settings.SESSION_ENGINE).SessionStore(
        session_key=request.META.get(SESSION_HEADER) or None
    )
    client.session = session
    storage = default_storage(client)
    # As a page does ({% if messages %}, then the loop): only messages that exist are taken, so a
    # client with none gets no Set-Cookie.
    taken = (
        [{"level": m.level, "tags": m.tags, "message": str(m.message)} for m in storage]
        if len(storage)
        else []
    )
    relayed = HttpResponse()
    storage.update(relayed)
    if session.session_key is not None and session.modified and not session.is_empty():
        session.save()
    return JsonResponse(
        {"messages": taken, "set_cookies": [morsel.OutputString() for morsel in relayed.cookies.values()]}
    )
