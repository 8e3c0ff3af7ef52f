"""Read-only views: audit log, live stats, shadow results, data-plane workers, guards, upstreams."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.context import Context, endpoint, json_response
from strangler_proxy.controlplane.errors import BadRequest, NotFound
from strangler_proxy.controlplane.parsing import bounded_int
from strangler_proxy.controlplane.service_layer.audit import AuditFilter
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.clock import as_utc
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.denials import DenialFilter

__all__ = ["routes"]


def _time(ctx: Context, name: str) -> datetime | None:
    value = ctx.request.query_params.get(name)
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an ISO 8601 time") from None


async def audit_log(ctx: Context) -> Response:
    params = ctx.request.query_params
    filters = AuditFilter(
        actor=params.get("actor") or None,
        action=params.get("action") or None,
        outcome=params.get("outcome") or None,
        target=params.get("target") or None,
        since=_time(ctx, "since"),
        until=_time(ctx, "until"),
        before_id=ctx.query_int("before"),
        limit=ctx.query_int("limit", 100, low=1, high=1000) or 100,
    )
    entries = await ctx.run(ctx.services.audit.search, filters)
    return json_response({"entries": [{**e.to_dict(), "at": as_utc(e.at).isoformat()} for e in entries]})


async def audit_denials(ctx: Context) -> Response:
    """Refused requests (401, 403, failed logins), one entry per caller, target, reason and minute."""
    params = ctx.request.query_params
    filters = DenialFilter(
        actor=params.get("actor") or None,
        address=params.get("address") or None,
        action=params.get("action") or None,
        before_id=ctx.query_int("before"),
        limit=ctx.query_int("limit", 100, low=1, high=1000) or 100,
    )
    rows = await ctx.run(ctx.services.denials.search, filters)
    return json_response({"denials": [row.to_dict() for row in rows]})


async def stats(ctx: Context) -> Response:
    window = ctx.query_int("window", 10, low=1, high=3600) or 10
    table = await ctx.run(ctx.services.tables.active_table)
    figures = await ctx.run(ctx.services.observability.route_figures, table, window_s=window)
    return json_response({"version": table.version, "window_s": window, "routes": figures})


async def unmatched_paths(ctx: Context) -> Response:
    window = ctx.query_int("window", 300, low=1, high=3600) or 300
    limit = ctx.query_int("limit", 500, low=1, high=10_000) or 500
    found = await ctx.run(ctx.services.observability.unmatched_paths, window_s=window, limit=limit)
    return json_response(found)


async def series(ctx: Context) -> Response:
    seconds = ctx.query_int("seconds", 60, low=1, high=3600) or 60
    points = await ctx.run(
        ctx.services.observability.series, ctx.request.path_params["route"], seconds=seconds
    )
    return json_response({"route": ctx.request.path_params["route"], "points": points})


async def shadow_samples(ctx: Context) -> Response:
    samples = await ctx.run(
        ctx.services.observability.shadow_samples,
        route=ctx.request.query_params.get("route") or None,
        limit=ctx.query_int("limit", 50, low=1, high=500) or 50,
        before_id=ctx.query_int("before"),
    )
    return json_response({"samples": samples})


async def shadow_sample(ctx: Context) -> Response:
    sample_id = bounded_int(ctx.request.path_params["sample_id"], "shadow sample id", low=1)
    sample = await ctx.run(ctx.services.observability.shadow_sample, sample_id)
    if sample is None:
        raise NotFound(f"shadow sample {sample_id} does not exist")
    return json_response(sample)


async def failing_requests(ctx: Context) -> Response:
    """A route's recent failing requests (5xx answers), newest first, with their trace ids."""
    route = ctx.request.path_params["route"]
    found = await ctx.run(
        ctx.services.observability.failing_requests,
        route=route,
        limit=ctx.query_int("limit", 50, low=1, high=500) or 50,
        before_id=ctx.query_int("before"),
    )
    return json_response({"route": route, "requests": found})


async def workers(ctx: Context) -> Response:
    return json_response(await ctx.run(ctx.services.observability.workers))


async def guards(ctx: Context) -> Response:
    table = await ctx.run(ctx.services.tables.active_table)
    return json_response(
        {"version": table.version, "guards": await ctx.run(ctx.services.guards.overview, table)}
    )


async def upstreams(ctx: Context) -> Response:
    items = await ctx.run(ctx.services.upstreams.list)
    return json_response({"upstreams": [u.model_dump(mode="json") for u in items]})


async def upstream_health(ctx: Context) -> Response:
    return json_response({"upstreams": await ctx.services.upstreams.health()})


def routes(services: ControlPlaneServices) -> list[Route]:
    viewer = Role.VIEWER
    return [
        Route("/audit", endpoint(services, viewer, audit_log), methods=["GET"]),
        Route("/audit/denials", endpoint(services, viewer, audit_denials), methods=["GET"]),
        Route("/stats", endpoint(services, viewer, stats), methods=["GET"]),
        Route("/stats/unmatched-paths", endpoint(services, viewer, unmatched_paths), methods=["GET"]),
        Route("/stats/{route}/series", endpoint(services, viewer, series), methods=["GET"]),
        Route(
            "/stats/{route}/failing-requests",
            endpoint(services, viewer, failing_requests),
            methods=["GET"],
        ),
        Route("/shadow", endpoint(services, viewer, shadow_samples), methods=["GET"]),
        Route("/shadow/{sample_id}", endpoint(services, viewer, shadow_sample), methods=["GET"]),
        Route("/workers", endpoint(services, viewer, workers), methods=["GET"]),
        Route("/guards", endpoint(services, viewer, guards), methods=["GET"]),
        Route("/upstreams", endpoint(services, viewer, upstreams), methods=["GET"]),
        Route("/upstreams/health", endpoint(services, viewer, upstream_health), methods=["GET"]),
    ]
