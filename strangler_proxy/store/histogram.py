"""The bounds of the latency histogram kept per ``route_stats`` row.

Data-plane workers count into these buckets and the control plane reads percentiles out of them; the
module imports nothing, so that a worker can use it without the store's SQLAlchemy schema.
"""

from __future__ import annotations

__all__ = ["LATENCY_BUCKETS_MS"]

LATENCY_BUCKETS_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1000,
    2000,
    5000,
    10000,
    30000,
    float("inf"),
)
"""Upper bounds, in milliseconds, of the latency histogram stored per row of ``route_stats``."""
