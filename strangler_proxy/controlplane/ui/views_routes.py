"""The routes page: every rule with its mode and live figures, and the form that adds a route
(reason, diff preview, publish). The controls on each row are in ``views_controls``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from strangler_proxy.controlplane.errors import BadRequest, ControlPlaneError, NotFound
from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.service_layer.observability import UNMATCHED
from strangler_proxy.controlplane.ui.changes import (
    apply_change,
    form_int,
    form_reason,
    form_text,
    preview_change,
)
from strangler_proxy.controlplane.ui.web import UI
from strangler_proxy.routes import LEGACY, ActionMode, MatchKind, RouteTable, Rule, RuleAction, RuleMatch

__all__ = ["FAILING_LIMIT", "RouteRow", "RoutesViews", "find_row", "parse_mode", "route_state"]

FAILING_LIMIT = 50
"""Failing requests listed on a route's page (newest first)."""


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


def route_state(services: ControlPlaneServices) -> dict[str, Any]:
    """The active version's rows, guard states and the new upstreams a route may name (blocking)."""
    pointer, record = services.tables.active()
    guards = {g["route"]: g["status"] for g in services.guards.overview(record.table)}
    return {
        "active_version": pointer.version_id,
        "generation": pointer.generation,
        "routes": _rows(record.table, guards),
        "new_upstreams": [u.name for u in services.upstreams.list() if u.name != LEGACY],
    }


def find_row(state: dict[str, Any], name: str) -> RouteRow:
    for row in state["routes"]:
        if row.name == name:
            return row
    raise NotFound(f"route {name!r} is not in the active version v{state['active_version']}")


def parse_mode(value: str) -> ActionMode:
    try:
        return ActionMode(value)
    except ValueError:
        raise BadRequest(f"unknown mode {value!r}; use legacy, shadow, canary or new") from None


class RoutesViews:
    def __init__(self, ui: UI) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page, methods=["GET"], name="ui-routes"),
            Route("/ui/routes/table", self.table, methods=["GET"], name="ui-routes-table"),
            Route("/routes/{name}", self.route_page, methods=["GET"], name="ui-route"),
            Route(
                "/ui/route-create/preview",
                self.create_preview,
                methods=["POST"],
                name="ui-route-create-preview",
            ),
            Route("/ui/route-create", self.create_apply, methods=["POST"], name="ui-route-create-apply"),
        ]

    async def page(self, request: Request) -> Response:
        await self.ui.require(request)
        state = await run_in_threadpool(route_state, self.ui.services)
        return self.ui.render(request, "routes.html", {"page_title": "Routes", "nav": "routes", **state})

    def _route_data(self, name: str) -> dict[str, Any]:
        """One route's row (none for the unmatched traffic, ``-``) and its recent failing requests."""
        services = self.ui.services
        state = route_state(services)
        row = None if name == UNMATCHED else find_row(state, name)
        failing = [
            {**entry, "at": entry["at"][:23].replace("T", " ")}
            for entry in services.observability.failing_requests(route=name, limit=FAILING_LIMIT)
        ]
        return {"active_version": state["active_version"], "row": row, "failing": failing}

    async def route_page(self, request: Request) -> Response:
        await self.ui.require(request)
        name = request.path_params["name"]
        page = {"page_title": f"Route {name}", "nav": "routes", "route": name}
        try:
            data = await run_in_threadpool(self._route_data, name)
        except ControlPlaneError as exc:
            return self.ui.render(
                request, "route.html", {**page, "error": exc, "row": None}, status_code=exc.status_code
            )
        return self.ui.render(request, "route.html", {**page, **data})

    async def table(self, request: Request) -> Response:
        await self.ui.require(request)
        state = await run_in_threadpool(route_state, self.ui.services)
        return self.ui.render(request, "_routes_table.html", state)

    # ---- add a route -------------------------------------------------------------------------------

    @staticmethod
    def _new_rule(form: Any) -> Rule:
        name = form_text(form, "name")
        upstream = form_text(form, "upstream", required=False) or None
        mode = parse_mode(form_text(form, "mode", required=False) or "legacy")
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
            candidate=lambda: self.ui.services.tables.add_route_candidate(rule),
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
