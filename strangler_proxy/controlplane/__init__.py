"""The control plane: store, publishing and rollback, guards, auth, audit, admin JSON API and UI.

Its own process (``python -m strangler_proxy.controlplane``), bound to 127.0.0.1:8001 by default.
"""
