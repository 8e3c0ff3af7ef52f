"""Login and logout (session cookie), who am I, and personal API tokens."""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.bodies import LoginBody, TokenBody
from strangler_proxy.controlplane.api.context import Context, endpoint, json_response, validation_problems
from strangler_proxy.controlplane.errors import BadRequest, Refused, TooManyRequests, Unauthenticated
from strangler_proxy.controlplane.security import (
    check_csrf,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from strangler_proxy.controlplane.services.auth import Principal, Role
from strangler_proxy.controlplane.services.composition import ControlPlaneServices

__all__ = ["routes"]


def _whoami(principal: Principal) -> dict[str, object]:
    return {
        "username": principal.username,
        "role": principal.role.label,
        "via": principal.via,
        "csrf_token": principal.csrf_token,
    }


def login_endpoint(services: ControlPlaneServices):
    async def login(request: Request) -> Response:
        """Check a username and password; answer with a session cookie and its CSRF token."""
        await check_csrf(request, None, services)
        try:
            body = LoginBody.model_validate(json.loads(await request.body() or b"{}"))
        except ValueError as exc:
            problems = validation_problems(exc) if isinstance(exc, ValidationError) else [str(exc)]
            raise Refused('send {"username": ..., "password": ...}', problems=problems) from exc
        address = client_address(request)

        async def deny(why: str) -> None:
            await run_in_threadpool(
                services.audit.record,
                actor=body.username[:150] or "anonymous",
                action="login",
                outcome="denied",
                address=address,
                reason=why,
            )

        try:
            user = await run_in_threadpool(services.auth.check_password, body.username, body.password)
        except TooManyRequests as exc:
            await deny(exc.message)
            raise
        if user is None:
            await deny("wrong username or password")
            raise Unauthenticated("wrong username or password")
        cookie = services.auth.open_session(user)
        principal = await run_in_threadpool(services.auth.session_principal, cookie)
        if principal is None:
            raise BadRequest("the session could not be opened")
        await run_in_threadpool(
            services.audit.record, actor=user.username, action="login", outcome="ok", address=address
        )
        response = json_response(_whoami(principal))
        set_session_cookie(response, cookie, services)
        return response

    return login


async def whoami(ctx: Context) -> Response:
    return json_response(_whoami(ctx.principal))


async def logout(ctx: Context) -> Response:
    response = json_response({"status": "logged out"})
    clear_session_cookie(response)
    return response


async def create_token(ctx: Context) -> Response:
    body = await ctx.body(TokenBody)
    token = await ctx.run(ctx.services.auth.issue_token, ctx.principal.user_id, body.name)
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action="token.create",
        outcome="ok",
        address=ctx.actor.address,
        target=body.name,
    )
    return json_response({"token": token, "name": body.name, "role": ctx.principal.role.label}, 201)


async def list_tokens(ctx: Context) -> Response:
    tokens = await ctx.run(ctx.services.auth.list_tokens, ctx.principal.user_id)
    return json_response(
        {
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "created_at": t.created_at.isoformat(),
                    "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                }
                for t in tokens
            ]
        }
    )


async def revoke_token(ctx: Context) -> Response:
    token_id = int(ctx.request.path_params["token_id"])
    await ctx.run(ctx.services.auth.revoke_token, ctx.principal.user_id, token_id)
    return json_response({"status": "revoked", "id": token_id})


def routes(services: ControlPlaneServices) -> list[Route]:
    viewer = Role.VIEWER
    return [
        Route("/session", login_endpoint(services), methods=["POST"]),
        Route("/session", endpoint(services, viewer, whoami), methods=["GET"]),
        Route("/session", endpoint(services, viewer, logout), methods=["DELETE"]),
        Route("/tokens", endpoint(services, viewer, list_tokens), methods=["GET"]),
        Route("/tokens", endpoint(services, viewer, create_token), methods=["POST"]),
        Route("/tokens/{token_id:int}", endpoint(services, viewer, revoke_token), methods=["DELETE"]),
    ]
