"""Routes of the active table: list with live figures, add, remove, flip, roll back; panic."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.bodies import (
    AddRouteBody,
    ChangeBody,
    FlipBody,
    ResolveConflictBody,
    RollbackAllBody,
    RollbackBody,
)
from strangler_proxy.controlplane.api.context import Context, endpoint, json_response
from strangler_proxy.controlplane.api.serialize import pointer_dict
from strangler_proxy.controlplane.errors import NotFound
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices
from strangler_proxy.routes import RouteTable

__all__ = ["routes"]


async def _preview(ctx: Context, candidate: RouteTable) -> Response:
    diff, problems = await ctx.run(ctx.services.tables.preview, candidate)
    return json_response(
        {"dry_run": True, "diff": diff.to_dict(), "problems": problems, "valid": not problems}
    )


async def list_routes(ctx: Context) -> Response:
    window = ctx.query_int("window", 10, low=1, high=3600) or 10
    pointer, record = await ctx.run(ctx.services.tables.active)
    figures = await ctx.run(ctx.services.observability.route_figures, record.table, window_s=window)
    guards = {g["route"]: g for g in await ctx.run(ctx.services.guards.overview, record.table)}
    for entry in figures:
        entry["guard"] = guards.get(entry["route"])
    return json_response({"active": pointer_dict(pointer), "routes": figures})


async def get_route(ctx: Context) -> Response:
    name = ctx.request.path_params["name"]
    pointer, record = await ctx.run(ctx.services.tables.active)
    rule = record.table.rule(name)
    if rule is None:
        raise NotFound(f"route {name!r} is not in the active version {pointer.version_id}")
    return json_response({"version": pointer.version_id, "rule": rule.model_dump(mode="json")})


async def add_route(ctx: Context) -> Response:
    body = await ctx.body(AddRouteBody)
    if body.dry_run:
        return await _preview(
            ctx, await ctx.run(ctx.services.tables.add_route_candidate, body.rule, position=body.position)
        )
    result = await ctx.run(
        ctx.services.publishing.add_route,
        body.rule,
        actor=ctx.actor,
        reason=body.reason,
        position=body.position,
        expected_version=body.expected_version,
    )
    return json_response(result.to_dict(), 201)


async def remove_route(ctx: Context) -> Response:
    body = await ctx.body(ChangeBody)
    result = await ctx.run(
        ctx.services.publishing.remove_route,
        ctx.request.path_params["name"],
        actor=ctx.actor,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return json_response(result.to_dict())


async def flip_route(ctx: Context) -> Response:
    body = await ctx.body(FlipBody)
    name = ctx.request.path_params["name"]
    if body.dry_run:
        candidate = await ctx.run(
            ctx.services.tables.flip_candidate,
            name,
            mode=body.mode,
            weight=body.weight,
            upstream=body.upstream,
            mirror_unsafe_methods=body.mirror_unsafe_methods,
        )
        return await _preview(ctx, candidate)
    result = await ctx.run(
        ctx.services.publishing.flip,
        name,
        mode=body.mode,
        weight=body.weight,
        upstream=body.upstream,
        mirror_unsafe_methods=body.mirror_unsafe_methods,
        actor=ctx.actor,
        reason=body.reason,
        expected_version=body.expected_version,
        force=body.force,
        wait_s=body.drain_timeout_s,
    )
    return json_response(result.to_dict())


async def rollback_route(ctx: Context) -> Response:
    body = await ctx.body(RollbackBody)
    name = ctx.request.path_params["name"]
    if body.dry_run:
        return await _preview(ctx, await ctx.run(ctx.services.tables.rollback_candidate, name, to=body.to))
    result = await ctx.run(
        ctx.services.publishing.rollback,
        actor=ctx.actor,
        reason=body.reason,
        route=name,
        to=body.to,
        expected_version=body.expected_version,
        force=body.force,
        wait_s=body.drain_timeout_s,
    )
    return json_response(result.to_dict())


async def sync_lag(ctx: Context) -> Response:
    """Sync lag per direction: forward, reverse, reverse:<service>... (``null`` when unknown)."""
    return json_response(await ctx.run(ctx.services.sync_lag.snapshot))


async def rollback_all(ctx: Context) -> Response:
    """The whole table back to the version active before this one (a pointer swap); when that moves
    writes between sides it is a handover (fenced, waits for the old owner's sync, 409 unless ``force``)."""
    body = await ctx.body(RollbackAllBody)
    result = await ctx.run(
        ctx.services.publishing.rollback_all,
        actor=ctx.actor,
        reason=body.reason,
        expected_version=body.expected_version,
        force=body.force,
        wait_s=body.drain_timeout_s,
    )
    return json_response(result.to_dict())


async def panic(ctx: Context) -> Response:
    """Every route to legacy."""
    body = await ctx.body(ChangeBody)
    result = await ctx.run(ctx.services.publishing.panic, actor=ctx.actor, reason=body.reason)
    return json_response(result.to_dict())


async def sync_conflicts(ctx: Context) -> Response:
    """Every side's conflict queue (``?all=1`` includes the resolved ones)."""
    open_only = ctx.request.query_params.get("all") not in ("1", "true")
    return json_response(await ctx.run(ctx.services.sync_conflicts.overview, open_only=open_only))


async def resolve_sync_conflict(ctx: Context) -> Response:
    """Record the operator's choice for one parked change (audited)."""
    body = await ctx.body(ResolveConflictBody)
    side = ctx.request.path_params["side"]
    conflict_id = int(ctx.request.path_params["conflict_id"])
    resolved = await ctx.run(
        ctx.services.sync_conflicts.resolve,
        side,
        conflict_id,
        resolution=body.keep,
        by=ctx.principal.username,
    )
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action="sync.conflict.resolve",
        outcome="ok",
        address=ctx.actor.address,
        target=f"{side}/{conflict_id}",
        reason=body.reason,
        evidence={"conflict": resolved},
    )
    return json_response(resolved)


def routes(services: ControlPlaneServices) -> list[Route]:
    viewer, operator = Role.VIEWER, Role.OPERATOR
    return [
        Route("/routes", endpoint(services, viewer, list_routes), methods=["GET"]),
        Route("/routes", endpoint(services, operator, add_route), methods=["POST"]),
        Route("/routes/{name}", endpoint(services, viewer, get_route), methods=["GET"]),
        Route("/routes/{name}", endpoint(services, operator, remove_route), methods=["DELETE"]),
        Route("/routes/{name}/flip", endpoint(services, operator, flip_route), methods=["POST"]),
        Route("/routes/{name}/rollback", endpoint(services, operator, rollback_route), methods=["POST"]),
        Route("/rollback", endpoint(services, operator, rollback_all), methods=["POST"]),
        Route("/panic", endpoint(services, operator, panic), methods=["POST"]),
        Route("/sync/lag", endpoint(services, viewer, sync_lag), methods=["GET"]),
        Route("/sync/conflicts", endpoint(services, viewer, sync_conflicts), methods=["GET"]),
        Route(
            "/sync/conflicts/{side}/{conflict_id:int}/resolve",
            endpoint(services, operator, resolve_sync_conflict),
            methods=["POST"],
        ),
    ]
