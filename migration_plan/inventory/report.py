"""Each URL pattern of the monolith with the plan stage that claims it and its route's share of traffic.

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
    """Traffic share of the claiming routes (of all requests in the stats window); None without stats,
    or when no rule of the live table claims the pattern yet (its requests are then unmatched ones)."""
    requests: int | None

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
        }


@dataclass(frozen=True)
class Inventory:
    plan: str
    rows: tuple[InventoryRow, ...]
    total_requests: int | None
    window_s: int | None
    unmatched_requests: int | None = None
    """Requests no live rule matched (the traffic of every pattern without a live rule)."""

    @property
    def unclaimed(self) -> list[InventoryRow]:
        return [row for row in self.rows if row.unclaimed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "window_s": self.window_s,
            "total_requests": self.total_requests,
            "unmatched_requests": self.unmatched_requests,
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
) -> Inventory:
    """One row per pattern, in the URLconf's order; ``figures`` are /api/v1/stats ``routes``."""
    ordered = _ordered_routes(plan)
    per_route = _requests(figures) if figures is not None else None
    total = sum(per_route.values()) if per_route is not None else None
    rows = []
    for pattern in patterns:
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
        share = requests = None
        live = [claim for claim in claims if per_route is not None and claim.route in per_route]
        if per_route is not None and live:
            requests = sum(per_route[claim.route] for claim in live)
            share = round(requests / total, 4) if total else 0.0
        rows.append(InventoryRow(pattern, sample, claims, kept, share, requests))
    unmatched = per_route.get(UNMATCHED, 0) if per_route is not None else None
    return Inventory(plan.name, tuple(rows), total, window_s, unmatched)
