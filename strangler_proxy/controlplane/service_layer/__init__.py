"""The control plane's service layer, shared by the JSON API and the admin UI (no HTTP round-trip).

``ControlPlaneServices`` (in composition.py) holds one object per concern; build it with ``build_services``.
"""

from strangler_proxy.controlplane.service_layer.composition import ControlPlaneServices, build_services

__all__ = ["ControlPlaneServices", "build_services"]
