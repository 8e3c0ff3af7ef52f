"""The admin UI: server-rendered pages (Jinja2 + htmx), live charts fed by server-sent events.

Every action goes through the same service layer as the JSON API (ControlPlaneServices); the UI adds
no publishing or authentication logic of its own.
"""

from strangler_proxy.controlplane.ui.url_map import ui_routes

__all__ = ["ui_routes"]
