"""The order's version an order event of the monolith carries (``ord_ver``: the version its change made,
counted by the monolith's ``internal_aggregate_version``)."""

from __future__ import annotations

from typing import Any

from acl.errors import LegacyDataError

__all__ = ["event_order_version"]


def event_order_version(payload: dict[str, Any]) -> int | None:
    """The version an order event's change made (``ord_ver``); None when it carries none.
    ``LegacyDataError`` when malformed."""
    value = payload.get("ord_ver")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise LegacyDataError("ord_ver", value, "must be an integer >= 1")
    return value
