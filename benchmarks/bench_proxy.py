"""The data plane against a minimal pass-through, nginx (when installed) and the backend directly.

One run starts a small JSON backend, the minimal raw-ASGI + aiohttp pass-through of
:mod:`benchmarks.minimal_proxy`, the data plane (one worker, a route table of 22 rules, metrics, header
rewriting and the JSON access log on) and nginx when ``/usr/sbin/nginx`` exists, then measures them
side by side, alternating the variants round by round so drift hits them all alike (the proxies
pinned to one core, the backend and the load generator to the others):

    throughput_vs_minimal    data plane req/s / minimal pass-through req/s, 32 connections (median ratio)
    added_p50_latency_us     data plane p50 - backend p50, 1 connection
    worker_peak_rss_mb       the worker's peak RSS after 100,000 requests over 1,000 connections
    shadow_throughput_cost   1 - req/s with 100 % shadow mirroring / req/s without, 32 connections
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select, update

from benchmarks import nginx_table
from benchmarks.processes import (
    Child,
    child_pids,
    cpu_seconds,
    cpu_split,
    free_port,
    peak_rss_mb,
    pin,
    run_loadgen,
    wait_port,
    wait_version,
)
from strangler_proxy.routes import (
    LEGACY,
    ActionMode,
    MatchKind,
    RouteTable,
    Rule,
    RuleAction,
    RuleMatch,
    ShadowSettings,
    Upstream,
)
from strangler_proxy.store import make_engine, metadata
from strangler_proxy.store.schema import active_route_table, route_versions, shadow_counts

__all__ = ["run"]

PATH = "/api/products/42?expand=tags"
CONNECTIONS = 32
ROUNDS = 7
THROUGHPUT_S = 2.0
# Latency and shadow rounds are short and many: on a shared machine the speed drifts over seconds, and
# the shorter a round, the closer in time the two values of a pair (the medians are of per-round pairs).
LATENCY_ROUNDS = 15
LATENCY_S = 0.7
SHADOW_ROUNDS = 14
SHADOW_S = 1.0
RSS_REQUESTS = 100_000
RSS_CONNECTIONS = 1_000
NGINX = nginx_table.NGINX


def leading_rules() -> list[Rule]:
    """The rules ahead of the products rule: 20 prefix rules, then a regular-expression rule."""
    rules = [Rule(name=f"legacy-area-{i}", match=RuleMatch(path=f"/area-{i}")) for i in range(20)]
    rules.append(
        Rule(
            name="orders", match=RuleMatch(kind=MatchKind.PATTERN, path=r"/orders/\d+/items", methods={"GET"})
        )
    )
    return rules


def _table(backend: str, shadow_backend: str, *, shadow: bool) -> RouteTable:
    upstreams = {
        LEGACY: Upstream(name=LEGACY, url=backend),
        "catalog": Upstream(name="catalog", url=backend),
        "catalog-next": Upstream(name="catalog-next", url=shadow_backend),
    }
    rules = leading_rules()
    if shadow:
        action = RuleAction(
            mode=ActionMode.SHADOW, upstream="catalog-next", shadow=ShadowSettings(sample_percent=100)
        )
    else:
        action = RuleAction(mode=ActionMode.NEW, upstream="catalog")
    rules.append(Rule(name="products", match=RuleMatch(path="/api/products"), action=action))
    return RouteTable(upstreams=upstreams, rules=tuple(rules))


class _Store:
    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = make_engine(self.url)
        metadata.create_all(self.engine)

    def publish(self, table: RouteTable) -> int:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            version = conn.execute(
                insert(route_versions).values(
                    document=table.to_json(), author="bench", reason="bench", created_at=now
                )
            ).inserted_primary_key[0]
            generation = conn.execute(select(active_route_table.c.generation)).scalar_one_or_none()
            if generation is None:
                conn.execute(
                    insert(active_route_table).values(id=1, version_id=version, generation=1, changed_at=now)
                )
            else:
                conn.execute(
                    update(active_route_table).values(
                        version_id=version, generation=generation + 1, changed_at=now
                    )
                )
        return int(version)


def _nginx_conf(tmp: Path, port: int, backend_port: int) -> Path:
    return nginx_table.write_conf(
        tmp,
        port=port,
        upstreams={"backend": backend_port},
        locations="location / { proxy_pass http://backend; }",
    )


class _Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.children: list[Child] = []
        self.ports: dict[str, int] = {}
        self.notes: list[str] = []
        self.proxy_cpus, self.load_cpus = cpu_split()

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        cpus = self.load_cpus if "backend" in name else self.proxy_cpus
        child = Child(argv, log=self.tmp / f"{name}.log", env=env, cpus=cpus)
        self.children.append(child)
        return child

    def start(self) -> None:
        py = sys.executable
        for name in ("backend", "shadow-backend"):
            port = self.ports[name] = free_port()
            wait_port(port, self._start(name, [py, "-m", "benchmarks.backend", "--port", str(port)]))
        # The shadow target stands in for a new service on machines of its own: on this one it shares
        # the load generator's core, so it only gets the CPU time the load generator and the primary
        # backend leave (as the shadow process itself, which runs at idle priority by design).
        shadow_backend = self.children[-1].pid
        try:
            os.sched_setscheduler(shadow_backend, os.SCHED_IDLE, os.sched_param(0))
            self.notes.append(f"# shadow backend {shadow_backend} at idle priority (SCHED_IDLE)")
        except (AttributeError, OSError) as exc:
            self.notes.append(f"# shadow backend kept at normal priority ({exc})")
        backend = f"http://127.0.0.1:{self.ports['backend']}"
        port = self.ports["minimal"] = free_port()
        minimal = self.minimal = self._start(
            "minimal",
            [
                py,
                "-m",
                "uvicorn",
                "--factory",
                "benchmarks.minimal_proxy:create_app",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            {"MINIMAL_PROXY_UPSTREAM": backend},
        )
        wait_port(port, minimal)
        self.store = _Store(self.tmp / "store.sqlite3")
        self.shadow_backend = f"http://127.0.0.1:{self.ports['shadow-backend']}"
        self.backend = backend
        self.plain_version = self.store.publish(_table(backend, self.shadow_backend, shadow=False))
        port = self.ports["dataplane"] = free_port()
        internal_port = self.ports["dataplane-internal"] = free_port()
        self.dataplane = self._start(
            "dataplane",
            [py, "-m", "strangler_proxy.dataplane"],
            {
                "STRANGLER_HOME": str(self.tmp / "home"),
                "STRANGLER_STORE_URL": self.store.url,
                "STRANGLER_LEGACY_URL": backend,
                "STRANGLER_DATAPLANE_PORT": str(port),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
                "STRANGLER_DATAPLANE_WORKERS": "1",
                "STRANGLER_ACCESS_LOG_PATH": str(self.tmp / "access.log"),
            },
        )
        self._wait_version(self.plain_version)
        # The shadow process (the data plane's child) mirrors and compares off the worker: it runs on
        # the other cores, with the backends and the load generator, not on the worker's core.
        shadow_pids = child_pids(self.dataplane.pid)
        for pid in shadow_pids:
            pin(pid, self.load_cpus)
        self.notes.append(f"# shadow process(es) {shadow_pids} pinned to cpus {sorted(self.load_cpus or [])}")
        if NGINX.exists():
            port = self.ports["nginx"] = free_port()
            conf = _nginx_conf(self.tmp, port, self.ports["backend"])
            wait_port(port, self._start("nginx", [str(NGINX), "-c", str(conf), "-g", "daemon off;"]))
        else:
            self.notes.append("# nginx: skipped (/usr/sbin/nginx is not installed)")

    def _wait_version(self, version: int) -> None:
        wait_version(self.ports["dataplane-internal"], version, self.dataplane, timeout=30.0, poll_s=0.02)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if hasattr(self, "store"):
            self.store.engine.dispose()

    def _load(self, name: str, *, connections: int, duration: float) -> dict:
        target = "backend" if name == "direct" else name
        result = run_loadgen(
            self.ports[target], PATH, connections=connections, duration=duration, cpus=self.load_cpus
        )
        if result["errors"]:
            raise RuntimeError(f"{name}: {result['errors']} failed requests")
        return result

    def measure(self) -> list[str]:
        variants = ["minimal", "dataplane", "direct"] + (["nginx"] if "nginx" in self.ports else [])
        for name in variants:  # warm-up: pools filled, code paths hot
            self._load(name, connections=CONNECTIONS, duration=1.0)
        rps: dict[str, list[float]] = {name: [] for name in variants}
        pids = {"minimal": self.minimal.pid, "dataplane": self.dataplane.pid}
        cpu_us: dict[str, list[float]] = {name: [] for name in pids}
        for _ in range(ROUNDS):
            for name in variants:
                before = cpu_seconds(pids[name]) if name in pids else 0.0
                result = self._load(name, connections=CONNECTIONS, duration=THROUGHPUT_S)
                rps[name].append(result["rps"])
                if name in pids:
                    cpu_us[name].append((cpu_seconds(pids[name]) - before) / result["requests"] * 1e6)
        ratio = statistics.median(d / m for d, m in zip(rps["dataplane"], rps["minimal"], strict=True))
        p50: dict[str, list[float]] = {"direct": [], "dataplane": [], "minimal": []}
        for _ in range(LATENCY_ROUNDS):
            for name in p50:
                p50[name].append(self._load(name, connections=1, duration=LATENCY_S)["p50_us"])
        added = statistics.median(d - b for d, b in zip(p50["dataplane"], p50["direct"], strict=True))
        minimal_added = statistics.median(m - b for m, b in zip(p50["minimal"], p50["direct"], strict=True))
        shadow_cost = self._shadow_cost()
        rss = self._rss()
        lines = [
            f"throughput_vs_minimal: {ratio:.2f}",
            f"added_p50_latency_us: {added:.0f}",
            f"worker_peak_rss_mb: {rss:.1f}",
            f"shadow_throughput_cost: {shadow_cost:.2f}",
        ]
        details = [f"# req/s at {CONNECTIONS} connections (median of {ROUNDS}):"]
        details += [f"#   {name}: {statistics.median(values):.0f}" for name, values in rps.items()]
        if "nginx" in rps:
            nginx = statistics.median(d / n for d, n in zip(rps["dataplane"], rps["nginx"], strict=True))
            details.append(f"#   data plane / nginx: {nginx:.2f}")
        details.append(
            "# proxy CPU per request at 32 connections, us (median): "
            + ", ".join(f"{name} {statistics.median(values):.0f}" for name, values in cpu_us.items())
        )
        details.append(f"# p50 latency at 1 connection, microseconds (median of {LATENCY_ROUNDS} rounds):")
        details += [f"#   {name}: {statistics.median(values):.0f}" for name, values in p50.items()]
        details.append(
            f"#   minimal pass-through over direct: {minimal_added:.0f} (the same figure for the yardstick)"
        )
        return lines + details + self.notes

    def _shadow_cost(self) -> float:
        shadow_table = _table(self.backend, self.shadow_backend, shadow=True)
        plain_table = _table(self.backend, self.shadow_backend, shadow=False)
        ratios = []
        cpu: dict[str, list[float]] = {"shadow": [], "plain": []}
        for round_ in range(SHADOW_ROUNDS):
            # ABBA order: a drift during a pair of rounds favours neither side
            order = (("shadow", shadow_table), ("plain", plain_table))
            rps: dict[str, float] = {}
            for name, table in order if round_ % 2 == 0 else reversed(order):
                self._wait_version(self.store.publish(table))
                rps[name] = self._cpu_load(cpu[name])
            ratios.append(rps["shadow"] / rps["plain"])
        self.notes.append(f"# shadow/plain req/s ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
        self.notes.append(
            "# worker CPU per request, us (median): "
            + ", ".join(f"{name} {statistics.median(values):.0f}" for name, values in cpu.items())
        )
        with self.store.engine.connect() as conn:
            compared = conn.execute(
                select(func.coalesce(func.sum(shadow_counts.c.matches + shadow_counts.c.mismatches), 0))
            ).scalar_one()
        self.notes.append(f"# shadow comparisons recorded in shadow_counts: {compared}")
        return max(0.0, 1 - statistics.median(ratios))

    def _cpu_load(self, cpu_us: list[float]) -> float:
        """req/s of one run on the data plane; appends the worker's CPU time per request."""
        before = cpu_seconds(self.dataplane.pid)
        result = self._load("dataplane", connections=CONNECTIONS, duration=SHADOW_S)
        cpu_us.append((cpu_seconds(self.dataplane.pid) - before) / result["requests"] * 1e6)
        return float(result["rps"])

    def _rss(self) -> float:
        result = run_loadgen(
            self.ports["dataplane"],
            PATH,
            connections=RSS_CONNECTIONS,
            requests=RSS_REQUESTS,
            cpus=self.load_cpus,
        )
        if result["errors"]:
            raise RuntimeError(f"{result['errors']} requests failed in the memory run")
        self.notes.append(
            f"# memory run: {result['requests']} requests over {RSS_CONNECTIONS} connections "
            f"at {result['rps']:.0f} req/s"
        )
        return peak_rss_mb(self.dataplane.pid)


def run() -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    bench = _Bench(tmp)
    try:
        bench.start()
        return bench.measure()
    finally:
        bench.stop()
        shutil.rmtree(tmp, ignore_errors=True)
