"""``tracing_throughput_cost``: what tracing costs the data plane's throughput.

Three data planes over the same backend and route table as ``bench_proxy`` (one uvicorn worker each,
pinned to the same core, loaded one at a time with 32 connections): tracing off (no ``OTEL_*``
variable), on at 10 % sampling (``parentbased_traceidratio``, ``OTEL_TRACES_SAMPLER_ARG=0.1``) and on
at 100 %, both exporting OTLP over HTTP to a sink in this process that answers every export at once.
Rounds alternate between the variants so a drift of the machine hits them alike; the figure is the
median of each. The budget: on at 10 % keeps at least 90 % of the throughput with tracing off.

Since req/s drift with whatever else runs on the machine, the output also gives each variant's CPU
time per request (the data plane's whole process tree, the worker and its span exporting process,
from the first round to the last, so spans exported in batches after their round count too): their
ratio is what the throughput ratio tends to on a core of its own. That
tracing off costs nothing is measured by ``bench_proxy`` (its figures against the minimal
pass-through) and, instruction by instruction, by ``python -m benchmarks.instructions``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.bench_proxy import PATH, _Store, _table
from benchmarks.processes import (
    Child,
    child_pids,
    cpu_seconds,
    cpu_split,
    free_port,
    run_loadgen,
    wait_port,
    wait_version,
)

__all__ = ["BUDGET", "run"]

CONNECTIONS = 32
ROUNDS = 7
ROUND_S = 2.0
BUDGET = 0.90
"""Tracing on at 10 % sampling keeps at least this share of the throughput with tracing off."""
VARIANTS: dict[str, dict[str, str]] = {
    "off": {},
    "on-10%": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
    "on-100%": {"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
}


class _Sink:
    """An OTLP/HTTP endpoint that takes every export and keeps nothing but the count of spans' bytes,
    per variant (the service name in the export's resource)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bytes = 0
        self.by_variant: dict[str, int] = dict.fromkeys(VARIANTS, 0)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.bytes += len(body)
                for name in sink.by_variant:
                    if f"bench-{name}".encode() in body:
                        sink.by_variant[name] += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _dataplane(tmp: Path, name: str, store: _Store, backend: str, env: dict[str, str], cpus: Any) -> tuple:
    port, internal = free_port(), free_port()
    child = Child(
        [sys.executable, "-m", "strangler_proxy.dataplane"],
        log=tmp / f"dataplane-{name}.log",
        env={
            "STRANGLER_HOME": str(tmp / f"home-{name}"),
            "STRANGLER_STORE_URL": store.url,
            "STRANGLER_LEGACY_URL": backend,
            "STRANGLER_DATAPLANE_PORT": str(port),
            "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal),
            "STRANGLER_DATAPLANE_WORKERS": "1",
            "STRANGLER_ACCESS_LOG_PATH": str(tmp / f"access-{name}.log"),
            **env,
        },
        cpus=cpus,
    )
    return child, port, internal


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every live descendant (a worker's span exporting process among them)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            pending += child_pids(current)
        except FileNotFoundError:  # ended meanwhile
            continue
    return total


def run() -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    proxy_cpus, load_cpus = cpu_split()
    children: list[Child] = []
    sink = _Sink()
    try:
        backend_port = free_port()
        backend = Child(
            [sys.executable, "-m", "benchmarks.backend", "--port", str(backend_port)],
            log=tmp / "backend.log",
            cpus=load_cpus,
        )
        children.append(backend)
        wait_port(backend_port, backend)
        backend_url = f"http://127.0.0.1:{backend_port}"
        store = _Store(tmp / "store.sqlite3")
        version = store.publish(_table(backend_url, backend_url, shadow=False))
        ports: dict[str, int] = {}
        pids: dict[str, int] = {}
        for name, extra in VARIANTS.items():
            env = dict(extra)
            if name != "off":
                env |= {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.port}",
                    "OTEL_SERVICE_NAME": f"bench-{name}",
                }
            child, port, internal = _dataplane(tmp, name, store, backend_url, env, proxy_cpus)
            children.append(child)
            wait_version(internal, version, child, timeout=30.0, poll_s=0.05)
            ports[name] = port
            pids[name] = child.pid
        for name in VARIANTS:  # warm-up: pools filled, code paths hot
            run_loadgen(ports[name], PATH, connections=CONNECTIONS, duration=1.0, cpus=load_cpus)
        rps: dict[str, list[float]] = {name: [] for name in VARIANTS}
        served = dict.fromkeys(VARIANTS, 0)
        cpu_before = {name: _tree_cpu_seconds(pid) for name, pid in pids.items()}
        for _ in range(ROUNDS):
            for name in VARIANTS:
                result = run_loadgen(
                    ports[name], PATH, connections=CONNECTIONS, duration=ROUND_S, cpus=load_cpus
                )
                served[name] += result["requests"]
                if result["errors"]:
                    raise RuntimeError(f"{name}: {result['errors']} failed requests")
                rps[name].append(result["rps"])
        # all the rounds' CPU: a span exported after its round (in batches) still counts
        cpu_us = {
            name: (_tree_cpu_seconds(pid) - cpu_before[name]) / max(served[name], 1) * 1e6
            for name, pid in pids.items()
        }
        median = {name: statistics.median(values) for name, values in rps.items()}
        ratio = median["on-10%"] / median["off"]
        verdict = "PASS" if ratio >= BUDGET else "FAIL"
        return [
            f"tracing_throughput_cost: off {median['off']:.0f} req/s, "
            f"on at 10% {median['on-10%']:.0f} req/s, on at 100% {median['on-100%']:.0f} req/s",
            f"tracing_throughput_cost: on-10%/off {ratio:.3f} (budget >= {BUDGET:.2f}) {verdict}; "
            f"on-100%/off {median['on-100%'] / median['off']:.3f}; {sink.bytes} bytes of spans exported "
            f"({sink.by_variant['on-10%']} at 10%, {sink.by_variant['on-100%']} at 100%)",
            "# data plane CPU per request (worker + span exporter), us: "
            + ", ".join(f"{name} {value:.0f}" for name, value in cpu_us.items())
            + f"; off/on-10% {cpu_us['off'] / cpu_us['on-10%']:.3f}, "
            f"off/on-100% {cpu_us['off'] / cpu_us['on-100%']:.3f}",
        ]
    finally:
        for child in reversed(children):
            child.stop()
        sink.close()
        shutil.rmtree(tmp, ignore_errors=True)
