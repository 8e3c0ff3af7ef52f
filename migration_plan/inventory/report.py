"""Each URL pattern of the monolith with the plan stage that claims it and its share of traffic.

A pattern a live rule claims has its rule's share; a pattern no live rule claims yet has the share of
the unmatched requests whose path shapes (counted by the data plane) resolve to it.

Claims follow the order the plan's rules take in the route table (a later stage's rules first, see
``migration_plan.plan.state.apply_step``), method by method. A pattern is *unclaimed* when no stage that
moves routes off the monolith claims it and the plan does not keep it on legacy on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_plan.inventory.patterns import ANY_METHOD, match_accepts, sample_path
from migration_plan.inventory.source import UrlPattern
from migration_plan.inventory.traffic import attribute_shapes
from migration_plan.plan.model import Plan, RouteSpec, Stage

__all__ = ["UNMATCHED", "Claim", "Inventory", "InventoryRow", "build_inventory"]

UNMATCHED = "-"
"""The stats' name for requests no rule matched."""


@dataclass(frozen=True)
class Claim:
    stage: str
    route: str
    methods: tuple[str, ...]
    migrates: bool


@dataclass(frozen=True)
class InventoryRow:
    pattern: UrlPattern
    sample: str
    claims: tuple[Claim, ...]
    kept: bool
    share: float | None
    """Traffic share (of all requests in the stats window): the claiming live rules' share, or, when no
    rule of the live table claims the pattern yet, the share of the unmatched requests whose paths
    resolve to it; None without stats (or without the unmatched paths, for a pattern no rule claims)."""
    requests: int | None
    share_from: str | None = None
    """Where the share comes from: ``rule`` (the claiming live rules' traffic) or ``paths`` (unmatched
    requests resolved to the pattern by their path); None without a share."""

    @property
    def status(self) -> str:
        if self.kept:
            return "kept on legacy"
        if any(claim.migrates for claim in self.claims):
            return "claimed"
        return "pass-through only" if self.claims else "unclaimed"

    @property
    def unclaimed(self) -> bool:
        return self.status in ("unclaimed", "pass-through only")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern.pattern,
            "name": self.pattern.name,
            "methods": list(self.pattern.methods) if self.pattern.methods else None,
            "view": self.pattern.view,
            "sample": self.sample,
            "status": self.status,
            "unclaimed": self.unclaimed,
            "stages": sorted({claim.stage for claim in self.claims}),
            "claims": [
                {"stage": c.stage, "route": c.route, "methods": list(c.methods), "migrates": c.migrates}
                for c in self.claims
            ],
            "share": self.share,
            "requests": self.requests,
            "share_from": self.share_from,
        }


@dataclass(frozen=True)
class Inventory:
    plan: str
    rows: tuple[InventoryRow, ...]
    total_requests: int | None
    window_s: int | None
    unmatched_requests: int | None = None
    """Requests no live rule matched (the traffic of every pattern without a live rule)."""
    unattributed_requests: int | None = None
    """Unmatched requests given to no pattern: their paths resolve to none (the monolith answers 404),
    or the data plane's bounded summaries did not keep their path; None without the unmatched paths."""
    unresolved_paths: tuple[tuple[str, int], ...] = ()
    """Path shapes of unmatched requests that no pattern resolves, with their requests."""

    @property
    def unclaimed(self) -> list[InventoryRow]:
        return [row for row in self.rows if row.unclaimed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "window_s": self.window_s,
            "total_requests": self.total_requests,
            "unmatched_requests": self.unmatched_requests,
            "unattributed_requests": self.unattributed_requests,
            "unresolved_paths": [{"path": path, "requests": n} for path, n in self.unresolved_paths],
            "unclaimed": len(self.unclaimed),
            "routes": [row.to_dict() for row in self.rows],
        }


def _ordered_routes(plan: Plan) -> list[tuple[Stage, RouteSpec]]:
    return [(stage, spec) for stage in reversed(plan.stages) for spec in stage.routes]


def _requests(figures: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    return {
        str(entry["route"]): sum(
            int((entry.get(side) or {}).get("requests") or 0) for side in ("legacy", "new")
        )
        for entry in figures
    }


def build_inventory(
    patterns: Sequence[UrlPattern],
    plan: Plan,
    figures: Sequence[Mapping[str, Any]] | None = None,
    *,
    window_s: int | None = None,
    unmatched_paths: Mapping[str, Any] | None = None,
) -> Inventory:
    """One row per pattern, in the URLconf's order; ``figures`` are /api/v1/stats ``routes``,
    ``unmatched_paths`` /api/v1/stats/unmatched-paths (over the same window)."""
    ordered = _ordered_routes(plan)
    per_route = _requests(figures) if figures is not None else None
    total = sum(per_route.values()) if per_route is not None else None
    traffic = None
    if per_route is not None and unmatched_paths is not None:
        shapes = {str(e["path"]): int(e["requests"]) for e in unmatched_paths.get("paths") or ()}
        traffic = attribute_shapes(patterns, shapes)
    rows = []
    for index, pattern in enumerate(patterns):
        sample = sample_path(pattern.pattern)
        methods = pattern.methods or (ANY_METHOD,)
        by_route: dict[tuple[str, str], list[str]] = {}
        migrates: dict[str, bool] = {}
        for method in methods:
            for stage, spec in ordered:
                if match_accepts(spec.match, sample, method):
                    by_route.setdefault((stage.name, spec.name), []).append(method)
                    migrates[stage.name] = stage.migrates
                    break
        claims = tuple(
            Claim(stage, route, tuple(found), migrates[stage]) for (stage, route), found in by_route.items()
        )
        kept = any(sample == p.rstrip("/") or sample.startswith(p) for p in plan.keep_on_legacy)
        share = requests = share_from = None
        live = [claim for claim in claims if per_route is not None and claim.route in per_route]
        if per_route is not None and live:
            requests = sum(per_route[claim.route] for claim in live)
            share_from = "rule"
        elif traffic is not None:
            requests = traffic.by_pattern[index]
            share_from = "paths"
        if requests is not None:
            share = round(requests / total, 4) if total else 0.0
        rows.append(InventoryRow(pattern, sample, claims, kept, share, requests, share_from))
    unmatched = per_route.get(UNMATCHED, 0) if per_route is not None else None
    unattributed = None
    if traffic is not None and unmatched is not None:
        given = sum(row.requests or 0 for row in rows if row.share_from == "paths")
        unattributed = max(0, unmatched - given)
    return Inventory(
        plan.name,
        tuple(rows),
        total,
        window_s,
        unmatched,
        unattributed,
        traffic.unresolved_shapes if traffic is not None else (),
    )
