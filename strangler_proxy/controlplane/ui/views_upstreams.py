"""The upstream registry: every upstream a route may name, its health, and (admins) registration."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import ControlPlaneError
from strangler_proxy.controlplane.security import client_address
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.publishing import Actor
from strangler_proxy.controlplane.service_layer.upstream_moves import register_upstream
from strangler_proxy.controlplane.ui.changes import form_text
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["UpstreamsViews"]


class UpstreamsViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/upstreams", self.page, methods=["GET"], name="ui-upstreams"),
            Route("/upstreams", self.register, methods=["POST"], name="ui-upstreams-register"),
        ]

    async def _context(self, request: Request) -> dict[str, Any]:
        services = self.ui.services
        table = await run_in_threadpool(services.tables.active_table)
        health = await services.upstreams.health()
        users: dict[str, list[str]] = {}
        for rule in table.rules:
            if rule.action.upstream:
                users.setdefault(rule.action.upstream, []).append(rule.name)
        principal = await self.ui.principal(request)
        return {
            "page_title": "Upstreams",
            "nav": "upstreams",
            "upstreams": [{**h, "routes": users.get(h["name"], [])} for h in health],
            "can_admin": principal is not None and principal.can(Role.ADMIN),
        }

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        return self.ui.render(request, "upstreams.html", await self._context(request))

    async def register(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request, Role.ADMIN)
        services = self.ui.services
        try:
            name = form_text(form, "name")
            registration = await run_in_threadpool(
                register_upstream,
                services.upstreams,
                services.publishing,
                {"name": name, "url": form_text(form, "url")},
                actor=Actor(principal.username, client_address(request)),
            )
            upstream, created = registration.upstream, registration.created
        except ControlPlaneError as exc:
            context = await self._context(request)
            error = {"message": exc.message, "problems": exc.problems}
            return self.ui.render(
                request,
                "upstreams.html",
                {**context, "error": error, "form": dict(form)},
                status_code=exc.status_code,
            )
        await run_in_threadpool(
            services.audit.record,
            actor=principal.username,
            action="upstream.save",
            outcome="ok",
            address=client_address(request),
            target=upstream.name,
            evidence={"url": upstream.url, "created": created},
        )
        context = await self._context(request)
        verb = "Registered" if created else "Updated"
        text = f"{verb} {upstream.name}."
        if registration.published is not None:
            text += f" Published version {registration.published.version}: the routes use the new address."
        return self.ui.render(request, "upstreams.html", {**context, "flash": {"kind": "ok", "text": text}})
