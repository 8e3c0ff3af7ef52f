"""Tester override tokens: a signed, expiring token that forces one side (legacy or new) for its bearer.

The token format belongs to ``strangler_proxy.override`` (shared with the data plane, which verifies it).
"""

from __future__ import annotations

import importlib
import time
from typing import Any, Literal

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError

__all__ = ["OverrideService"]

MAX_TTL_S = 7 * 24 * 3600


class OverrideService:
    def __init__(self, key: str) -> None:
        self._key = key

    def mint(self, side: Literal["legacy", "new"], ttl_s: int) -> dict[str, Any]:
        if side not in ("legacy", "new"):
            raise BadRequest("side must be 'legacy' or 'new'")
        if not 1 <= ttl_s <= MAX_TTL_S:
            raise BadRequest(f"ttl_s must be between 1 and {MAX_TTL_S}")
        try:
            module = importlib.import_module("strangler_proxy.override")
        except ModuleNotFoundError as exc:
            raise ControlPlaneError(
                "override tokens are not available: strangler_proxy.override is missing"
            ) from exc
        expires_at = int(time.time()) + ttl_s
        token = module.sign_override(self._key.encode(), side, expires_at)
        return {
            "token": token,
            "side": side,
            "expires_at": expires_at,
            "header": "x-strangler-override",
            "cookie": "strangler_override",
        }
