"""Two versions of the data plane side by side, against the minimal pass-through, in one run.

    .venv/bin/python -m benchmarks.compare OLD_CHECKOUT [NEW_CHECKOUT]   (NEW defaults to this one)

Each checkout's data plane runs from its own source tree (``python -m strangler_proxy.dataplane`` with
the checkout as working directory), with the route table, request and pinning of ``bench_proxy``.
Rounds alternate minimal, old, new; each round sends the same number of requests at 32 connections
and reads every worker's CPU time from ``/proc/<pid>/stat``, then one round of p50 latency at one
connection. The figures are medians of per-round ratios, so load that comes and goes on a shared
machine hits the versions alike. Not part of ``make bench``: a tool for comparing changes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_proxy import PATH, _Store, _table
from benchmarks.processes import (
    ROOT,
    Child,
    child_pids,
    cpu_seconds,
    cpu_split,
    free_port,
    pin,
    run_loadgen,
    wait_port,
    wait_version,
)

__all__ = ["main"]

CONNECTIONS = 32


Series = dict[str, list[float]]
"""One figure per round, by version (``minimal``, ``old``, ``new``)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="checkout of the version to compare against")
    parser.add_argument("new", type=Path, nargs="?", default=ROOT, help="checkout to measure (this one)")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=4000, help="requests per round and version")
    parser.add_argument("--latency-requests", type=int, default=1000, help="0: no latency rounds")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    children: list[Child] = []
    ports: dict[str, int] = {}
    pids: dict[str, int] = {}
    try:
        _start(tmp, {"old": args.old.resolve(), "new": args.new.resolve()}, children, ports, pids)
        cpu, rps, p50 = _rounds(ports, pids, args.rounds, args.requests, args.latency_requests)
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    _report(list(ports), cpu, rps, p50)


def _start(
    tmp: Path, checkouts: dict[str, Path], children: list[Child], ports: dict[str, int], pids: dict[str, int]
) -> None:
    """The backend, the minimal pass-through and each checkout's data plane, their ports and pids
    recorded as they start (``children`` to stop, whatever happens)."""
    py = sys.executable
    proxy_cpus, load_cpus = cpu_split()
    backend_port = free_port()
    backend = Child(
        [py, "-m", "benchmarks.backend", "--port", str(backend_port)],
        log=tmp / "backend.log",
        cpus=load_cpus,
    )
    children.append(backend)
    wait_port(backend_port, backend)
    backend_url = f"http://127.0.0.1:{backend_port}"
    ports["minimal"] = free_port()
    minimal = Child(
        [py, "-m", "uvicorn", "--factory", "benchmarks.minimal_proxy:create_app", "--port",
         str(ports["minimal"]), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
         "--log-level", "warning"],
        log=tmp / "minimal.log",
        env={"MINIMAL_PROXY_UPSTREAM": backend_url},
        cpus=proxy_cpus,
    )  # fmt: skip
    children.append(minimal)
    pids["minimal"] = minimal.pid
    wait_port(ports["minimal"], minimal)
    for name, checkout in checkouts.items():
        store = _Store(tmp / f"{name}.sqlite3")
        version = store.publish(_table(backend_url, backend_url, shadow=False))
        store.engine.dispose()
        ports[name], internal = free_port(), free_port()
        child = Child(
            [py, "-m", "strangler_proxy.dataplane"],
            log=tmp / f"{name}.log",
            env={
                "STRANGLER_HOME": str(tmp / f"home-{name}"),
                "STRANGLER_STORE_URL": store.url,
                "STRANGLER_LEGACY_URL": backend_url,
                "STRANGLER_DATAPLANE_PORT": str(ports[name]),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal),
                "STRANGLER_DATAPLANE_WORKERS": "1",
                "STRANGLER_ACCESS_LOG_PATH": str(tmp / f"access-{name}.log"),
            },
            cpus=proxy_cpus,
            cwd=checkout,
        )
        children.append(child)
        pids[name] = child.pid
        wait_version(internal, version, child, public_port=ports[name])
        for pid in child_pids(child.pid):  # the shadow process, with the load
            pin(pid, load_cpus)


def _rounds(
    ports: dict[str, int], pids: dict[str, int], rounds: int, requests: int, latency_requests: int
) -> tuple[Series, Series, Series]:
    """CPU µs per request, req/s and p50 latency µs, per round and version, the versions alternating."""
    _proxy_cpus, load_cpus = cpu_split()
    names = list(ports)
    for name in names:  # warm-up
        run_loadgen(ports[name], PATH, connections=CONNECTIONS, requests=2000, cpus=load_cpus)
    cpu: Series = {name: [] for name in names}
    rps: Series = {name: [] for name in names}
    p50: Series = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            before = cpu_seconds(pids[name])
            result = run_loadgen(
                ports[name], PATH, connections=CONNECTIONS, requests=requests, cpus=load_cpus
            )
            if result["errors"]:
                raise RuntimeError(f"{name}: {result['errors']} failed requests")
            cpu[name].append((cpu_seconds(pids[name]) - before) / result["requests"] * 1e6)
            rps[name].append(result["rps"])
        if latency_requests:
            for name in names:
                result = run_loadgen(ports[name], PATH, connections=1, requests=latency_requests)
                p50[name].append(result["p50_us"])
    return cpu, rps, p50


def _report(names: list[str], cpu: Series, rps: Series, p50: Series) -> None:
    for name in names:
        latency = f", p50 at 1 connection {statistics.median(p50[name]):.0f} us" if p50[name] else ""
        print(
            f"{name}: CPU {statistics.median(cpu[name]):.1f} us per request, "
            f"{statistics.median(rps[name]):.0f} req/s{latency}"
        )

    def paired(values: Series, a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(values[a], values[b], strict=True))

    for name in ("old", "new"):
        print(
            f"{name} vs minimal: req/s ratio {paired(rps, name, 'minimal'):.3f}, "
            f"CPU ratio (minimal / {name}) {paired(cpu, 'minimal', name):.3f}"
        )
    print(
        f"new vs old: CPU per request {paired(cpu, 'new', 'old'):.3f}, req/s {paired(rps, 'new', 'old'):.3f}"
    )


if __name__ == "__main__":
    main()
