"""The controls on each route of the routes page: flip (legacy / shadow / canary with a weight /
new), roll back (to legacy or to the previous version) and panic (every route to legacy). Each opens
a panel asking for a reason, previews the diff, and publishes only when confirmed."""

from __future__ import annotations

from typing import Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.ui.changes import (
    apply_change,
    form_drain_timeout,
    form_force,
    form_int,
    form_reason,
    form_text,
    preview_change,
)
from strangler_proxy.controlplane.ui.views_routes import find_row, parse_mode, route_state
from strangler_proxy.controlplane.ui.web import UI
from strangler_proxy.routes import ActionMode

__all__ = ["ControlsViews"]


def _rollback_to(value: str) -> Literal["previous", "legacy"]:
    if value not in ("previous", "legacy"):
        raise BadRequest(f"roll back to 'legacy' or 'previous', not {value!r}")
    return "previous" if value == "previous" else "legacy"


class ControlsViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/ui/routes/{name}/flip", self.flip_form, methods=["GET"], name="ui-flip-form"),
            Route(
                "/ui/routes/{name}/flip/preview", self.flip_preview, methods=["POST"], name="ui-flip-preview"
            ),
            Route("/ui/routes/{name}/flip", self.flip_apply, methods=["POST"], name="ui-flip-apply"),
            Route("/ui/routes/{name}/rollback", self.rollback_form, methods=["GET"], name="ui-rollback-form"),
            Route(
                "/ui/routes/{name}/rollback/preview",
                self.rollback_preview,
                methods=["POST"],
                name="ui-rollback-preview",
            ),
            Route(
                "/ui/routes/{name}/rollback", self.rollback_apply, methods=["POST"], name="ui-rollback-apply"
            ),
            Route("/ui/panic", self.panic_form, methods=["GET"], name="ui-panic-form"),
            Route("/ui/panic/preview", self.panic_preview, methods=["POST"], name="ui-panic-preview"),
            Route("/ui/panic", self.panic_apply, methods=["POST"], name="ui-panic-apply"),
        ]

    async def _form_panel(self, request: Request, template: str) -> Response:
        await self.ui.require(request, Role.OPERATOR)
        try:
            state = await run_in_threadpool(route_state, self.ui.services)
            row = find_row(state, request.path_params["name"])
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Unknown route")
        return self.ui.render(request, template, {"row": row, "new_upstreams": state["new_upstreams"]})

    # ---- flip --------------------------------------------------------------------------------------

    async def flip_form(self, request: Request) -> Response:
        return await self._form_panel(request, "_flip_form.html")

    @staticmethod
    def _flip_args(form: Any) -> dict[str, Any]:
        mode = parse_mode(form_text(form, "mode"))
        weight = form_int(form, "weight") if mode is ActionMode.CANARY else None
        if weight is not None and not 0 <= weight <= 100:
            raise BadRequest("the canary weight is a percentage from 0 to 100")
        upstream = (
            None if mode is ActionMode.LEGACY else (form_text(form, "upstream", required=False) or None)
        )
        return {"mode": mode, "weight": weight, "upstream": upstream}

    async def flip_preview(self, request: Request) -> Response:
        _principal, form = await self.ui.require_change(request)
        name = request.path_params["name"]
        try:
            args = self._flip_args(form)
            reason = form_reason(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Flip {name}")
        label = args["mode"].value + (f" {args['weight']}%" if args["mode"] is ActionMode.CANARY else "")
        return await preview_change(
            self.ui,
            request,
            title=f"Flip {name} to {label}",
            candidate=lambda: self.ui.services.tables.flip_candidate(name, **args),
            apply_url=str(request.app.url_path_for("ui-flip-apply", name=name)),
            reason=reason,
            fields={"mode": args["mode"].value, "weight": args["weight"], "upstream": args["upstream"]},
            button=f"Publish: {name} → {label}",
        )

    async def flip_apply(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request)
        name = request.path_params["name"]
        try:
            args = self._flip_args(form)
            reason = form_reason(form)
            expected = form_int(form, "expected_version")
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Flip {name}")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title=f"Flip {name}",
            publish=lambda: self.ui.services.publishing.flip(
                name, actor=actor, reason=reason, expected_version=expected, **args
            ),
        )

    # ---- roll back one route -----------------------------------------------------------------------

    async def rollback_form(self, request: Request) -> Response:
        return await self._form_panel(request, "_rollback_form.html")

    async def rollback_preview(self, request: Request) -> Response:
        _principal, form = await self.ui.require_change(request)
        name = request.path_params["name"]
        try:
            to = _rollback_to(form_text(form, "to"))
            reason = form_reason(form)
            force = form_force(form)
            drain_timeout_s = form_drain_timeout(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Roll back {name}")
        return await preview_change(
            self.ui,
            request,
            title=f"Roll back {name} to {'its previous version' if to == 'previous' else 'legacy'}",
            candidate=lambda: self.ui.services.tables.rollback_candidate(name, to=to),
            apply_url=str(request.app.url_path_for("ui-rollback-apply", name=name)),
            reason=reason,
            fields={"to": to, "force": "on" if force else "", "drain_timeout_s": drain_timeout_s},
            button=f"Roll back {name}",
            danger=True,
        )

    async def rollback_apply(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request)
        name = request.path_params["name"]
        try:
            to = _rollback_to(form_text(form, "to"))
            reason = form_reason(form)
            expected = form_int(form, "expected_version")
            force = form_force(form)
            drain_timeout_s = form_drain_timeout(form)
            services = self.ui.services
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Roll back {name}")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title=f"Roll back {name}",
            publish=lambda: services.publishing.rollback(
                actor=actor,
                reason=reason,
                route=name,
                to=to,
                expected_version=expected,
                force=force,
                wait_s=drain_timeout_s,
            ),
        )

    # ---- panic -------------------------------------------------------------------------------------

    async def panic_form(self, request: Request) -> Response:
        await self.ui.require(request, Role.OPERATOR)
        return self.ui.render(request, "_panic_form.html", {})

    async def panic_preview(self, request: Request) -> Response:
        _principal, form = await self.ui.require_change(request)
        try:
            reason = form_reason(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Panic")
        tables = self.ui.services.tables
        return await preview_change(
            self.ui,
            request,
            title="Panic: every route to legacy",
            candidate=tables.panic_candidate,
            apply_url=str(request.app.url_path_for("ui-panic-apply")),
            reason=reason,
            button="Panic: all to legacy now",
            danger=True,
        )

    async def panic_apply(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request)
        try:
            reason = form_reason(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Panic")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title="Panic: every route to legacy",
            publish=lambda: self.ui.services.publishing.panic(actor=actor, reason=reason),
        )
