"""Live figures for the API and the UI: per-route requests/s, 5xx rate and p50/p99 for legacy and new
side by side, shadow parity, per-second series for charts, and the data-plane workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from strangler_proxy.controlplane.metrics import ShadowWindow, Window
from strangler_proxy.controlplane.repositories import (
    failing_requests,
    shadow,
    stats,
    unmatched_paths,
    versions,
    workers,
)
from strangler_proxy.controlplane.service_layer.worker_state import WORKER_SILENT_S, worker_state
from strangler_proxy.routes import RouteTable

__all__ = ["UNMATCHED", "ObservabilityService"]

UNMATCHED = "-"
"""The route name the data plane records for requests no rule matched."""
TARGETS = ("legacy", "new")


class ObservabilityService:
    def __init__(
        self,
        engine: Engine,
        *,
        seconds: Callable[[], float] = time.time,
        worker_silent_s: float = WORKER_SILENT_S,
    ) -> None:
        self._engine = engine
        self._seconds = seconds
        self._worker_silent_s = worker_silent_s

    def _last_complete_second(self) -> int:
        return int(self._seconds()) - 1

    def route_figures(self, table: RouteTable, *, window_s: int = 10) -> list[dict[str, Any]]:
        """One entry per rule of ``table`` plus the unmatched traffic, with figures over ``window_s``."""
        until = self._last_complete_second() + 1
        since = until - window_s
        with self._engine.connect() as conn:
            summary = stats.summary(conn, since=since, until=until)
            parity = shadow.summary(conn, since=since, until=until)
        names = [r.name for r in table.rules] + [UNMATCHED]
        figures = []
        for name in names:
            rule = table.rule(name)
            entry: dict[str, Any] = {
                "route": name,
                "mode": rule.action.mode.value if rule else "legacy",
                "upstream": rule.action.upstream if rule else None,
                "weight": rule.action.weight if rule else 0,
                "match": rule.match.model_dump(mode="json") if rule else None,
                "window_s": window_s,
            }
            for target in TARGETS:
                entry[target] = summary.get((name, target), Window()).to_dict(window_s)
            # The new side's answers to the shadow mirrors (the shadow process writes them as target
            # "shadow"): a route in shadow mode has a new-side latency although it serves nothing.
            entry["mirrored"] = summary.get((name, "shadow"), Window()).to_dict(window_s)
            entry["shadow"] = parity.get(name, ShadowWindow()).to_dict()
            figures.append(entry)
        return figures

    def unmatched_paths(self, *, window_s: int, limit: int = 500) -> dict[str, Any]:
        """The path shapes of the requests no rule matched over ``window_s`` (the data-plane workers
        write theirs every ``STRANGLER_UNMATCHED_PATHS_INTERVAL_S``), most requested first, at most
        ``limit``; ``unattributed`` is the unmatched requests no listed shape accounts for (shapes a
        worker's bounded summary did not keep, or counted in a row outside the window)."""
        until = self._last_complete_second() + 1
        since = until - window_s
        with self._engine.connect() as conn:
            shapes = unmatched_paths.summary(conn, since=since, until=until)
            summary = stats.summary(conn, since=since, until=until, route=UNMATCHED)
        total = sum(window.requests for window in summary.values())
        ordered = sorted(shapes.items(), key=lambda item: (-item[1], item[0]))
        listed = ordered[:limit]
        return {
            "window_s": window_s,
            "unmatched_requests": total,
            "paths": [{"path": path, "requests": requests} for path, requests in listed],
            "unattributed": max(0, total - sum(requests for _, requests in listed)),
        }

    def parity(self, *, window_s: int) -> dict[str, float | None]:
        """Each route's shadow parity (0..1, None without comparisons) over ``window_s``."""
        until = self._last_complete_second() + 1
        with self._engine.connect() as conn:
            summary = shadow.summary(conn, since=until - window_s, until=until)
        return {name: window.parity for name, window in summary.items()}

    def series(self, route: str, *, seconds: int = 60) -> list[dict[str, Any]]:
        """Per-second points for one route, oldest first, with empty seconds filled in."""
        until = self._last_complete_second() + 1
        since = until - seconds
        with self._engine.connect() as conn:
            points = stats.per_second(conn, since=since, until=until, route=route)
            parity = shadow.per_second(conn, since=since, until=until, route=route)
        return [
            {
                "second": second,
                **{t: points.get((route, t, second), Window()).to_dict(1.0) for t in TARGETS},
                "shadow": parity.get(second, ShadowWindow()).to_dict(),
            }
            for second in range(since, until)
        ]

    def prune(self, *, retention_s: int) -> int:
        """Delete per-second rows older than ``retention_s``; return how many went."""
        older_than = int(self._seconds()) - retention_s
        with self._engine.begin() as conn:
            return (
                stats.prune(conn, older_than=older_than)
                + shadow.prune(conn, older_than=older_than)
                + unmatched_paths.prune(conn, older_than=older_than)
                + failing_requests.prune(conn, older_than=older_than)
            )

    def workers(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Every data-plane worker with the version it serves, its data plane (``instance``) and its
        ``state``: ``serving`` when its heartbeat is recent, ``stale`` when it has been silent more than
        ``WORKER_SILENT_S`` (cut off from the store, or dead: a clean stop removes the row; the data
        planes prune rows silent for ``STRANGLER_WORKER_PRUNE_S``), with a ``detail`` saying so."""
        with self._engine.connect() as conn:
            pointer = versions.active_pointer(conn)
            rows = workers.list_workers(conn)
        active = pointer.version_id if pointer else None
        moment = now or datetime.now(UTC)
        return {
            "active_version": active,
            "generation": pointer.generation if pointer else None,
            "workers": [
                {
                    **w,
                    "current": w["version"] == active,
                    **worker_state(w, moment, silent_s=self._worker_silent_s),
                }
                for w in rows
            ],
        }

    def shadow_samples(self, *, route: str | None = None, limit: int = 50, before_id: int | None = None):
        with self._engine.connect() as conn:
            return shadow.samples(conn, route=route, limit=limit, before_id=before_id)

    def failing_requests(
        self, *, route: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        """A route's (or every route's) recent failing requests, newest first: the 5xx answers the
        data-plane workers kept (the last ``STRANGLER_FAILING_REQUESTS_PER_ROUTE`` per route, worker and
        write), each with its request id and trace id."""
        with self._engine.connect() as conn:
            return failing_requests.recent(conn, route=route, limit=limit, before_id=before_id)

    def shadow_sample(self, sample_id: int) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            return shadow.get_sample(conn, sample_id)
