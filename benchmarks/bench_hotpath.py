"""What the data plane's own per-request steps cost, in-process, in microseconds.

The throughput and latency gaps to the minimal pass-through (``bench_proxy``) are the sum of these
steps plus the coroutine and aiohttp work on the extra headers; this module times the steps one by
one on the bench's request (one header, as the load generator sends it) and on a browser-like one,
so a change to any of them shows here without a multi-process run. Information only: no target.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from benchmarks.bench_matcher import HEADERS as BROWSER_HEADERS
from benchmarks.bench_proxy import _table
from strangler_proxy.dataplane.access_log import AccessLog, format_entry
from strangler_proxy.dataplane.failing_requests import FailingRequests, entries
from strangler_proxy.dataplane.headers import TrustedPeers, prepare_request_headers, response_head
from strangler_proxy.dataplane.paths import normalise_path
from strangler_proxy.dataplane.routing import compile_table
from strangler_proxy.dataplane.stats import RequestStats
from strangler_proxy.dataplane.unmatched_paths import UnmatchedPaths

__all__ = ["measure", "run"]

LOADGEN_HEADERS: list[tuple[bytes, bytes]] = [(b"host", b"127.0.0.1:8000")]
RESPONSE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"Content-Type", b"application/json"),
    (b"Content-Length", b"112"),
    (b"Set-Cookie", b"a=1; Path=/"),
    (b"Set-Cookie", b"b=2; Path=/"),
    (b"Connection", b"keep-alive"),
]
ROUNDS = 5
CALLS = 20_000


def _best_us(step: Callable[[], object]) -> float:
    """Best of ``ROUNDS`` timed batches, per call, with the collector off while timing."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(CALLS):
                step()
            best = min(best, time.perf_counter() - started)
    finally:
        gc.enable()
    return best / CALLS * 1e6


def _fold_us() -> float:
    stats = RequestStats()
    for _ in range(CALLS):
        stats.record(("products", "new"), 200, 0.0002)
    started = time.perf_counter()
    stats.drain(include_current=True)
    return (time.perf_counter() - started) / CALLS * 1e6


def _unmatched_mix() -> list[str]:
    """Unmatched paths as a monolith's traffic has them: a few patterns with many ids, and noise."""
    paths = []
    for i in range(CALLS):
        kind = i % 10
        if kind < 5:
            paths.append(f"/products/{i % 2000}/")
        elif kind < 8:
            paths.append(f"/orders/{i % 500}/items")
        elif kind < 9:
            paths.append("/cart/")
        else:
            paths.append(f"/search-{i}")  # a distinct path every time
    return paths


def _unmatched_fold_us() -> float:
    paths = _unmatched_mix()
    best = float("inf")
    for _ in range(ROUNDS):
        counter = UnmatchedPaths(fold_at=len(paths) + 1)
        for path in paths:
            counter.add(path)
        started = time.perf_counter()
        counter.drain()
        best = min(best, time.perf_counter() - started)
    return best / len(paths) * 1e6


_TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def _failing_record(failing: FailingRequests) -> None:
    failing.add("products", "new", "GET", "/api/products/42", 502, "upstream_unreachable", "catalog", 3,
                "0" * 32, _TRACEPARENT)  # fmt: skip


def _failing_check(status: int, failing: FailingRequests | None) -> None:
    """What every request pays: the forwarder's test before recording (false for a 200)."""
    if (status >= 500 or not status) and failing is not None:
        _failing_record(failing)


def _failing_entries_us() -> float:
    failing = FailingRequests(per_route=CALLS)
    for _ in range(CALLS):
        _failing_record(failing)
    raw = failing.drain()
    started = time.perf_counter()
    entries(raw)
    return (time.perf_counter() - started) / CALLS * 1e6


def measure() -> dict[str, float]:
    table = compile_table(
        _table("http://127.0.0.1:1", "http://127.0.0.1:2", shadow=False), override_key=b"k" * 32
    )
    trusted = TrustedPeers([])
    stats = RequestStats()
    key = ("products", "new")
    unmatched = UnmatchedPaths()
    failing = FailingRequests()
    log = AccessLog(None, max_buffered=CALLS * ROUNDS * 2)
    entry = (time.time(), "0" * 32, "GET", b"/api/products/42", "products", "new", "catalog", 3, 200,
             0.0002, "127.0.0.1", None)  # fmt: skip
    timings = {
        "normalise_path": _best_us(lambda: normalise_path(b"/api/products/42")),
        "decide": _best_us(lambda: table.decide("GET", "/api/products/42", LOADGEN_HEADERS)),
        "decide (browser headers)": _best_us(
            lambda: table.decide("GET", "/api/products/42", BROWSER_HEADERS)
        ),
        "prepare_request_headers": _best_us(
            lambda: prepare_request_headers(
                LOADGEN_HEADERS, client_host="127.0.0.1", scheme="http", trusted=trusted, default_host="x"
            )
        ),
        "prepare_request_headers (browser)": _best_us(
            lambda: prepare_request_headers(
                BROWSER_HEADERS, client_host="127.0.0.1", scheme="http", trusted=trusted, default_host="x"
            )
        ),
        "response_head (filter, Content-Length)": _best_us(
            lambda: response_head(
                RESPONSE_HEADERS, upstream_origin=b"http://127.0.0.1:1", scheme="http", host="x"
            )
        ),
        "decide (unmatched)": _best_us(lambda: table.decide("GET", "/nowhere/42", LOADGEN_HEADERS)),
        "unmatched path count (unmatched requests only)": _best_us(lambda: unmatched.add("/nowhere/42")),
        "unmatched path fold, per path (off the request path)": _unmatched_fold_us(),
        "stats.record": _best_us(lambda: stats.record(key, 200, 0.0002)),
        "stats fold, per record (off the request path)": _fold_us(),
        "failing request check (every request, a 200 here)": _best_us(lambda: _failing_check(200, failing)),
        "failing request record (5xx answers only)": _best_us(lambda: _failing_record(failing)),
        "failing request entry, per request (off the request path)": _failing_entries_us(),
        "access log record": _best_us(lambda: log.record(*entry[1:])),  # type: ignore[arg-type]
        "access log format (off the request path)": _best_us(lambda: format_entry(entry)),
    }
    return timings


def run() -> list[str]:
    return [f"#   {name}: {us:.2f} us" for name, us in measure().items()]
