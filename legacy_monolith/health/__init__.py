"""Health: liveness and readiness endpoints for the supervisor and the proxy."""
