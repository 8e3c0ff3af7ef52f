"""A fake data-plane writer: route_stats and shadow_counts rows as the real data plane writes them."""

from __future__ import annotations

from sqlalchemy import Engine, insert

from strangler_proxy.store.schema import LATENCY_BUCKETS_MS, route_stats, shadow_counts

__all__ = ["write_second", "write_shadow"]


def _buckets(requests: int, latency_ms: float) -> list[int]:
    counts = [0] * len(LATENCY_BUCKETS_MS)
    index = next(i for i, bound in enumerate(LATENCY_BUCKETS_MS) if latency_ms <= bound)
    counts[index] = requests
    return counts


def write_second(
    engine: Engine,
    *,
    second: int,
    route: str,
    target: str,
    requests: int,
    errors: int = 0,
    latency_ms: float = 4.0,
    worker: str = "test:1",
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(route_stats).values(
                second=second,
                worker=worker,
                route=route,
                target=target,
                requests=requests,
                status_2xx=requests - errors,
                status_3xx=0,
                status_4xx=0,
                status_5xx=errors,
                latency_sum_ms=latency_ms * requests,
                latency_buckets=_buckets(requests, latency_ms),
            )
        )


def write_shadow(engine: Engine, *, second: int, route: str, matches: int, mismatches: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(shadow_counts).values(
                second=second, worker="test:1", route=route, matches=matches, mismatches=mismatches, errors=0
            )
        )
