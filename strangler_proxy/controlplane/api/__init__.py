"""The admin JSON API, mounted under /api/v1."""

from __future__ import annotations

from starlette.routing import BaseRoute

from strangler_proxy.controlplane.api import admin_api, observe_api, routes_api, session_api, versions_api
from strangler_proxy.controlplane.services.composition import ControlPlaneServices

__all__ = ["api_routes"]


def api_routes(services: ControlPlaneServices) -> list[BaseRoute]:
    """Every /api/v1 route; errors are answered as JSON by the app's exception handlers."""
    modules = (session_api, routes_api, versions_api, observe_api, admin_api)
    return [route for module in modules for route in module.routes(services)]
