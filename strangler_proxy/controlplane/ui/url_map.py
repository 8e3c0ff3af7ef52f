"""The admin UI's routes: pages, htmx fragments, the live event stream and the vendored static files."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from strangler_proxy.controlplane.service_layer import ControlPlaneServices
from strangler_proxy.controlplane.ui.live import LiveFeed, settled_sources
from strangler_proxy.controlplane.ui.stream import StreamViews
from strangler_proxy.controlplane.ui.templating import STATIC_DIR, STATIC_ROUTE, make_templates
from strangler_proxy.controlplane.ui.trace_links import TraceLinks
from strangler_proxy.controlplane.ui.views_audit import AuditViews
from strangler_proxy.controlplane.ui.views_auth import AuthViews
from strangler_proxy.controlplane.ui.views_controls import ControlsViews
from strangler_proxy.controlplane.ui.views_guards import GuardViews
from strangler_proxy.controlplane.ui.views_history import HistoryViews
from strangler_proxy.controlplane.ui.views_routes import RoutesViews
from strangler_proxy.controlplane.ui.views_shadow import ShadowViews
from strangler_proxy.controlplane.ui.views_upstreams import UpstreamsViews
from strangler_proxy.controlplane.ui.web import UI, guarded

__all__ = ["ui_routes"]


class _ViewGroup(Protocol):
    def routes(self) -> list[Route]: ...


def ui_routes(services: ControlPlaneServices) -> list[BaseRoute]:
    """Every route of the admin UI, to be mounted at the root of the control plane's app."""
    templates = make_templates()
    settings = services.settings
    templates.env.globals["trace_links"] = TraceLinks(
        settings.trace_ui_request_url, settings.trace_ui_route_errors_url
    )
    ui = UI(services=services, templates=templates, feed=LiveFeed(settled_sources(services)))
    views: list[_ViewGroup] = [
        AuthViews(ui),
        RoutesViews(ui),
        ControlsViews(ui),
        GuardViews(ui),
        HistoryViews(ui),
        AuditViews(ui),
        ShadowViews(ui),
        UpstreamsViews(ui),
        StreamViews(ui),
    ]
    routes: list[BaseRoute] = []
    for group in views:
        for route in group.routes():
            routes.append(Route(route.path, guarded(route.endpoint), methods=route.methods, name=route.name))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name=STATIC_ROUTE))
    return routes
