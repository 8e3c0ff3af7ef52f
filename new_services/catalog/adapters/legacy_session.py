"""The header's cart count, from the monolith's session cart, through the ACL's session-state bridge.

The catalog's pages show the count the monolith's pages show (the units in the session cart). The cart
stays in the monolith's session: ``acl.session_state`` reads it through the monolith's
``/internal/session/state`` and ``acl.orders`` translates it. The internal token is read when first
needed (the monolith writes its token file when it first starts, possibly after this service).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from acl.orders import cart_quantities_from_session
from acl.session_state import PendingMessages, SessionStateClient

__all__ = ["LegacyCartCount"]


class LegacyCartCount:
    """``count(session_key)``: the units in that session's cart (0 for an unknown session). Raises
    ``acl.errors.ACLError`` when the monolith cannot be asked, or ``LookupError`` without its token."""

    def __init__(self, base_url: str, token: Callable[[], str | None]) -> None:
        self._base_url = base_url
        self._token = token
        self._client: SessionStateClient | None = None
        self._lock = threading.Lock()

    def _bridge(self) -> SessionStateClient:
        with self._lock:
            if self._client is None:
                token = self._token()
                if not token:
                    raise LookupError(
                        "the monolith's internal token is unknown (STRANGLER_LEGACY_INTERNAL_TOKEN)"
                    )
                self._client = SessionStateClient(self._base_url, token)
            return self._client

    def count(self, session_key: str) -> int:
        state = self._bridge().read(session_key)
        return 0 if state is None else sum(cart_quantities_from_session(state.data).values())

    def take_messages(self, session_key: str | None, messages_cookie: str | None) -> PendingMessages:
        """The client's pending flash messages, taken (see ``acl.session_state``)."""
        return self._bridge().take_messages(session_key, messages_cookie)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
