"""Administration (role admin): users, upstreams, guard rules; and tester override tokens (operator)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.bodies import (
    GuardBody,
    OverrideBody,
    UpstreamBody,
    UserBody,
    UserPatchBody,
)
from strangler_proxy.controlplane.api.context import Context, endpoint, json_response, validation_problems
from strangler_proxy.controlplane.errors import Refused
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.upstream_moves import register_upstream

__all__ = ["routes"]


async def _audit(ctx: Context, action: str, target: str, **extra: object) -> None:
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action=action,
        outcome="ok",
        address=ctx.actor.address,
        target=target,
        evidence=dict(extra) or None,
    )


async def list_users(ctx: Context) -> Response:
    users = await ctx.run(ctx.services.auth.list_users)
    return json_response({"users": [u.public() for u in users]})


async def create_user(ctx: Context) -> Response:
    body = await ctx.body(UserBody)
    user = await ctx.run(ctx.services.auth.create_user, body.username, body.password, Role.parse(body.role))
    await _audit(ctx, "user.create", user.username, role=user.role)
    return json_response(user.public(), 201)


async def update_user(ctx: Context) -> Response:
    body = await ctx.body(UserPatchBody)
    user = await ctx.run(
        ctx.services.auth.update_user,
        ctx.request.path_params["username"],
        role=Role.parse(body.role) if body.role else None,
        disabled=body.disabled,
        password=body.password,
    )
    await _audit(
        ctx,
        "user.update",
        user.username,
        role=body.role,
        disabled=body.disabled,
        password_changed=bool(body.password),
    )
    return json_response(user.public())


async def save_upstream(ctx: Context) -> Response:
    body = await ctx.body(UpstreamBody)
    name = ctx.request.path_params["name"]
    data: dict[str, object] = {"name": name, "url": body.url}
    if body.breaker is not None:
        data["breaker"] = body.breaker
    services = ctx.services
    registration = await ctx.run(
        register_upstream, services.upstreams, services.publishing, data, actor=ctx.actor
    )
    upstream, created = registration.upstream, registration.created
    await _audit(ctx, "upstream.save", name, url=upstream.url, created=created)
    document = upstream.model_dump(mode="json")
    if registration.published is not None:
        document["published"] = registration.published.to_dict()
    return json_response(document, 201 if created else 200)


async def delete_upstream(ctx: Context) -> Response:
    name = ctx.request.path_params["name"]
    table = await ctx.run(ctx.services.tables.active_table)
    await ctx.run(ctx.services.upstreams.delete, name, table)
    await _audit(ctx, "upstream.delete", name)
    return json_response({"status": "deleted", "name": name})


async def configure_guard(ctx: Context) -> Response:
    body = await ctx.body(GuardBody)
    route = ctx.request.path_params["route"]
    try:
        settings = await ctx.run(
            ctx.services.guards.configure, route, settings=body.settings, enabled=body.enabled
        )
    except ValidationError as exc:
        raise Refused("guard settings refused", problems=validation_problems(exc)) from exc
    await _audit(ctx, "guard.configure", route, enabled=body.enabled, settings=settings.model_dump())
    return json_response({"route": route, "enabled": body.enabled, "settings": settings.model_dump()})


async def override_token(ctx: Context) -> Response:
    body = await ctx.body(OverrideBody)
    minted = await ctx.run(ctx.services.overrides.mint, body.side, body.ttl_s)
    await _audit(ctx, "override.mint", body.side, expires_at=minted["expires_at"])
    return json_response(minted, 201)


def routes(services: ControlPlaneServices) -> list[Route]:
    admin, operator = Role.ADMIN, Role.OPERATOR
    return [
        Route("/users", endpoint(services, admin, list_users), methods=["GET"]),
        Route("/users", endpoint(services, admin, create_user), methods=["POST"]),
        Route("/users/{username}", endpoint(services, admin, update_user), methods=["PATCH"]),
        Route("/upstreams/{name}", endpoint(services, admin, save_upstream), methods=["PUT"]),
        Route("/upstreams/{name}", endpoint(services, admin, delete_upstream), methods=["DELETE"]),
        Route("/guards/{route}", endpoint(services, admin, configure_guard), methods=["PUT"]),
        Route("/override-token", endpoint(services, operator, override_token), methods=["POST"]),
    ]
