"""What every UI view shares: the services, the templates, the signed-in user, role and CSRF checks.

Authentication, roles and CSRF are the control plane's (``security`` and AuthService, shared with the
JSON API, which also audits every refusal); this module only maps their answers to pages: no session
sends a page to the login form (htmx requests get ``HX-Redirect``), a wrong role or a state-changing
request without the session's CSRF token gets a 403 page or panel.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from strangler_proxy.controlplane.errors import ControlPlaneError, Forbidden, Unauthenticated
from strangler_proxy.controlplane.security import authenticate, check_csrf, client_address, require_role
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.auth import Principal, Role
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.controlplane.ui.live import LiveFeed

__all__ = ["UI", "Denied", "guarded"]


class Denied(Exception):
    """A view cannot go on; ``response`` says why (redirect to login, 403 page or fragment)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class UI:
    services: ControlPlaneServices
    templates: Jinja2Templates
    feed: LiveFeed

    # ---- rendering ---------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        principal: Principal | None = request.scope.get("strangler.principal")
        base: dict[str, Any] = {
            "user": None
            if principal is None
            else {"username": principal.username, "role": principal.role.label},
            "csrf_token": principal.csrf_token if principal else "",
            "can_operate": principal is not None and principal.can(Role.OPERATOR),
            "flash": None,
        }
        if principal is not None and "active_version" not in context:
            # The top bar shows the active version on every page, not only the pages that load it.
            base["active_version"] = self.services.tables.active()[0].version_id
        return self.templates.TemplateResponse(
            request, template, {**base, **context}, status_code=status_code, headers=dict(headers or {})
        )

    def error(self, request: Request, exc: ControlPlaneError, *, title: str = "Not published") -> Response:
        """The action panel showing a service-layer error, with its HTTP status."""
        return self.render(
            request,
            "_result.html",
            {"title": title, "ok": False, "message": exc.message, "problems": exc.problems},
            status_code=exc.status_code,
        )

    # ---- who is asking ------------------------------------------------------------------------------

    async def principal(self, request: Request) -> Principal | None:
        return await authenticate(request, self.services)

    async def require(self, request: Request, role: Role = Role.VIEWER) -> Principal:
        """The signed-in user holding at least ``role``; raises Denied otherwise (audited by security)."""
        try:
            return await require_role(request, self.services, role)
        except Unauthenticated:
            raise Denied(self._to_login(request)) from None
        except Forbidden as exc:
            raise Denied(self._refusal(request, "Not allowed", exc.message)) from None

    async def require_change(
        self, request: Request, role: Role = Role.OPERATOR
    ) -> tuple[Principal, FormData]:
        """For state-changing requests: the user (with ``role``) and the form, after the CSRF check."""
        principal = await self.require(request, role)
        try:
            await check_csrf(request, principal, self.services)
        except Forbidden as exc:
            raise Denied(
                self._refusal(request, "Refused", f"{exc.message}. Reload the page and try again.")
            ) from None
        return principal, await request.form()

    def _refusal(self, request: Request, title: str, message: str) -> Response:
        return self.render(
            request,
            "_result.html" if _is_htmx(request) else "denied.html",
            {"page_title": title, "title": title, "ok": False, "message": message, "problems": []},
            status_code=403,
        )

    @staticmethod
    def actor(request: Request, principal: Principal) -> Actor:
        return Actor(principal.username, client_address(request))

    def _to_login(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = str(request.app.url_path_for("ui-login")) + "?next=" + quote(target, safe="")
        if _is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login})
        if "text/event-stream" in request.headers.get("accept", ""):
            # EventSource gives up on a 401 (a redirect to an HTML page would make it retry forever).
            return Response("sign in again", status_code=401, media_type="text/plain")
        return RedirectResponse(login, status_code=303)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(endpoint: Endpoint) -> Endpoint:
    """Turn a Denied raised by ``endpoint`` into its response."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Denied as denied:
            return denied.response

    return wrapper
