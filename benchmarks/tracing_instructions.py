"""Instructions per request of the data plane with tracing off, on at 10 % and on at 100 % sampling,
counted by callgrind in the worker and its span exporting process together.

    .venv/bin/python -m benchmarks.tracing_instructions      (needs valgrind; about ten minutes)

What ``bench_tracing`` measures in req/s, counted so that the load of a shared machine does not move
it: each variant's data plane (the same table, backend and ``OTEL_*`` variables as ``bench_tracing``,
exporting to the same local sink) runs under ``valgrind --tool=callgrind --trace-children=yes`` with
instrumentation off until the measured requests; then the worker and its exporting process are
counted from the first measured request until they exit, the data plane stopped as a stack stops it
(the exporting process exports what it holds at the end of its input), and their counts are divided
by the number of requests. The load and the shutdown are counted alike in every variant, the worker's
background work (stats, table polls) included. Spans are exported in full batches of 512 and the rest
at the end (``OTEL_BSP_SCHEDULE_DELAY`` of 10 minutes), as at ``bench_tracing``'s pace; the spans of
the 100 warm-up requests are exported with the measured ones (about 3 % more spans counted, a cost
on the side that encodes at export: the SDK's). ``off / on`` is what ``tracing_throughput_cost``
tends to when the data plane has a core of its own. Not counted: the kernel's work (the pipe and
socket writes). Not part of ``make bench``: no target, a tool for comparing changes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
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
WARM_UP = 100
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


def _total(out: str) -> int:
    """Instructions in callgrind's output at the process's exit."""
    found = _TOTALS.search(Path(out).read_text())
    if found is None:
        raise RuntimeError(f"no totals in {out}")
    return int(found.group(1))


def _stop(child: Child, pids: list[int], timeout: float = 600.0) -> None:
    """Stop the data plane as a stack does (its exporting process exports what it holds and ends at the
    end of its input) and wait until every counted process has ended and written its counts."""
    os.killpg(child.pid, signal.SIGTERM)
    child.popen.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {pids} did not end")
        time.sleep(0.2)


def _count(name: str, port: int, child: Child, tmp: Path, sink: _Sink, cpus: set[int] | None) -> float:
    """Instructions per request of the worker and its exporting process: counted from the first
    measured request to their exit, so the spans exported at the end count too."""
    run_loadgen(port, PATH, connections=CONNECTIONS, requests=WARM_UP, cpus=cpus)
    pids = [child.pid, *_exporters(child.pid)]
    for pid in pids:
        subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
    result = run_loadgen(port, PATH, connections=CONNECTIONS, requests=REQUESTS, cpus=cpus)
    _stop(child, pids)
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
                    # exports of full batches only (512 spans, the rest at the end), as in bench_tracing's
                    # pace: valgrind's would otherwise make each 5 s export a small one
                    "OTEL_BSP_SCHEDULE_DELAY": "600000",
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
