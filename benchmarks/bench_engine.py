"""The HAProxy engine against the Python data plane, on the same table and backend, one core each.

One run starts two tagged backends (``x-backend: legacy | new``), a SQLite store holding the table of
``bench_proxy`` (20 prefix rules, a regular-expression rule, ``/api/products`` to the new upstream),
the data plane (one worker) and the engine (its agent, and HAProxy with one thread), both fed from that
store, and nginx with the same table when it is installed. The proxies are pinned to one core, the
backends, the load generator and the engine's agent to the others; the variants alternate round by
round and each figure is the median of the paired values:

    engine_throughput_vs_dataplane      engine req/s / data plane req/s, 32 connections (target >= 3)
    engine_flip_p99_ms                  a publish (the store's pointer swapped, as the control plane
                                        does) until the engine's answers come from the new side, p99
                                        of 50 flips while the load runs (target <= 1000)
    engine_failed_requests_during_flips requests a client lost during those 50 flips, counted by
                                        ``benchmarks.flipload`` (non-2xx, or broken in flight; target 0)

Also printed, for the record: the same flips through the data plane, flips that change the table's
structure (HAProxy reloads), and nginx, where every flip is a reload: the measurement that chose
HAProxy (docs/performance.md).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from benchmarks import nginx_table
from benchmarks.bench_proxy import CONNECTIONS, PATH, ROUNDS, THROUGHPUT_S, _Store, leading_rules
from benchmarks.processes import (
    Child,
    child_pids,
    cpu_seconds,
    cpu_split,
    free_port,
    pin,
    run_loadgen,
    wait_port,
)
from strangler_proxy.routes import (
    LEGACY,
    ActionMode,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    Upstream,
)
from strangler_proxy.store.schema import dataplane_workers

__all__ = ["run"]

FLIPS = 50
RELOAD_FLIPS = 10
FLIP_PAUSE_S = 0.15
"""Load runs this long between a flip being served and the next publish."""
ROOT = Path(__file__).resolve().parents[1]


def table(legacy: str, new: str, *, products_to_new: bool, extra_rule: bool = False) -> RouteTable:
    upstreams = {LEGACY: Upstream(name=LEGACY, url=legacy), "catalog": Upstream(name="catalog", url=new)}
    rules = leading_rules()
    if extra_rule:  # a structural change: HAProxy reloads to apply it
        rules.append(Rule(name="extra", match=RuleMatch(path="/extra")))
    action = RuleAction(mode=ActionMode.NEW, upstream="catalog") if products_to_new else RuleAction()
    rules.append(Rule(name="products", match=RuleMatch(path="/api/products"), action=action))
    return RouteTable(upstreams=upstreams, rules=tuple(rules))


class _Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.children: list[Child] = []
        self.ports: dict[str, int] = {}
        self.notes: list[str] = []
        self.proxy_cpus, self.load_cpus = cpu_split()
        self.products_to_new = True
        self.extra_rule = False

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None, *, proxy: bool) -> Child:
        child = Child(
            argv, log=self.tmp / f"{name}.log", env=env, cpus=self.proxy_cpus if proxy else self.load_cpus
        )
        self.children.append(child)
        return child

    # --- processes ---------------------------------------------------------------------------------
    def start(self) -> None:
        py = sys.executable
        for name in ("legacy", "new"):
            port = self.ports[name] = free_port()
            backend = [py, "-m", "benchmarks.backend", "--port", str(port), "--tag", name]
            wait_port(port, self._start(f"backend-{name}", backend, proxy=False))
        self.legacy_url = f"http://127.0.0.1:{self.ports['legacy']}"
        self.new_url = f"http://127.0.0.1:{self.ports['new']}"
        self.store = _Store(self.tmp / "store.sqlite3")
        version = self.publish()
        common = {"STRANGLER_STORE_URL": self.store.url, "STRANGLER_LEGACY_URL": self.legacy_url}
        port = self.ports["dataplane"] = free_port()
        self.dataplane = self._start(
            "dataplane",
            [py, "-m", "strangler_proxy.dataplane"],
            {
                **common,
                "STRANGLER_HOME": str(self.tmp / "dataplane"),
                "STRANGLER_DATAPLANE_PORT": str(port),
                "STRANGLER_DATAPLANE_WORKERS": "1",
                "STRANGLER_ACCESS_LOG_PATH": str(self.tmp / "access.log"),
            },
            proxy=True,
        )
        port, status = self.ports["engine"], self.ports["engine-status"] = free_port(), free_port()
        self.engine = self._start(
            "engine",
            [py, "-m", "strangler_proxy.engines.haproxy"],
            {
                **common,
                "STRANGLER_HOME": str(self.tmp / "engine"),
                "STRANGLER_DATAPLANE_PORT": str(port),
                "STRANGLER_ENGINE_STATUS_PORT": str(status),
                "STRANGLER_ENGINE_THREADS": "1",
            },
            proxy=False,  # the agent runs beside the backends; HAProxy itself is pinned below
        )
        self.wait_applied(version, timeout=120)
        # a worker records its version before it listens: wait for the ports too
        wait_port(self.ports["dataplane"], self.dataplane, timeout=60)
        wait_port(self.ports["engine"], self.engine, timeout=60)
        for pid in child_pids(self.dataplane.pid):  # the data plane's shadow process
            pin(pid, self.load_cpus)
        self._pin_haproxy()
        if nginx_table.NGINX.exists():
            port = self.ports["nginx"] = free_port()
            self.nginx_conf = self._render_nginx(products_to_new=True)
            nginx = [str(nginx_table.NGINX), "-c", str(self.nginx_conf), "-g", "daemon off;"]
            wait_port(port, self._start("nginx", nginx, proxy=True))
        else:
            self.notes.append(f"# nginx: skipped ({nginx_table.NGINX} is not installed)")

    def _pin_haproxy(self) -> None:
        """HAProxy's master and worker on the proxy core (a reload's new worker inherits it)."""
        self.haproxy_pids = child_pids(self.engine.pid)
        for master in self.haproxy_pids:
            pin(master, self.proxy_cpus)
            for worker in child_pids(master):
                pin(worker, self.proxy_cpus)

    def _render_nginx(self, *, products_to_new: bool) -> Path:
        return nginx_table.render(
            self.tmp,
            port=self.ports["nginx"],
            legacy_port=self.ports["legacy"],
            new_port=self.ports["new"],
            products_to_new=products_to_new,
        )

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if hasattr(self, "store"):
            self.store.engine.dispose()

    # --- the store ---------------------------------------------------------------------------------
    def publish(self) -> int:
        return self.store.publish(
            table(
                self.legacy_url,
                self.new_url,
                products_to_new=self.products_to_new,
                extra_rule=self.extra_rule,
            )
        )

    def wait_applied(self, version: int, *, timeout: float = 30.0) -> None:
        """Until the data plane's worker and the engine both report serving ``version``."""
        deadline = time.monotonic() + timeout
        while True:
            with self.store.engine.connect() as conn:
                served = [row.version_id for row in conn.execute(select(dataplane_workers))]
            if len(served) == 2 and set(served) == {version}:
                return
            for child in (self.dataplane, self.engine):
                child.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"version {version} not served by both proxies (they serve {served})")
            time.sleep(0.02)

    # --- measurements ------------------------------------------------------------------------------
    def measure(self) -> list[str]:
        variants = ["engine", "dataplane"] + (["nginx"] if "nginx" in self.ports else [])
        for name in variants:  # warm-up
            run_loadgen(self.ports[name], PATH, connections=CONNECTIONS, duration=1.0, cpus=self.load_cpus)
        # whose CPU time each variant's requests cost: HAProxy's worker and the agent, or the data plane's
        measured = {
            "engine": {"engine": self._haproxy_worker(), "agent": self.engine.pid},
            "dataplane": {"dataplane": self.dataplane.pid},
            "nginx": {},
        }
        rps: dict[str, list[float]] = {name: [] for name in variants}
        cpu_us: dict[str, list[float]] = {"engine": [], "dataplane": [], "agent": []}
        for _ in range(ROUNDS):
            for name in variants:
                before = {key: cpu_seconds(pid) for key, pid in measured[name].items()}
                result = run_loadgen(
                    self.ports[name],
                    PATH,
                    connections=CONNECTIONS,
                    duration=THROUGHPUT_S,
                    cpus=self.load_cpus,
                )
                if result["errors"]:
                    raise RuntimeError(f"{name}: {result['errors']} failed requests")
                rps[name].append(result["rps"])
                for key, pid in measured[name].items():
                    cpu_us[key].append((cpu_seconds(pid) - before[key]) / result["requests"] * 1e6)
        ratio = statistics.median(e / d for e, d in zip(rps["engine"], rps["dataplane"], strict=True))
        details = [f"# req/s at {CONNECTIONS} connections (median of {ROUNDS}):"]
        details += [f"#   {name}: {statistics.median(values):.0f}" for name, values in rps.items()]
        cpu = {key: statistics.median(values) for key, values in cpu_us.items()}
        details.append(
            f"# CPU per request, us (median): HAProxy {cpu['engine']:.1f}, data plane worker "
            f"{cpu['dataplane']:.1f}, engine agent (log lines -> figures, load cores) {cpu['agent']:.1f}"
        )
        if "nginx" in rps:
            versus = statistics.median(n / e for n, e in zip(rps["nginx"], rps["engine"], strict=True))
            details.append(f"#   nginx / engine req/s: {versus:.2f}")

        engine_flips = self._flips("engine", FLIPS, self._store_flip)
        details.append(self._flip_line("engine, map commits", engine_flips))
        dataplane_flips = self._flips("dataplane", FLIPS, self._store_flip)
        details.append(self._flip_line("data plane", dataplane_flips))
        reload_flips = self._flips("engine", RELOAD_FLIPS, self._structural_flip)
        details.append(self._flip_line("engine, reloads (a rule added or removed)", reload_flips))
        if "nginx" in self.ports:
            details.append(self._flip_line("nginx, reloads", self._flips("nginx", FLIPS, self._nginx_flip)))
        latencies, load = engine_flips
        lines = [
            f"engine_throughput_vs_dataplane: {ratio:.2f}",
            f"engine_flip_p99_ms: {_p99(latencies):.0f}",
            f"engine_failed_requests_during_flips: {load['failed']}",
        ]
        return lines + details + self.notes

    def _haproxy_worker(self) -> int:
        status = self.ports["engine-status"]
        connection = http.client.HTTPConnection("127.0.0.1", status, timeout=5)
        connection.request("GET", "/_strangler/version")
        return int(json.loads(connection.getresponse().read())["worker_pid"])

    @staticmethod
    def _flip_line(what: str, flips: tuple[list[float], dict]) -> str:  # type: ignore[type-arg]
        latencies, load = flips
        served = (
            f"p50 {statistics.median(latencies):.0f} ms, p99 {_p99(latencies):.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
        lost = (
            f"bad status {load['bad_status']}, lost in flight {load['lost_in_flight']}, "
            f"refused connections {load['connect_failures']}"
        )
        return (
            f"# flips, {what}: {len(latencies)}, publish -> served {served}; under load "
            f"{load['requests']} requests, failed {load['failed']} ({lost}), "
            f"reconnections {load['reconnects']}"
        )

    def _store_flip(self) -> tuple[str, float]:
        self.products_to_new = not self.products_to_new
        self.publish()
        return ("new" if self.products_to_new else "legacy"), time.perf_counter()

    def _structural_flip(self) -> tuple[str, float]:
        self.extra_rule = not self.extra_rule
        return self._store_flip()

    def _nginx_flip(self) -> tuple[str, float]:
        self.products_to_new = not self.products_to_new
        nginx_table.reload(self._render_nginx(products_to_new=self.products_to_new))
        return ("new" if self.products_to_new else "legacy"), time.perf_counter()

    def _flips(
        self, name: str, count: int, flip: Callable[[], tuple[str, float]]
    ) -> tuple[list[float], dict]:  # type: ignore[type-arg]
        """``count`` flips of the products route through proxy ``name`` under load: the time from each
        change (committed) to the first answer from the expected side, and what the load lost."""
        port = self.ports[name]
        argv = [sys.executable, "-m", "benchmarks.flipload", "--port", str(port), "--path", PATH]
        argv += ["--connections", str(CONNECTIONS), "--duration", "600"]
        cpus = self.load_cpus or os.sched_getaffinity(0)
        load = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
        latencies = []
        try:
            time.sleep(0.5)
            for _ in range(count):
                expected, changed_at = flip()
                _wait_side(port, expected, timeout=30)
                latencies.append((time.perf_counter() - changed_at) * 1000)
                time.sleep(FLIP_PAUSE_S)
        finally:
            load.send_signal(signal.SIGTERM)
            output, _ = load.communicate(timeout=60)
        if name == "engine":
            self._pin_haproxy()  # after a reload, pin the new worker too
        return latencies, json.loads(output)


def _wait_side(port: int, tag: str, *, timeout: float) -> None:
    """Ask the proxy every ~2 ms until an answer comes from backend ``tag``."""
    deadline = time.monotonic() + timeout
    connection: http.client.HTTPConnection | None = None
    while time.monotonic() < deadline:
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", PATH)
            response = connection.getresponse()
            response.read()
            if response.getheader("x-backend") == tag:
                connection.close()
                return
        except (OSError, http.client.HTTPException):
            if connection is not None:
                connection.close()
            connection = None
        time.sleep(0.002)
    raise TimeoutError(f"port {port} never answered from {tag}")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def run() -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    bench = _Bench(tmp)
    try:
        bench.start()
        return bench.measure()
    finally:
        bench.stop()
        shutil.rmtree(tmp, ignore_errors=True)
