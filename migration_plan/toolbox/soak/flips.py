"""The soak's route and its flips, published through the control plane's admin API (the control plane is
the only writer of route tables; the soak is one more operator)."""

from __future__ import annotations

from typing import Any

from migration_plan.admin_client import AdminClient

__all__ = ["PATH", "ROUTE", "SoakRoute"]

ROUTE = "soak-products"
PATH = "/api/products"
UPSTREAM = "catalog"
"""The new side's upstream name, registered with the control plane by the rig (``STRANGLER_UPSTREAMS``)."""


class SoakRoute:
    """One rule on ``/api/products``, flipped between the new upstream and the legacy."""

    def __init__(self, admin: AdminClient) -> None:
        self._admin = admin

    def add(self) -> int:
        """Add the rule, to the new upstream; the version published."""
        rule = {
            "name": ROUTE,
            "match": {"kind": "prefix", "path": PATH},
            "action": {"mode": "new", "upstream": UPSTREAM},
        }
        return self._version(self._admin.request("POST", "/routes", {"rule": rule, "reason": "soak route"}))

    def flip(self, *, to_new: bool) -> int:
        """Flip the rule to the new upstream or back to the legacy; the version published."""
        body: dict[str, Any] = (
            {"mode": "new", "upstream": UPSTREAM, "reason": "soak flip"}
            if to_new
            else {"mode": "legacy", "reason": "soak flip"}
        )
        return self._version(self._admin.request("POST", f"/routes/{ROUTE}/flip", body))

    @staticmethod
    def _version(answer: Any) -> int:
        return int(answer["version"])
