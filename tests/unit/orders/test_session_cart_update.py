"""After a checkout, the lines ordered leave the session cart as it is then, through the bridge's
compare-and-set (``LegacySessionCarts.remove_checked_out`` over a bridge that behaves like the
monolith's ``PATCH /internal/session/state``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from acl.errors import LegacyNotFound, LegacyRejected
from acl.session_state import SessionState
from new_services.orders.adapters.legacy_session import CART_UPDATE_TRIES, LegacySessionCarts

pytestmark = pytest.mark.unit


class Bridge:
    """One session's allowed data; ``before_change`` runs before each change (a customer's write)."""

    def __init__(self, cart: dict[str, Any] | None) -> None:
        self.data: dict[str, Any] | None = {} if cart is None else {"cart": cart}
        self.changes = 0
        self.before_change: Callable[[int], None] = lambda attempt: None

    def read(self, session_key: str, *, before_request: str | None = None) -> SessionState | None:
        return None if self.data is None else SessionState(user_id=7, data=dict(self.data))

    def change(self, session_key: str, data: dict[str, Any], *, expect: dict[str, Any]) -> SessionState:
        self.changes += 1
        self.before_change(self.changes)
        if self.data is None:
            raise LegacyNotFound("gone", status_code=404)
        if any(self.data.get(key) != value for key, value in expect.items()):
            raise LegacyRejected("changed", status_code=409, body='{"error": "session_changed"}')
        self.data.update(data)
        return SessionState(user_id=7, data=dict(self.data))


def carts(bridge: Bridge) -> LegacySessionCarts:
    return LegacySessionCarts("http://127.0.0.1:9", lambda: "token", client=bridge)  # type: ignore[arg-type]


def test_an_unchanged_cart_is_emptied_in_one_change() -> None:
    bridge = Bridge({"1": 2, "2": 1})
    assert carts(bridge).remove_checked_out("s", {"1": 2, "2": 1}, {1: 2, 2: 1})
    assert bridge.data == {"cart": {}} and bridge.changes == 1


def test_lines_added_meanwhile_stay_and_the_ordered_ones_go() -> None:
    bridge = Bridge({"1": 2})

    def customer_adds(attempt: int) -> None:
        if attempt == 1:
            bridge.data = {"cart": {"1": 3, "4": 1}}

    bridge.before_change = customer_adds
    assert carts(bridge).remove_checked_out("s", {"1": 2}, {1: 2})
    assert bridge.data == {"cart": {"1": 1, "4": 1}} and bridge.changes == 2


def test_a_line_the_customer_lowered_or_removed_meanwhile_is_gone() -> None:
    bridge = Bridge({"1": 2, "2": 2})

    def customer_changes(attempt: int) -> None:
        if attempt == 1:
            bridge.data = {"cart": {"1": 1, "3": 2}}

    bridge.before_change = customer_changes
    assert carts(bridge).remove_checked_out("s", {"1": 2, "2": 2}, {1: 2, 2: 2})
    assert bridge.data == {"cart": {"3": 2}}


def test_a_cart_that_keeps_changing_is_left_as_it_is_after_a_bounded_number_of_tries() -> None:
    bridge = Bridge({"1": 2})

    def customer_adds(attempt: int) -> None:
        assert bridge.data is not None
        bridge.data = {"cart": {**bridge.data["cart"], str(10 + attempt): 1}}

    bridge.before_change = customer_adds
    assert not carts(bridge).remove_checked_out("s", {"1": 2}, {1: 2})
    assert bridge.changes == CART_UPDATE_TRIES
    assert bridge.data is not None and bridge.data["cart"]["1"] == 2


def test_a_session_that_ended_meanwhile_leaves_nothing_to_take_out() -> None:
    bridge = Bridge({"1": 2})

    def log_out(attempt: int) -> None:
        bridge.data = None

    bridge.before_change = log_out
    assert carts(bridge).remove_checked_out("s", {"1": 2}, {1: 2})
