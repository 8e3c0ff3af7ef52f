"""Request-level authentication, role checks and CSRF protection, shared by the JSON API and the UI.

    principal = await authenticate(request, services)          # bearer token, else session cookie
    principal = await require_role(request, services, Role.OPERATOR)   # 401 / 403, both audited
    await check_csrf(request, principal, services)               # unsafe methods: JSON or a CSRF token

A state-changing request passes the CSRF check when its content type is JSON (a cross-site form
cannot send that without a CORS preflight, which this server never grants) or when it carries the
session's CSRF token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field. A request whose
Origin header names another site is refused either way.

The session cookie is ``HttpOnly`` and ``SameSite=Strict``; over HTTPS (the request's scheme, or
``STRANGLER_ADMIN_HTTPS`` when TLS ends in front of the control plane) it is also ``Secure`` and named
``__Host-strangler_session``, which a browser only accepts from this very host, over HTTPS, for path /.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from strangler_proxy.controlplane.errors import Forbidden, Unauthenticated
from strangler_proxy.controlplane.service_layer.auth import Principal, Role, valid_username
from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.denials import MAX_PATH_CHARS, shorten

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SECURE_SESSION_COOKIE",
    "SESSION_COOKIE",
    "audit_login_denial",
    "authenticate",
    "check_csrf",
    "clear_session_cookie",
    "client_address",
    "require_role",
    "session_cookie",
    "set_session_cookie",
]

SESSION_COOKIE = "strangler_session"
SECURE_SESSION_COOKIE = "__Host-" + SESSION_COOKIE
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def authenticate(request: Request, services: ControlPlaneServices) -> Principal | None:
    """The caller, from a bearer token or else the session cookie; None when neither is valid."""
    cached = request.scope.get("strangler.principal")
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is not None:
        principal = await run_in_threadpool(services.tokens.principal, token)
    else:
        principal = await run_in_threadpool(services.sessions.principal, session_cookie(request, services))
    if principal is not None:
        request.scope["strangler.principal"] = principal
    return principal


async def require_role(request: Request, services: ControlPlaneServices, role: Role) -> Principal:
    """The caller when it holds ``role`` or more; otherwise audit the denial and raise 401 or 403."""
    principal = await authenticate(request, services)
    if principal is None:
        await _audit_denial(request, services, "anonymous", "not authenticated")
        if _bearer(request) is not None:
            raise Unauthenticated("the bearer token is not valid")
        raise Unauthenticated("log in or send a bearer token")
    if not principal.can(role):
        await _audit_denial(request, services, principal.username, f"needs role {role.label}")
        raise Forbidden(f"this needs the {role.label} role; {principal.username} is {principal.role.label}")
    return principal


async def check_csrf(request: Request, principal: Principal | None, services: ControlPlaneServices) -> None:
    """Refuse (403, audited) a state-changing request that is not JSON and carries no valid CSRF token."""
    if request.method in SAFE_METHODS:
        return
    actor = principal.username if principal else "anonymous"
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(origin, request):
        await _audit_denial(request, services, actor, "cross-site request (Origin names another site)")
        raise Forbidden(f"cross-site requests are refused (origin {origin})")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if (
        principal is not None
        and principal.via == "session"
        and services.sessions.csrf_matches(principal, presented)
    ):
        return
    await _audit_denial(request, services, actor, "missing or wrong CSRF token")
    raise Forbidden("state-changing requests need a JSON body or a valid CSRF token")


def _same_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.headers.get("host", "").lower()


def denied_target(request: Request) -> str:
    """What a refused request asked for, bounded: its method and the template of the route that
    refused it (``GET /api/v1/versions/{version}``), or its path cut short when no route matched."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        where = request.scope.get("root_path", "") + template
    else:
        where = shorten(request.url.path, MAX_PATH_CHARS)
    return f"{shorten(request.method, 16)} {where}"


async def _audit_denial(request: Request, services: ControlPlaneServices, actor: str, why: str) -> None:
    await run_in_threadpool(
        services.denials.record,
        actor=actor,
        action="auth",
        address=client_address(request),
        target=denied_target(request),
        reason=why,
    )


async def audit_login_denial(
    request: Request, services: ControlPlaneServices, *, username: str | None, why: str
) -> None:
    """Count a refused login. The actor is ``anonymous`` (the caller chose the name); the name tried is
    the target when it is a valid user name and its password was checked (``username``), else ``-``."""
    target = f"user {username}" if username and valid_username(username) else "-"
    await run_in_threadpool(
        services.denials.record,
        actor="anonymous",
        action="login",
        address=client_address(request),
        target=target,
        reason=why,
    )


def _secure(request: Request, services: ControlPlaneServices) -> bool:
    return request.url.scheme == "https" or services.settings.admin_https


def session_cookie(request: Request, services: ControlPlaneServices) -> str | None:
    """The session cookie's value: over HTTPS only the ``__Host-`` one counts."""
    if _secure(request, services):
        return request.cookies.get(SECURE_SESSION_COOKIE)
    return request.cookies.get(SESSION_COOKIE)


def set_session_cookie(
    request: Request, response: Response, value: str, services: ControlPlaneServices
) -> None:
    secure = _secure(request, services)
    response.set_cookie(
        SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        value,
        max_age=services.sessions.max_age_s,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session_cookie(request: Request, response: Response, services: ControlPlaneServices) -> None:
    secure = _secure(request, services)
    response.delete_cookie(
        SECURE_SESSION_COOKIE if secure else SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
