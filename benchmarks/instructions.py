"""Instructions per request of the data plane and of the minimal pass-through, counted by callgrind.

    .venv/bin/python -m benchmarks.instructions        (needs valgrind; about three minutes)

CPU time per request moves with whatever else runs on the machine (caches, frequency, preemption);
the number of user-space instructions a request executes does not, so this compares two versions of
the code on a busy machine where ``bench_proxy``'s figures drift by 5-10 %. Both proxies run under
``valgrind --tool=callgrind`` with instrumentation off until the measured requests (32 connections,
the same request and route table as ``bench_proxy``), then the counts of those requests alone are
dumped and divided by their number. Not counted: the kernel's work (system calls such as the socket
writes, which ``bench_proxy`` and ``strace -c`` see). Not part of ``make bench``: no target, a tool
for comparing changes.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_proxy import PATH, _Store, _table
from benchmarks.processes import Child, cpu_split, free_port, run_loadgen, wait_port, wait_version

__all__ = ["main"]

REQUESTS = 2000
WARM_UP = 300
CONNECTIONS = 32
_TOTALS = re.compile(r"^totals: (\d+)", re.M)


def _callgrind(out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]


def _count(name: str, port: int, child: Child, out: Path, cpus: set[int] | None) -> float:
    """Instructions per request of ``REQUESTS`` requests on ``port``."""
    run_loadgen(port, PATH, connections=CONNECTIONS, requests=WARM_UP, cpus=cpus)
    control = ["callgrind_control"]
    subprocess.run([*control, "-i", "on", str(child.pid)], check=True, capture_output=True)
    result = run_loadgen(port, PATH, connections=CONNECTIONS, requests=REQUESTS, cpus=cpus)
    subprocess.run([*control, "-i", "off", str(child.pid)], check=True, capture_output=True)
    subprocess.run([*control, "-d", name, str(child.pid)], check=True, capture_output=True)
    if result["errors"]:
        raise RuntimeError(f"{name}: {result['errors']} failed requests")
    dumps = sorted(glob.glob(f"{out}.*"), key=os.path.getmtime)
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump for {name}")
    found = _TOTALS.search(Path(dumps[-1]).read_text())
    if found is None:
        raise RuntimeError(f"no totals in {dumps[-1]}")
    return int(found.group(1)) / result["requests"]


def main() -> None:
    global CONNECTIONS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="concurrent connections (32)")
    parser.add_argument(
        "--shadow", action="store_true", help="the products rule shadows (100 %%) instead of sending to new"
    )
    options = parser.parse_args()
    CONNECTIONS = options.connections
    py = sys.executable
    _proxy_cpus, load_cpus = cpu_split()
    tmp = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    children: list[Child] = []
    try:
        backend_port = free_port()
        backend = Child(
            [py, "-m", "benchmarks.backend", "--port", str(backend_port)], log=tmp / "backend.log"
        )
        children.append(backend)
        wait_port(backend_port, backend)
        backend_url = f"http://127.0.0.1:{backend_port}"
        minimal_port = free_port()
        minimal_argv = [py, "-m", "uvicorn", "--factory", "benchmarks.minimal_proxy:create_app"]
        minimal_argv += ["--port", str(minimal_port), "--loop", "uvloop", "--http", "httptools"]
        minimal_argv += ["--no-access-log", "--log-level", "warning"]
        minimal = Child(
            [*_callgrind(tmp / "minimal.cg"), *minimal_argv],
            log=tmp / "minimal.log",
            env={"MINIMAL_PROXY_UPSTREAM": backend_url},
        )
        children.append(minimal)
        store = _Store(tmp / "store.sqlite3")
        version = store.publish(_table(backend_url, backend_url, shadow=options.shadow))
        dataplane_port, internal_port = free_port(), free_port()
        dataplane = Child(
            [*_callgrind(tmp / "dataplane.cg"), py, "-m", "strangler_proxy.dataplane"],
            log=tmp / "dataplane.log",
            env={
                "STRANGLER_HOME": str(tmp / "home"),
                "STRANGLER_STORE_URL": store.url,
                "STRANGLER_LEGACY_URL": backend_url,
                "STRANGLER_DATAPLANE_PORT": str(dataplane_port),
                "STRANGLER_DATAPLANE_INTERNAL_PORT": str(internal_port),
                "STRANGLER_DATAPLANE_WORKERS": "1",
                "STRANGLER_ACCESS_LOG_PATH": str(tmp / "access.log"),
            },
        )
        children.append(dataplane)
        wait_port(minimal_port, minimal, timeout=600)
        wait_version(internal_port, version, dataplane, timeout=600.0, poll_s=0.5, request_s=5.0)
        counts = {
            "minimal": _count("minimal", minimal_port, minimal, tmp / "minimal.cg", load_cpus),
            "dataplane": _count("dataplane", dataplane_port, dataplane, tmp / "dataplane.cg", load_cpus),
        }
        store.engine.dispose()
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for name, count in counts.items():
        print(f"{name}: {count / 1000:.1f} k instructions per request")
    print(f"minimal / dataplane: {counts['minimal'] / counts['dataplane']:.3f}")


if __name__ == "__main__":
    main()
