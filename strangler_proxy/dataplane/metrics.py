"""Prometheus metrics that stay correct with several workers.

Each worker keeps its counts in memory (:class:`~strangler_proxy.dataplane.stats.RequestStats`) and
writes a snapshot file ``<pid>.json`` into a shared folder (cleaned when the data plane starts) every
stats interval and right before it answers a scrape. A scrape merges every snapshot: counters and
histograms sum over all workers, past and present; in-flight gauges count live workers only.
Nothing on the request path formats or writes anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from strangler_proxy.dataplane.stats import LATENCY_BUCKETS_MS, RequestStats

__all__ = [
    "REFUSED_ROUTE",
    "REFUSED_TARGET",
    "MetricsExporter",
    "render_metrics",
    "snapshot_bytes",
    "store_snapshot",
    "write_snapshot",
]

_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
REFUSED_ROUTE = ""
REFUSED_TARGET = "proxy"
"""The labels of refused requests in ``strangler_requests_total``: no route saw them."""


def snapshot_bytes(
    stats: RequestStats, *, version: int, breakers: Mapping[str, str], pid: int | None = None
) -> bytes:
    """This worker's snapshot as JSON: cheap, taken on the event loop so the counts are consistent."""
    document = {
        "pid": pid or os.getpid(),
        "version": version,
        "totals": [
            [route, target, acc.by_class, acc.latency_sum_ms, acc.buckets]
            for (route, target), acc in stats.totals.items()
        ],
        "in_flight": [[route, target, n] for (route, target), n in stats.in_flight.items()],
        "refused": [[status, reason, n] for (status, reason), n in stats.refused.items()],
        "sockets_open": [[route, target, n] for (route, target), n in stats.sockets_open.items()],
        "sockets_closed": [[*key, n] for key, n in stats.sockets_closed.items()],
        "socket_bytes": [[*key, n] for key, n in stats.socket_bytes.items()],
        "breakers": dict(breakers),
    }
    return json.dumps(document).encode()


def store_snapshot(folder: Path, data: bytes, *, pid: int | None = None) -> None:
    """Atomically replace the worker's snapshot file with ``data`` (file I/O: call it off the loop)."""
    pid = pid or os.getpid()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{pid}.json.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, folder / f"{pid}.json")


