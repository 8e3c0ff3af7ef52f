"""A route's guard in the admin UI: its settings shown and edited (role admin), audited as
``guard.configure`` with a reason, exactly as ``PUT /api/v1/guards/{route}`` is."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import ControlPlaneError, NotFound, Refused
from strangler_proxy.controlplane.security import client_address
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.service_layer.guards import GuardSettings
from strangler_proxy.controlplane.ui.changes import form_reason
from strangler_proxy.controlplane.ui.web import UI

__all__ = ["GUARD_FIELDS", "GuardViews"]

GUARD_FIELDS: tuple[tuple[str, str], ...] = (
    ("failing_windows", "consecutive failing 1-second windows that roll the route back"),
    ("min_requests", "new-side requests (or comparisons) a window needs to be judged"),
    ("max_error_rate", "5xx rate the new side may always have (0.01 = 1%)"),
    ("error_rate_delta", "5xx rate the new side may have above the legacy's"),
    ("latency_factor", "new p99 may be this many times the legacy p99"),
    ("latency_floor_ms", "p99 below this never fails a window"),
    ("min_parity", "shadow parity below this fails a window (0.95 = 95%)"),
)


def _guard(services: Any, route: str) -> dict[str, Any]:
    table = services.tables.active_table()
    for guard in services.guards.overview(table):
        if guard["route"] == route:
            return dict(guard)
    raise NotFound(f"route {route!r} is not in the active version")


class GuardViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/ui/routes/{name}/guard", self.form, methods=["GET"], name="ui-guard-form"),
            Route("/ui/routes/{name}/guard", self.save, methods=["POST"], name="ui-guard-save"),
        ]

    async def form(self, request: Request) -> Response:
        await self.ui.require(request, Role.VIEWER)
        name = request.path_params["name"]
        try:
            guard = await run_in_threadpool(_guard, self.ui.services, name)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Unknown route")
        principal = request.scope.get("strangler.principal")
        can_edit = principal is not None and principal.can(Role.ADMIN)
        return self.ui.render(
            request,
            "_guard_form.html",
            {"name": name, "guard": guard, "fields": GUARD_FIELDS, "can_edit": can_edit},
        )

    async def save(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request, Role.ADMIN)
        name = request.path_params["name"]
        services = self.ui.services
        try:
            reason = form_reason(form)
            await run_in_threadpool(_guard, services, name)
            wanted = {key: str(form.get(key, "")).strip() for key, _ in GUARD_FIELDS}
            try:
                settings = GuardSettings.model_validate({k: v for k, v in wanted.items() if v})
            except ValidationError as exc:
                problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
                raise Refused("guard settings refused", problems=problems) from exc
            enabled = form.get("enabled") == "on"
            saved = await run_in_threadpool(
                services.guards.configure, name, settings=settings.model_dump(), enabled=enabled
            )
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Not saved")
        await run_in_threadpool(
            services.audit.record,
            actor=principal.username,
            action="guard.configure",
            outcome="ok",
            address=client_address(request),
            target=name,
            reason=reason,
            evidence={"enabled": enabled, "settings": saved.model_dump()},
        )
        message = f"Guard of {name} saved: {'enabled' if enabled else 'disabled'}, " + ", ".join(
            f"{key} {value:g}" for key, value in saved.model_dump().items()
        )
        return self.ui.render(
            request,
            "_result.html",
            {"title": "Guard saved", "ok": True, "message": message, "problems": []},
            headers={"HX-Trigger": "routes-changed"},
        )
