"""The session-cart port on the monolith: its session state, through the ACL's bridge.

The monolith keeps the cart in its session; ``acl.session_state`` reads it (and, after a checkout,
takes the lines ordered out of it as it is then: lines added meanwhile stay) through the monolith's
``/internal/session/state``, and ``acl.orders`` translates the legacy cart into lines. The monolith's
internal token is read when first needed (the monolith writes its token file when it first starts,
possibly after this service).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from acl.errors import LegacyNotFound, LegacyRejected, LegacyServiceError
from acl.orders import CART_SESSION_KEY, cart_after_checkout, cart_quantities_from_session
from acl.session_state import PendingMessages, SessionStateClient
from new_services.orders.domain import CheckoutCart, EmptyCart, InvalidCart
from new_services.orders.service_layer.errors import SessionUnavailable
from new_services.orders.service_layer.ports import SessionCart

__all__ = ["CART_UPDATE_TRIES", "LegacySessionCarts"]

CART_UPDATE_TRIES = 5
"""Compare-and-set rounds for taking the ordered lines out of a cart the customer keeps changing."""


class LegacySessionCarts:
    """``SessionCartPort`` on the monolith's session state (one HTTP client per process, made lazily)."""

    def __init__(
        self, base_url: str, token: Callable[[], str | None], *, client: SessionStateClient | None = None
    ) -> None:
        self._base_url = base_url
        self._token = token
        self._client: SessionStateClient | None = client
        self._lock = threading.Lock()

    def _bridge(self) -> SessionStateClient:
        with self._lock:
            if self._client is None:
                token = self._token()
                if not token:
                    raise SessionUnavailable(
                        "the monolith's internal token is unknown: set STRANGLER_LEGACY_INTERNAL_TOKEN "
                        "or start the monolith once (it writes $STRANGLER_HOME/legacy/internal_token)"
                    )
                self._client = SessionStateClient(self._base_url, token)
            return self._client

    def read(self, session_key: str, *, before_request: str | None = None) -> SessionCart | None:
        try:
            state = self._bridge().read(session_key, before_request=before_request)
        except LegacyServiceError as exc:
            raise SessionUnavailable(f"cannot read the session cart: {exc}") from exc
        if state is None:
            return None
        stored = state.data.get(CART_SESSION_KEY)
        quantities = cart_quantities_from_session(state.data)
        try:
            cart: CheckoutCart | None = CheckoutCart.of(quantities.items())
        except EmptyCart:
            cart = None
        except InvalidCart as exc:
            raise SessionUnavailable(f"the session cart cannot be checked out: {exc}") from exc
        return SessionCart(user_id=state.user_id, cart=cart, version=stored)

    def remove_checked_out(self, session_key: str, version: object, ordered: Mapping[int, int]) -> bool:
        """Compare-and-set the cart without ``ordered``; on ``session_changed`` read it again and
        subtract from what is there now, up to ``CART_UPDATE_TRIES`` times. An ended session: nothing
        is left to order twice (True)."""
        stored = version
        for _ in range(CART_UPDATE_TRIES):
            left = cart_after_checkout({CART_SESSION_KEY: stored}, ordered)
            try:
                self._bridge().change(
                    session_key, {CART_SESSION_KEY: left}, expect={CART_SESSION_KEY: stored}
                )
                return True
            except LegacyNotFound:
                return True
            except LegacyRejected as exc:
                if exc.status_code != 409 or "session_changed" not in exc.body:
                    raise SessionUnavailable(f"cannot update the session cart: {exc}") from exc
            except LegacyServiceError as exc:
                raise SessionUnavailable(f"cannot update the session cart: {exc}") from exc
            try:
                state = self._bridge().read(session_key)
            except LegacyServiceError as exc:
                raise SessionUnavailable(f"cannot read the session cart again: {exc}") from exc
            if state is None:
                return True
            stored = state.data.get(CART_SESSION_KEY)
        return False

    def take_messages(self, session_key: str | None, messages_cookie: str | None) -> PendingMessages:
        """The client's pending flash messages, taken (see ``acl.session_state``)."""
        try:
            return self._bridge().take_messages(session_key, messages_cookie)
        except LegacyServiceError as exc:
            raise SessionUnavailable(f"cannot read the flash messages: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