def write_snapshot(
    folder: Path, stats: RequestStats, *, version: int, breakers: Mapping[str, str], pid: int | None = None
) -> None:
    """Atomically replace this worker's snapshot file."""
    pid = pid or os.getpid()
    store_snapshot(folder, snapshot_bytes(stats, version=version, breakers=breakers, pid=pid), pid=pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class MetricsExporter:
    """Renders the merged snapshots of every worker in the Prometheus text format (version 0.0.4).

    The format is written here rather than through prometheus_client so that a worker does not carry
    that library (and its memory) for an endpoint scraped every few seconds.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _snapshots(self) -> Iterator[dict]:
        for path in sorted(self._folder.glob("*.json")):
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue

    def render(self) -> bytes:
        merged = _Merged()
        for snap in self._snapshots():
            merged.add(snap)
        return ("\n".join(merged.exposition()) + "\n").encode()


class _Merged:
    """Every worker's snapshot summed: counters and histograms over all workers, past and present;
    gauges over live workers only."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        self.hist: dict[tuple[str, str], tuple[list[int], float]] = {}
        self.gauges: dict[tuple[str, str], int] = {}
        self.versions: list[tuple[int, int]] = []
        self.breakers: list[tuple[str, int, int]] = []
        self.refused: dict[tuple[int, str], int] = {}
        self.sockets_closed: dict[tuple[str, str, str], int] = {}
        self.socket_bytes: dict[tuple[str, str, str], int] = {}
        self.sockets_open: dict[tuple[str, str], int] = {}

    def add(self, snap: dict) -> None:
        counts, hist = self.counts, self.hist
        for route, target, outcome, n in snap.get("sockets_closed", ()):
            key3 = (route, target, outcome)
            self.sockets_closed[key3] = self.sockets_closed.get(key3, 0) + n
        for route, target, direction, n in snap.get("socket_bytes", ()):
            key3 = (route, target, direction)
            self.socket_bytes[key3] = self.socket_bytes.get(key3, 0) + n
        for status, reason, n in snap.get("refused", ()):
            self.refused[(status, reason)] = self.refused.get((status, reason), 0) + n
            key = (REFUSED_ROUTE, REFUSED_TARGET, f"{status // 100}xx")
            counts[key] = counts.get(key, 0) + n
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
        if not _alive(snap["pid"]):
            return  # a dead worker's requests still count; its gauges do not
        for route, target, n in snap["in_flight"]:
            self.gauges[(route, target)] = self.gauges.get((route, target), 0) + n
        for route, target, n in snap.get("sockets_open", ()):
            self.sockets_open[(route, target)] = self.sockets_open.get((route, target), 0) + n
        self.versions.append((snap["pid"], snap["version"]))
        for name, state in snap["breakers"].items():
            self.breakers.append((name, snap["pid"], 0 if state == "closed" else 1))

    def exposition(self) -> list[str]:
        """The lines of the Prometheus text format, families in a fixed order, series sorted."""
        out: list[str] = []
        _family(
            out, "strangler_requests_total", "counter", "Requests answered, by route, target and status class"
        )
        for (route, target, status_class), value in sorted(self.counts.items()):
            labels = _labels(route=route, target=target, status_class=status_class)
            out.append(f"strangler_requests_total{labels} {value}")
        name = "strangler_request_duration_seconds"
        _family(out, name, "histogram", "Time from request start to the end of the answer")
        for (route, target), (buckets, latency_sum_ms) in sorted(self.hist.items()):
            running = 0
            for bound, n in zip(LATENCY_BUCKETS_MS, buckets, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else repr(bound / 1000)
                out.append(f"{name}_bucket{_labels(route=route, target=target, le=le)} {running}")
            out.append(f"{name}_sum{_labels(route=route, target=target)} {latency_sum_ms / 1000!r}")
            out.append(f"{name}_count{_labels(route=route, target=target)} {running}")
        name = "strangler_requests_refused_total"
        _family(out, name, "counter", "Requests the proxy refused before routing them, by status and reason")
        for (status, reason), value in sorted(self.refused.items()):
            out.append(f"{name}{_labels(status=str(status), reason=reason)} {value}")
        _family(out, "strangler_requests_in_flight", "gauge", "Requests being served now")
        for (route, target), value in sorted(self.gauges.items()):
            out.append(f"strangler_requests_in_flight{_labels(route=route, target=target)} {value}")
        _family(out, "strangler_websockets_open", "gauge", "Relayed WebSockets open now")
        for (route, target), value in sorted(self.sockets_open.items()):
            out.append(f"strangler_websockets_open{_labels(route=route, target=target)} {value}")
        name = "strangler_websockets_closed_total"
        _family(out, name, "counter", "Relayed WebSockets ended, by outcome")
        for (route, target, outcome), value in sorted(self.sockets_closed.items()):
            out.append(f"{name}{_labels(route=route, target=target, outcome=outcome)} {value}")
        name = "strangler_websocket_bytes_total"
        _family(
            out, name, "counter", "Bytes relayed by WebSockets (up: client to upstream), counted at close"
        )
        for (route, target, direction), value in sorted(self.socket_bytes.items()):
            out.append(f"{name}{_labels(route=route, target=target, direction=direction)} {value}")
        _family(out, "strangler_route_table_version", "gauge", "Route-table version served, per worker")
        for pid, version in sorted(self.versions):
            out.append(f"strangler_route_table_version{_labels(pid=str(pid))} {version}")
        _family(out, "strangler_breaker_open", "gauge", "1 when an upstream's breaker is open or half-open")
        for upstream, pid, value in sorted(self.breakers):
            out.append(f"strangler_breaker_open{_labels(upstream=upstream, pid=str(pid))} {value}")
        return out


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def render_metrics(folder: Path) -> bytes:
    return MetricsExporter(folder).render()
