"""Login and logout (server-side session), who am I, and personal API tokens.

POST   /session {username, password}         opens a session (cookie) and answers its CSRF token
POST   /session {username, password, token: {name, scope?, expires_in_s?}}
                                             no session: answers a new API token (201), audited
                                             as one ``login`` row (``strangler login``)
GET    /session                              who am I
DELETE /session                              ends this session (the cookie stops working at once)
GET    /tokens[?user=<name>|*]               my tokens (admins: anyone's, or everyone's with *)
POST   /tokens {name, scope?, expires_in_s?}  a new token: scope viewer|operator|admin (default and
                                             at most my role), expiry in seconds (default 30 days,
                                             at most 365 days); the plain text is in this answer only
DELETE /tokens/{id}                          revoke one of my tokens (admins: anyone's)
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from strangler_proxy.controlplane.api.bodies import LoginBody, TokenBody
from strangler_proxy.controlplane.api.context import Context, endpoint, json_response, validation_problems
from strangler_proxy.controlplane.errors import (
    BadRequest,
    Forbidden,
    Refused,
    TooManyRequests,
    Unauthenticated,
)
from strangler_proxy.controlplane.headers import NO_STORE
from strangler_proxy.controlplane.parsing import bounded_int, load_json
from strangler_proxy.controlplane.repositories.users import UserRecord
from strangler_proxy.controlplane.security import (
    audit_login_denial,
    check_csrf,
    clear_session_cookie,
    client_address,
    session_cookie,
    set_session_cookie,
)
from strangler_proxy.controlplane.service_layer.auth import Principal, Role
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices

__all__ = ["routes"]


def _whoami(principal: Principal) -> dict[str, object]:
    return {
        "username": principal.username,
        "role": principal.role.label,
        "via": principal.via,
        "csrf_token": principal.csrf_token,
        "token_id": principal.token_id,
    }


def login_endpoint(services: ControlPlaneServices):
    async def login(request: Request) -> Response:
        """Check a username and password; answer with a session cookie and its CSRF token."""
        await check_csrf(request, None, services)
        try:
            body = LoginBody.model_validate(load_json(await request.body()))
        except ValueError as exc:
            problems = validation_problems(exc) if isinstance(exc, ValidationError) else [str(exc)]
            raise Refused('send {"username": ..., "password": ...}', problems=problems) from exc
        address = client_address(request)

        try:
            user = await run_in_threadpool(
                services.auth.check_password, body.username, body.password, address
            )
        except TooManyRequests:
            await audit_login_denial(request, services, username=None, why="too many failed logins")
            raise
        if user is None:
            await audit_login_denial(
                request, services, username=body.username, why="wrong user name or password"
            )
            raise Unauthenticated("wrong username or password")
        if body.token is not None:
            return await _login_with_token(services, user, body.token, address)
        cookie = await run_in_threadpool(services.sessions.open, user, address=address)
        principal = await run_in_threadpool(services.sessions.principal, cookie)
        if principal is None:
            raise BadRequest("the session could not be opened")
        await run_in_threadpool(
            services.audit.record, actor=user.username, action="login", outcome="ok", address=address
        )
        response = json_response(_whoami(principal))
        set_session_cookie(request, response, cookie, services)
        return response

    return login


async def _login_with_token(
    services: ControlPlaneServices, user: UserRecord, wanted: TokenBody, address: str | None
) -> Response:
    """Answer a new API token for ``user`` instead of a session, recorded as one ``login`` row."""
    own = Role.parse(user.role)
    scope = Role.parse(wanted.scope) if wanted.scope else own
    if scope > own:
        raise Forbidden(f"a token cannot do more than its user: {user.username} is {own.label}")
    issued = await run_in_threadpool(
        services.tokens.issue, user, wanted.name, scope=scope, ttl_s=wanted.expires_in_s
    )
    expires_at = str(issued.record.expires_at)
    await run_in_threadpool(
        services.audit.record,
        actor=user.username,
        action="login",
        outcome="ok",
        address=address,
        target=wanted.name,
        evidence={"via": "token", "id": issued.record.id, "scope": scope.label, "expires_at": expires_at},
    )
    document = {
        **issued.record.public(),
        "username": user.username,
        "role": scope.label,
        "via": "token",
        "token": issued.token,
    }
    return JSONResponse(document, status_code=201, headers=NO_STORE)


async def whoami(ctx: Context) -> Response:
    return json_response(_whoami(ctx.principal))


async def logout(ctx: Context) -> Response:
    """End the caller's session on the server (a bearer token is revoked with DELETE /tokens/{id})."""
    await ctx.run(ctx.services.sessions.end, session_cookie(ctx.request, ctx.services))
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action="logout",
        outcome="ok",
        address=ctx.actor.address,
    )
    response = json_response({"status": "logged out"})
    clear_session_cookie(ctx.request, response, ctx.services)
    return response


async def create_token(ctx: Context) -> Response:
    body = await ctx.body(TokenBody)
    user = await ctx.run(ctx.services.auth.get_user, ctx.principal.user_id)
    scope = Role.parse(body.scope) if body.scope else ctx.principal.role
    if scope > ctx.principal.role:
        raise Forbidden(f"a token cannot do more than its creator ({ctx.principal.role.label})")
    issued = await ctx.run(ctx.services.tokens.issue, user, body.name, scope=scope, ttl_s=body.expires_in_s)
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action="token.create",
        outcome="ok",
        address=ctx.actor.address,
        target=body.name,
        evidence={"id": issued.record.id, "scope": scope.label, "expires_at": str(issued.record.expires_at)},
    )
    document = {**issued.record.public(), "token": issued.token, "role": scope.label}
    return JSONResponse(document, status_code=201, headers=NO_STORE)


async def list_tokens(ctx: Context) -> Response:
    wanted = ctx.request.query_params.get("user")
    if wanted is None or wanted == ctx.principal.username:
        user_id: int | None = ctx.principal.user_id
    elif not ctx.principal.can(Role.ADMIN):
        raise Forbidden("only admins list other users' tokens")
    elif wanted == "*":
        user_id = None
    else:
        user_id = (await ctx.run(ctx.services.auth.get_user_by_name, wanted)).id
    tokens = await ctx.run(ctx.services.tokens.list, user_id)
    return json_response({"tokens": [t.public() for t in tokens]})


async def revoke_token(ctx: Context) -> Response:
    token_id = bounded_int(ctx.request.path_params["token_id"], "token id", low=1)
    record = await ctx.run(ctx.services.tokens.revoke, token_id, by=ctx.principal)
    await ctx.run(
        ctx.services.audit.record,
        actor=ctx.principal.username,
        action="token.revoke",
        outcome="ok",
        address=ctx.actor.address,
        target=record.name,
        evidence={"id": record.id, "user": record.username},
    )
    return json_response({"status": "revoked", "id": token_id})


def routes(services: ControlPlaneServices) -> list[Route]:
    viewer = Role.VIEWER
    return [
        Route("/session", login_endpoint(services), methods=["POST"]),
        Route("/session", endpoint(services, viewer, whoami), methods=["GET"]),
        Route("/session", endpoint(services, viewer, logout), methods=["DELETE"]),
        Route("/tokens", endpoint(services, viewer, list_tokens), methods=["GET"]),
        Route("/tokens", endpoint(services, viewer, create_token), methods=["POST"]),
        Route("/tokens/{token_id}", endpoint(services, viewer, revoke_token), methods=["DELETE"]),
    ]
