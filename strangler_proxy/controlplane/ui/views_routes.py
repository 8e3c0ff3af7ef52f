"""The routes page: every rule with its mode and live figures, and the controls that change it
(add a route, flip, roll back, panic), each asking for a reason and previewing the diff first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError, NotFound
from strangler_proxy.controlplane.services import derive
from strangler_proxy.controlplane.services.auth import Role
from strangler_proxy.controlplane.ui.changes import (
    apply_change,
    form_int,
    form_reason,
    form_text,
    preview_change,
)
from strangler_proxy.controlplane.ui.web import UI
from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, RouteTable, Rule, RuleAction, RuleMatch

__all__ = ["RouteRow", "RoutesViews"]


@dataclass(frozen=True)
class RouteRow:
    name: str
    path: str
    kind: str
    methods: str
    mode: str
    upstream: str | None
    weight: int
    guard: str


def _rows(table: RouteTable, guards: dict[str, str]) -> list[RouteRow]:
    return [
        RouteRow(
            name=rule.name,
            path=rule.match.path,
            kind=rule.match.kind.value,
            methods=" ".join(sorted(rule.match.methods)) if rule.match.methods else "",
            mode=rule.action.mode.value,
            upstream=rule.action.upstream,
            weight=rule.action.weight,
            guard=guards.get(rule.name, "idle"),
        )
        for rule in table.rules
    ]


def _mode(value: str) -> ActionMode:
    try:
        return ActionMode(value)
    except ValueError:
        raise BadRequest(f"unknown mode {value!r}; use legacy, shadow, canary or new") from None


def _rollback_to(value: str) -> Literal["previous", "legacy"]:
    if value not in ("previous", "legacy"):
        raise BadRequest(f"roll back to 'legacy' or 'previous', not {value!r}")
    return "previous" if value == "previous" else "legacy"


class RoutesViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page, methods=["GET"], name="ui-routes"),
            Route("/ui/routes/table", self.table, methods=["GET"], name="ui-routes-table"),
            Route(
                "/ui/route-create/preview",
                self.create_preview,
                methods=["POST"],
                name="ui-route-create-preview",
            ),
            Route("/ui/route-create", self.create_apply, methods=["POST"], name="ui-route-create-apply"),
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

    # ---- reads -------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        services = self.ui.services
        pointer, record = services.publishing.active()
        guards = {g["route"]: g["status"] for g in services.guards.overview(record.table)}
        new_upstreams = [u.name for u in services.upstreams.list() if u.name != LEGACY]
        return {
            "active_version": pointer.version_id,
            "generation": pointer.generation,
            "routes": _rows(record.table, guards),
            "new_upstreams": new_upstreams,
        }

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        state = await run_in_threadpool(self._state)
        return self.ui.render(request, "routes.html", {"page_title": "Routes", "nav": "routes", **state})

    async def table(self, request: Request) -> Response:
        await self.ui.require(request)
        state = await run_in_threadpool(self._state)
        return self.ui.render(request, "_routes_table.html", state)

    async def _row(self, name: str) -> tuple[RouteRow, list[str]]:
        state = await run_in_threadpool(self._state)
        for row in state["routes"]:
            if row.name == name:
                return row, state["new_upstreams"]
        raise NotFound(f"route {name!r} is not in the active version v{state['active_version']}")

    async def _form_panel(self, request: Request, template: str) -> Response:
        await self.ui.require(request, Role.OPERATOR)
        try:
            row, new_upstreams = await self._row(request.path_params["name"])
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Unknown route")
        return self.ui.render(request, template, {"row": row, "new_upstreams": new_upstreams})

    # ---- add a route -------------------------------------------------------------------------------

    @staticmethod
    def _new_rule(form: Any) -> Rule:
        name = form_text(form, "name")
        upstream = form_text(form, "upstream", required=False) or None
        mode = _mode(form_text(form, "mode", required=False) or "legacy")
        weight = form_int(form, "weight", default=0) or 0
        try:
            return Rule(
                name=name,
                match=RuleMatch(kind=MatchKind(form_text(form, "kind")), path=form_text(form, "path")),
                action=RuleAction(
                    mode=mode,
                    upstream=None if mode is ActionMode.LEGACY else upstream,
                    weight=weight if mode is ActionMode.CANARY else 0,
                ),
            )
        except ValueError as exc:
            raise BadRequest(f"this route cannot be built: {exc}") from None

    async def create_preview(self, request: Request) -> Response:
        _principal, form = await self.ui.require_change(request)
        title = "Add a route"
        try:
            rule = self._new_rule(form)
            reason = form_reason(form)
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=title)
        return await preview_change(
            self.ui,
            request,
            title=f"Add route {rule.name}",
            candidate=lambda: self.ui.services.publishing.add_route_candidate(rule),
            apply_url=str(request.app.url_path_for("ui-route-create-apply")),
            reason=reason,
            fields={
                "name": rule.name,
                "kind": rule.match.kind.value,
                "path": rule.match.path,
                "mode": rule.action.mode.value,
                "upstream": rule.action.upstream,
                "weight": rule.action.weight,
            },
            button="Add route",
        )

    async def create_apply(self, request: Request) -> Response:
        principal, form = await self.ui.require_change(request)
        try:
            rule = self._new_rule(form)
            reason = form_reason(form)
            expected = form_int(form, "expected_version")
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title="Add a route")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title=f"Add route {rule.name}",
            publish=lambda: self.ui.services.publishing.add_route(
                rule, actor=actor, reason=reason, expected_version=expected
            ),
        )

    # ---- flip --------------------------------------------------------------------------------------

    async def flip_form(self, request: Request) -> Response:
        return await self._form_panel(request, "_flip_form.html")

    @staticmethod
    def _flip_args(form: Any) -> dict[str, Any]:
        mode = _mode(form_text(form, "mode"))
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
            candidate=lambda: self.ui.services.publishing.flip_candidate(name, **args),
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
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Roll back {name}")
        return await preview_change(
            self.ui,
            request,
            title=f"Roll back {name} to {'its previous version' if to == 'previous' else 'legacy'}",
            candidate=lambda: self.ui.services.publishing.rollback_candidate(name, to=to),
            apply_url=str(request.app.url_path_for("ui-rollback-apply", name=name)),
            reason=reason,
            fields={"to": to},
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
        except ControlPlaneError as exc:
            return self.ui.error(request, exc, title=f"Roll back {name}")
        actor = self.ui.actor(request, principal)
        return await apply_change(
            self.ui,
            request,
            title=f"Roll back {name}",
            publish=lambda: self.ui.services.publishing.rollback(
                actor=actor, reason=reason, route=name, to=to, expected_version=expected
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
        publishing = self.ui.services.publishing
        return await preview_change(
            self.ui,
            request,
            title="Panic: every route to legacy",
            candidate=lambda: derive.all_to_legacy(publishing.active_table()),
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
