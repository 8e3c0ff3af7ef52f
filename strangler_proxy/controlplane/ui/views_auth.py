"""Sign in and out: the login form opens a session through AuthService and sets the session cookie."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import TooManyRequests
from strangler_proxy.controlplane.security import (
    audit_login_denial,
    clear_session_cookie,
    client_address,
    session_cookie,
    set_session_cookie,
)
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["AuthViews"]


def _safe_next(value: object) -> str:
    """Only a local path may follow the login (no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _cross_site(request: Request) -> bool:
    """A form posted from another site: the browser says so, or the Origin is not ours."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = request.headers.get("origin")
    return bool(origin) and origin != f"{request.url.scheme}://{request.url.netloc}"


class AuthViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_form, methods=["GET"], name="ui-login"),
            Route("/login", self.login, methods=["POST"], name="ui-login-submit"),
            Route("/logout", self.logout, methods=["POST"], name="ui-logout"),
        ]

    async def login_form(self, request: Request) -> Response:
        if await self.ui.principal(request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return self._form(request, next_url=_safe_next(request.query_params.get("next")))

    def _form(
        self,
        request: Request,
        *,
        next_url: str,
        error: str | None = None,
        username: str = "",
        status_code: int = 200,
    ) -> Response:
        return self.ui.render(
            request,
            "login.html",
            {"page_title": "Sign in", "next_url": next_url, "error": error, "username": username},
            status_code=status_code,
        )

    async def login(self, request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username") or "").strip()[:150]
        password = str(form.get("password") or "")
        next_url = _safe_next(form.get("next"))
        address = client_address(request)
        services = self.ui.services
        if _cross_site(request):
            await audit_login_denial(request, services, username=None, why="cross-site login form")
            return self._form(
                request, next_url=next_url, error="Sign in from this site's own form.", status_code=403
            )
        try:
            user = await run_in_threadpool(services.auth.check_password, username, password, address)
        except TooManyRequests as exc:
            await audit_login_denial(request, services, username=None, why="too many failed logins")
            return self._form(
                request, next_url=next_url, error=exc.message, username=username, status_code=429
            )
        if user is None:
            await audit_login_denial(request, services, username=username, why="wrong user name or password")
            return self._form(
                request,
                next_url=next_url,
                error="Wrong user name or password.",
                username=username,
                status_code=401,
            )
        await run_in_threadpool(
            services.audit.record, actor=user.username, action="login", outcome="ok", address=address
        )
        cookie = await run_in_threadpool(services.sessions.open, user, address=address)
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(request, response, cookie, services)
        return response

    async def logout(self, request: Request) -> Response:
        principal, _form = await self.ui.require_change(request, Role.VIEWER)
        services = self.ui.services
        await run_in_threadpool(services.sessions.end, session_cookie(request, services))
        await run_in_threadpool(
            self.ui.services.audit.record,
            actor=principal.username,
            action="logout",
            outcome="ok",
            address=client_address(request),
        )
        response = RedirectResponse(str(request.app.url_path_for("ui-login")), status_code=303)
        clear_session_cookie(request, response, services)
        return response
