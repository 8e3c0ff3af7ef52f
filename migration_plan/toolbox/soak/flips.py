"""The soak's route and its flips, published through the control plane's admin API (the control plane is
the only writer of route tables; the soak is one more operator)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migration_plan.admin_client import AdminClient

__all__ = ["SoakRoute"]


class SoakRoute:
    """One rule, ``name`` with ``match``, flipped between the ``upstream`` and the legacy."""

    def __init__(self, admin: AdminClient, name: str, match: Mapping[str, Any], upstream: str) -> None:
        self._admin = admin
        self.name = name
        self.match = dict(match)
        self.upstream = upstream

    def add(self) -> int:
        """Add the rule, to the new upstream; the version published."""
        rule = {"name": self.name, "match": self.match, "action": {"mode": "new", "upstream": self.upstream}}
        return self._version(self._admin.request("POST", "/routes", {"rule": rule, "reason": "soak route"}))

    def flip(self, *, to_new: bool) -> int:
        """Flip the rule to the new upstream or back to the legacy; the version published."""
        body: dict[str, Any] = (
            {"mode": "new", "upstream": self.upstream, "reason": "soak flip"}
            if to_new
            else {"mode": "legacy", "reason": "soak flip"}
        )
        return self._version(self._admin.request("POST", f"/routes/{self.name}/flip", body))

    @staticmethod
    def _version(answer: Any) -> int:
        return int(answer["version"])
