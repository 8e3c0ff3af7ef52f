"""The monolith's flash messages on a service's pages.

A message a monolith view left for the next page ("Thank you! Your order ... was placed.") must show on
that page whichever side renders it, once. The service asks the monolith for the client's pending
messages (its adapters call the ACL's session-state bridge, which takes them as the monolith's page
would) and sends the ``Set-Cookie`` values the monolith's page would have sent (the emptied messages
cookie) with its own answer. The kit knows no ACL: a service passes its ``take`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog
from flask import Flask, Response, g, request

from new_services.kit.settings import ServiceSettings

__all__ = ["Pending", "TakeMessages", "install_flash_cookies", "pending_messages"]

log = structlog.get_logger("kit.flash")
_COOKIES = "strangler_flash_cookies"


class Pending(Protocol):
    @property
    def messages(self) -> Sequence[Any]: ...

    @property
    def set_cookies(self) -> Sequence[str]: ...


TakeMessages = Callable[[str | None, str | None], Pending]
"""(session cookie's value, messages cookie's value) -> the pending messages, taken."""


def pending_messages(
    take: TakeMessages | None,
    settings: ServiceSettings,
    unavailable: tuple[type[Exception], ...],
) -> list[Any]:
    """The messages the monolith's page would show this client now (each with ``tags`` and its text as
    ``str``); none without the client's cookies, and none (logged) when ``take`` raises one of
    ``unavailable`` (the monolith cannot be asked): the page still renders, as with the cart count."""
    session = request.cookies.get(settings.legacy_session_cookie) or None
    cookie = request.cookies.get(settings.legacy_messages_cookie) or None
    if take is None or (session is None and cookie is None):
        return []
    try:
        pending = take(session, cookie)
    except unavailable as exc:
        log.warning("flash messages unavailable", reason=str(exc), error=exc.__class__.__name__)
        return []
    if pending.set_cookies:
        g.setdefault(_COOKIES, []).extend(pending.set_cookies)
    return list(pending.messages)


def install_flash_cookies(app: Flask) -> None:
    """Every answer carries the ``Set-Cookie`` values the taken messages asked for."""

    @app.after_request
    def _relay(response: Response) -> Response:
        for value in g.get(_COOKIES, ()):
            response.headers.add("Set-Cookie", value)
        return response
