"""Instructions per request of the data plane with tracing off, on at 10 % and on at 100 % sampling,
counted by callgrind in the worker and its span exporting process together.

    .venv/bin/python -m benchmarks.tracing_instructions      (needs valgrind; about ten minutes)

What ``bench_tracing`` measures in req/s, counted so that the load of a shared machine does not move
it: each variant's data plane (the same table, backend and ``OTEL_*`` variables as ``bench_tracing``,
exporting to the same local sink) runs under ``valgrind --tool=callgrind --trace-children=yes`` with
instrumentation off until the measured requests; then the worker and its exporting process are
counted from the first measured request until 6 s after the last (the same window for every variant,
and the sink must have taken the last span exported by then), and their counts are divided by the
number of requests. ``off / on`` is what ``tracing_throughput_cost``
tends to when the data plane has a core of its own. Not counted: the kernel's work (the pipe and
socket writes). Not part of ``make bench``: no target, a tool for comparing changes.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_proxy import PATH, _Store, _table
from benchmarks.bench_tracing import VARIANTS, _Sink
from benchmarks.processes import Child, child_pids, cpu_split, free_port, run_loadgen, wait_port, wait_version

__all__ = ["main"]

REQUESTS = 3000
WARM_UP = 300
WINDOW_S = 6.0
CONNECTIONS = 32
_TOTALS = re.compile(r"^totals: (\d+)", re.M)


def _file(name: str) -> str:
    return name.replace("%", "pct")  # valgrind reads % in its output file's name


def _exporters(pid: int) -> list[int]:
    """The span exporting processes among ``pid``'s children."""
    found = []
    for child in child_pids(pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"strangler_proxy.dataplane.span_exporter" in cmdline:
            found.append(child)
    return found


def _settled(sink: _Sink, name: str, *, window_s: float = WINDOW_S) -> None:
    """Return ``window_s`` seconds after now, once the sink has taken nothing more from ``name`` for a
    second: every variant is counted over the same time after its load, so the worker's background work
    (stats, table polls) weighs alike in all."""
    start = time.monotonic()
    last, since = sink.by_variant[name], start
    while time.monotonic() - since < 1.0 or time.monotonic() - start < window_s:
        if time.monotonic() - start > window_s + 60:
            raise TimeoutError(f"{name}: the span export never settled")
        time.sleep(0.1)
        if sink.by_variant[name] != last:
            last, since = sink.by_variant[name], time.monotonic()
    if since - start > window_s - 1.0:
        print(f"# {name}: the export took {since - start:.1f} s to settle, past the {window_s:.0f} s window")


def _total(out: str) -> int:
    dumps = sorted(glob.glob(f"{out}.*"), key=os.path.getmtime)
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump for {out}")
    found = _TOTALS.search(Path(dumps[-1]).read_text())
    if found is None:
        raise RuntimeError(f"no totals in {dumps[-1]}")
    return int(found.group(1))


def _count(name: str, port: int, child: Child, tmp: Path, sink: _Sink, cpus: set[int] | None) -> float:
    """Instructions per request of the worker and its exporting process."""
    run_loadgen(port, PATH, connections=CONNECTIONS, requests=WARM_UP, cpus=cpus)
    _settled(sink, name)
    pids = [child.pid, *_exporters(child.pid)]
    control = ["callgrind_control"]
    for pid in pids:
        subprocess.run([*control, "-i", "on", str(pid)], check=True, capture_output=True)
    result = run_loadgen(port, PATH, connections=CONNECTIONS, requests=REQUESTS, cpus=cpus)
    _settled(sink, name)
    for pid in pids:
        subprocess.run([*control, "-i", "off", str(pid)], check=True, capture_output=True)
        subprocess.run([*control, "-d", name, str(pid)], check=True, capture_output=True)
    if result["errors"]:
        raise RuntimeError(f"{name}: {result['errors']} failed requests")
    return sum(_total(str(tmp / f"{_file(name)}.cg.{pid}")) for pid in pids) / result["requests"]


def main() -> None:
    _proxy_cpus, load_cpus = cpu_split()
    tmp = Path(tempfile.mkdtemp(prefix="bench-tracing-instructions-"))
    children: list[Child] = []
    sink = _Sink()
    counts: dict[str, float] = {}
    try:
        backend_port = free_port()
        backend = Child(
            [sys.executable, "-m", "benchmarks.backend", "--port", str(backend_port)], log=tmp / "backend.log"
        )
        children.append(backend)
        wait_port(backend_port, backend)
        backend_url = f"http://127.0.0.1:{backend_port}"
        store = _Store(tmp / "store.sqlite3")
        version = store.publish(_table(backend_url, backend_url, shadow=False))
        for name, extra in VARIANTS.items():  # one at a time: each under callgrind is slow enough
            env = dict(extra)
            if name != "off":
                env |= {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.port}",
                    "OTEL_SERVICE_NAME": f"bench-{name}",
                    "OTEL_BSP_SCHEDULE_DELAY": "200",
                }
            port, internal = free_port(), free_port()
            valgrind = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no"]
            child = Child(
                [
                    *valgrind,
                    f"--callgrind-out-file={tmp / _file(name)}.cg.%p",
                    sys.executable,
                    "-m",
                    "strangler_proxy.dataplane",
                ],
                log=tmp / f"dataplane-{name}.log",
                env={
                    "STRANGLER_HOME": str(tmp / f"home-{name}"),
                    "STRANGLER_STORE_URL": store.url,
                    "STRANGLER_LEGACY_URL": backend_url,
                    "STRANGLER_DATAPLANE_PORT": str(port),
                    "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal),
                    "STRANGLER_DATAPLANE_WORKERS": "1",
                    "STRANGLER_ACCESS_LOG_PATH": str(tmp / f"access-{name}.log"),
                    **env,
                },
            )
            children.append(child)
            wait_version(internal, version, child, timeout=600.0, poll_s=0.5, request_s=5.0)
            counts[name] = _count(name, port, child, tmp, sink, load_cpus)
            child.stop()
        store.engine.dispose()
    finally:
        for child in reversed(children):
            child.stop()
        sink.close()
        shutil.rmtree(tmp, ignore_errors=True)
    for name, count in counts.items():
        print(f"{name}: {count / 1000:.1f} k instructions per request (worker + span exporter)")
    off, ten, every = counts["off"], counts["on-10%"], counts["on-100%"]
    print(f"off / on-10%: {off / ten:.3f}; off / on-100%: {off / every:.3f}")
    # a sampled request's extra cost, from the 100 % variant; what is left at 10 % is an unsampled one's
    sampled = every - off
    print(
        f"a sampled request: +{sampled / 1000:.1f} k instructions; "
        f"an unsampled one, from the 10 % variant: +{(ten - off - 0.1 * sampled) / 0.9 / 1000:.1f} k"
    )


if __name__ == "__main__":
    main()
