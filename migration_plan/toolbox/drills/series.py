"""Per-second figures of a drill's samples: requests/s, errors and latency per target, steady state."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from migration_plan.toolbox.drills.load import Sample

__all__ = ["SecondPoint", "SteadyState", "failures_by_cause", "per_second", "percentile", "steady_state"]


@dataclass(frozen=True)
class SecondPoint:
    """One second, one target: how many requests started then, how many failed, p50/p99 latency."""

    second: int
    target: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True)
class SteadyState:
    """Throughput, error rate and latency over a quiet period (before the fault, after the rollback)."""

    seconds: float
    requests: int
    rps: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None

    def describe(self) -> str:
        if not self.requests:
            return "no traffic"
        p50 = "-" if self.p50_ms is None else f"{self.p50_ms:.1f}"
        p99 = "-" if self.p99_ms is None else f"{self.p99_ms:.1f}"
        return f"{self.rps:.1f} req/s, {self.error_rate * 100:.2f}% errors, p50 {p50} ms, p99 {p99} ms"


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def per_second(samples: Iterable[Sample]) -> list[SecondPoint]:
    """One point per (second, target) that saw traffic, in time order."""
    buckets: dict[tuple[int, str], list[Sample]] = {}
    for sample in samples:
        buckets.setdefault((int(sample.started), sample.target), []).append(sample)
    points = []
    for (second, target), items in sorted(buckets.items()):
        latencies = [item.latency_ms for item in items]
        points.append(
            SecondPoint(
                second=second,
                target=target,
                requests=len(items),
                errors=sum(1 for item in items if item.failed),
                p50_ms=percentile(latencies, 0.5) or 0.0,
                p99_ms=percentile(latencies, 0.99) or 0.0,
            )
        )
    return points


def steady_state(samples: Iterable[Sample], start: float, end: float) -> SteadyState:
    """Figures of the requests started in [start, end)."""
    chosen = [sample for sample in samples if start <= sample.started < end]
    seconds = max(end - start, 1e-9)
    latencies = [sample.latency_ms for sample in chosen]
    errors = sum(1 for sample in chosen if sample.failed)
    return SteadyState(
        seconds=seconds,
        requests=len(chosen),
        rps=len(chosen) / seconds,
        error_rate=errors / len(chosen) if chosen else 0.0,
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
    )


def failures_by_cause(samples: Iterable[Sample]) -> dict[str, int]:
    """Failed requests counted by cause and kind, e.g. ``{"http 502 (write)": 3}``."""
    counts: Counter[str] = Counter(
        f"{sample.cause} ({sample.kind})" for sample in samples if sample.cause is not None
    )
    return dict(counts.most_common())
