"""What a data-plane worker's row says about it: its data plane, and whether it is heard from.

A worker heartbeats every second through the store. One whose heartbeat is older than
``WORKER_SILENT_S`` is *stale*: it cannot reach the store (it keeps serving the version it applied
last) or it died without a clean stop. It stays listed, with what it serves and since when, until the
data planes prune it (``STRANGLER_WORKER_PRUNE_S``): a split fleet is shown, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from strangler_proxy.controlplane.service_layer.clock import as_utc

__all__ = ["WORKER_SILENT_S", "instance_of", "worker_state"]

WORKER_SILENT_S = 10.0


def instance_of(worker_id: str) -> str:
    """The data plane of ``NAME:pid`` (``NAME`` is its ``STRANGLER_INSTANCE_NAME``)."""
    name, colon, pid = worker_id.rpartition(":")
    return name if colon and pid.isdigit() else worker_id


def _clock_time(value: str | None) -> str:
    return "-" if value is None else as_utc(datetime.fromisoformat(value)).strftime("%H:%M:%S")


def worker_state(
    worker: Mapping[str, Any], now: datetime, *, silent_s: float = WORKER_SILENT_S
) -> dict[str, Any]:
    """``instance``, ``state`` (serving | stale), ``silent_s`` and a one-line ``detail``."""
    heard = as_utc(datetime.fromisoformat(worker["heartbeat_at"]))
    silent = max(0.0, (now - heard).total_seconds())
    version = worker["version"]
    serving = f"serving v{version}" if version else "serving the bootstrap table"
    since = f" since {_clock_time(worker['applied_at'])}" if worker.get("applied_at") else ""
    if silent <= silent_s:
        state, detail = "serving", f"{serving}{since}"
    else:
        state = "stale"
        detail = (
            f"{serving}{since}, store unreachable (silent {silent:.0f} s, last heard "
            f"{heard.strftime('%H:%M:%S')})"
        )
    return {
        "instance": instance_of(worker["worker"]),
        "state": state,
        "silent_s": round(silent, 1),
        "detail": detail,
    }
