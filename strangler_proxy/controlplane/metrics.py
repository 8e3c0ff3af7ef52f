"""Aggregates of the data plane's per-second rows: request counts, 5xx rate and latency percentiles.

Percentiles come from the ``LATENCY_BUCKETS_MS`` histogram with linear interpolation inside the bucket,
as Prometheus' ``histogram_quantile`` does; the open last bucket reports its lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strangler_proxy.store.histogram import LATENCY_BUCKETS_MS

__all__ = ["ShadowWindow", "Window", "percentile"]


def percentile(
    buckets: Sequence[int], q: float, bounds: Sequence[float] = LATENCY_BUCKETS_MS
) -> float | None:
    """The ``q`` quantile (0..1) of a histogram of counts per upper bound; None when it is empty."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank = q * total
    cumulative = 0
    lower = 0.0
    for count, upper in zip(buckets, bounds, strict=False):
        if count and cumulative + count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * ((rank - cumulative) / count)
        cumulative += count
        if upper != float("inf"):
            lower = upper
    return lower


@dataclass(slots=True)
class Window:
    """Requests of one route and one target (legacy | new) over one or more seconds."""

    requests: int = 0
    status_2xx: int = 0
    status_3xx: int = 0
    status_4xx: int = 0
    status_5xx: int = 0
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_MS))

    def add_row(self, row) -> None:
        self.requests += row.requests
        self.status_2xx += row.status_2xx or 0
        self.status_3xx += row.status_3xx or 0
        self.status_4xx += row.status_4xx or 0
        self.status_5xx += row.status_5xx or 0
        self.latency_sum_ms += row.latency_sum_ms or 0.0
        for index, count in enumerate(row.latency_buckets or ()):
            if index < len(self.buckets):
                self.buckets[index] += int(count)

    @property
    def error_rate(self) -> float | None:
        return None if self.requests == 0 else self.status_5xx / self.requests

    def p(self, q: float) -> float | None:
        return percentile(self.buckets, q)

    def to_dict(self, seconds: float = 1.0) -> dict[str, float | int | None]:
        return {
            "requests": self.requests,
            "rps": round(self.requests / seconds, 2) if seconds > 0 else None,
            "status_5xx": self.status_5xx,
            "error_rate": None if self.error_rate is None else round(self.error_rate, 4),
            "p50_ms": _round(self.p(0.50)),
            "p99_ms": _round(self.p(0.99)),
            "mean_ms": _round(self.latency_sum_ms / self.requests) if self.requests else None,
        }


@dataclass(slots=True)
class ShadowWindow:
    """Shadow comparisons of one route over one or more seconds."""

    matches: int = 0
    mismatches: int = 0
    errors: int = 0

    def add_row(self, row) -> None:
        self.matches += row.matches or 0
        self.mismatches += row.mismatches or 0
        self.errors += row.errors or 0

    @property
    def compared(self) -> int:
        return self.matches + self.mismatches + self.errors

    @property
    def parity(self) -> float | None:
        return None if self.compared == 0 else self.matches / self.compared

    def to_dict(self) -> dict[str, float | int | None]:
        parity = self.parity
        return {
            "matches": self.matches,
            "mismatches": self.mismatches,
            "errors": self.errors,
            "parity": None if parity is None else round(parity, 4),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
