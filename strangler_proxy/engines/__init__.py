"""Engine adapters and exporters: the route table served by something other than the Python data plane.

``haproxy`` drives HAProxy live from the store; ``gateway_api`` writes Kubernetes Gateway API objects.
They know the route model and the store, never the data plane's internals (an import-linter contract).
"""
