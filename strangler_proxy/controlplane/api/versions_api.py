"""Versions: history, one version, the active one, publish a whole table, re-activate, diff."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.bodies import PublishBody, RollbackAllBody
from strangler_proxy.controlplane.api.context import Context, endpoint, json_response
from strangler_proxy.controlplane.api.serialize import pointer_dict, version_dict
from strangler_proxy.controlplane.errors import BadRequest
from strangler_proxy.controlplane.parsing import bounded_int
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices

__all__ = ["routes"]


async def list_versions(ctx: Context) -> Response:
    limit = ctx.query_int("limit", 50, low=1, high=500) or 50
    before = ctx.query_int("before")
    pointer, _ = await ctx.run(ctx.services.tables.active)
    records = await ctx.run(ctx.services.tables.history, limit=limit, before=before)
    return json_response(
        {
            "active": pointer_dict(pointer),
            "versions": [version_dict(r, with_table=False, active_id=pointer.version_id) for r in records],
        }
    )


async def active_version(ctx: Context) -> Response:
    pointer, record = await ctx.run(ctx.services.tables.active)
    # The pointer goes under its own key: ``active`` is the boolean every version answer carries.
    return json_response(
        {**version_dict(record, active_id=pointer.version_id), "pointer": pointer_dict(pointer)}
    )


async def get_version(ctx: Context) -> Response:
    version_id = _version_param(ctx)
    pointer, _ = await ctx.run(ctx.services.tables.active)
    record = await ctx.run(ctx.services.tables.version, version_id)
    return json_response(version_dict(record, active_id=pointer.version_id))


async def publish(ctx: Context) -> Response:
    body = await ctx.body(PublishBody)
    if body.dry_run:
        diff, problems = await ctx.run(ctx.services.tables.preview, body.table)
        return json_response(
            {"dry_run": True, "diff": diff.to_dict(), "problems": problems, "valid": not problems}
        )
    result = await ctx.run(
        ctx.services.publishing.publish,
        body.table,
        actor=ctx.actor,
        reason=body.reason,
        expected_version=body.expected_version,
    )
    return json_response(result.to_dict(), 201)


async def activate(ctx: Context) -> Response:
    """Re-activate a version. When that moves writes between sides it is a handover: fenced, waits for
    the old owner's sync (bounded), then 409 unless ``force``."""
    body = await ctx.body(RollbackAllBody)
    version_id = _version_param(ctx)
    result = await ctx.run(
        ctx.services.publishing.reactivate,
        version_id,
        actor=ctx.actor,
        reason=body.reason,
        expected_version=body.expected_version,
        force=body.force,
        wait_s=body.drain_timeout_s,
    )
    return json_response(result.to_dict())


async def diff(ctx: Context) -> Response:
    before = ctx.query_int("from", low=1)
    after = ctx.query_int("to", low=1)
    if before is None or after is None:
        raise BadRequest("give both versions: /diff?from=<version>&to=<version>")
    result = await ctx.run(ctx.services.tables.diff, before, after)
    return json_response(result.to_dict())


def _version_param(ctx: Context) -> int:
    return bounded_int(str(ctx.request.path_params["version"]).removeprefix("v"), "version", low=1)


def routes(services: ControlPlaneServices) -> list[Route]:
    viewer, operator = Role.VIEWER, Role.OPERATOR
    return [
        Route("/versions", endpoint(services, viewer, list_versions), methods=["GET"]),
        Route("/versions", endpoint(services, operator, publish), methods=["POST"]),
        Route("/versions/active", endpoint(services, viewer, active_version), methods=["GET"]),
        Route("/versions/{version}", endpoint(services, viewer, get_version), methods=["GET"]),
        Route("/versions/{version}/activate", endpoint(services, operator, activate), methods=["POST"]),
        Route("/diff", endpoint(services, viewer, diff), methods=["GET"]),
    ]
