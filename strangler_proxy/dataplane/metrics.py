"""Prometheus metrics that stay correct with several workers.

Each worker keeps its counts in memory (:class:`~strangler_proxy.dataplane.stats.RequestStats`) and
writes a snapshot file ``<pid>.json`` into a shared folder (cleaned when the data plane starts) every
stats interval and right before it answers a scrape. A scrape merges every snapshot: counters and
histograms sum over all workers, past and present; in-flight gauges count live workers only.
Nothing on the request path touches prometheus_client.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.store import LATENCY_BUCKETS_MS

__all__ = ["MetricsExporter", "render_metrics", "write_snapshot"]

_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def write_snapshot(
    folder: Path, stats: RequestStats, *, version: int, breakers: Mapping[str, str], pid: int | None = None
) -> None:
    """Atomically replace this worker's snapshot file."""
    pid = pid or os.getpid()
    document = {
        "pid": pid,
        "version": version,
        "totals": [
            [route, target, acc.by_class, acc.latency_sum_ms, acc.buckets]
            for (route, target), acc in stats.totals.items()
        ],
        "in_flight": [[route, target, n] for (route, target), n in stats.in_flight.items()],
        "breakers": dict(breakers),
    }
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{pid}.json.tmp"
    tmp.write_text(json.dumps(document), encoding="utf-8")
    os.replace(tmp, folder / f"{pid}.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _SnapshotCollector:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _snapshots(self) -> Iterator[dict]:
        for path in sorted(self._folder.glob("*.json")):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "strangler_requests",
            "Requests answered, by route, target and status class",
            labels=["route", "target", "status_class"],
        )
        latency = HistogramMetricFamily(
            "strangler_request_duration_seconds",
            "Time from request start to the end of the answer",
            labels=["route", "target"],
        )
        in_flight = GaugeMetricFamily(
            "strangler_requests_in_flight", "Requests being served now", labels=["route", "target"]
        )
        version = GaugeMetricFamily(
            "strangler_route_table_version", "Version served, per worker", labels=["pid"]
        )
        breaker = GaugeMetricFamily(
            "strangler_breaker_open",
            "1 when the upstream's breaker is open or half-open in a worker",
            labels=["upstream", "pid"],
        )
        counts: dict[tuple[str, str, str], int] = {}
        hist: dict[tuple[str, str], tuple[list[int], float]] = {}
        gauges: dict[tuple[str, str], int] = {}
        for snap in self._snapshots():
            live = _alive(snap["pid"])
            for route, target, by_class, latency_sum, buckets in snap["totals"]:
                for index, name in enumerate(_CLASSES, start=1):
                    if by_class[index]:
                        key = (route, target, name)
                        counts[key] = counts.get(key, 0) + by_class[index]
                previous = hist.get((route, target))
                if previous is None:
                    hist[(route, target)] = (list(buckets), latency_sum)
                else:
                    merged = [a + b for a, b in zip(previous[0], buckets, strict=True)]
                    hist[(route, target)] = (merged, previous[1] + latency_sum)
            if not live:
                continue
            for route, target, n in snap["in_flight"]:
                gauges[(route, target)] = gauges.get((route, target), 0) + n
            version.add_metric([str(snap["pid"])], snap["version"])
            for name, state in snap["breakers"].items():
                breaker.add_metric([name, str(snap["pid"])], 0 if state == "closed" else 1)
        for labels, value in sorted(counts.items()):
            requests.add_metric(list(labels), value)
        for (route, target), (buckets, latency_sum_ms) in sorted(hist.items()):
            cumulative, running = [], 0
            for bound, n in zip(LATENCY_BUCKETS_MS, buckets, strict=True):
                running += n
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound / 1000), running))
            latency.add_metric([route, target], cumulative, latency_sum_ms / 1000)
        for labels, value in sorted(gauges.items()):
            in_flight.add_metric(list(labels), value)
        yield from (requests, latency, in_flight, version, breaker)


class MetricsExporter:
    """Renders the merged snapshots of every worker in the Prometheus text format."""

    def __init__(self, folder: Path) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(_SnapshotCollector(folder))  # type: ignore[arg-type]

    def render(self) -> bytes:
        return generate_latest(self._registry)


def render_metrics(folder: Path) -> bytes:
    return MetricsExporter(folder).render()
