"""Small fake processes for the supervisor tests, and a `strangler up` run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import ROOT, VENV_BIN

__all__ = [
    "FAKE_SERVER",
    "StranglerUp",
    "alive",
    "fake_process",
    "get",
    "group_alive",
    "wait_until",
    "write_fake_server",
    "write_procfile",
]

FAKE_SERVER = r'''
"""A fake service: answers GET with its name and pid; /healthz is 503 until --ready-after seconds."""
import argparse, http.server, os, signal, subprocess, sys, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--name", default="fake")
parser.add_argument("--ready-after", type=float, default=0.0)
parser.add_argument("--exit-after", type=float)
parser.add_argument("--exit-code", type=int, default=1)
parser.add_argument("--grandchild-pidfile")
parser.add_argument("--ignore-term", action="store_true")
args = parser.parse_args()
started = time.monotonic()
if args.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if args.grandchild_pidfile:
    code = "import signal, time\n"
    if args.ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "while True: time.sleep(1)\n"
    child = subprocess.Popen([sys.executable, "-c", code])
    with open(args.grandchild_pidfile, "a") as handle:
        handle.write(f"{child.pid}\n")
if args.exit_after is not None:
    def leave():
        time.sleep(args.exit_after)
        print(f"{args.name} exits with {args.exit_code}", flush=True)
        os._exit(args.exit_code)
    threading.Thread(target=leave, daemon=True).start()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ready = time.monotonic() - started >= args.ready_after
        status = 503 if self.path == "/healthz" and not ready else 200
        body = f"{args.name} {os.getpid()}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"{args.name} listening on {args.port}", flush=True)
print(f"{args.name} writes to stderr too", file=sys.stderr, flush=True)
server.serve_forever()
'''


def write_fake_server(directory: Path) -> Path:
    path = directory / "fake_server.py"
    path.write_text(FAKE_SERVER)
    return path


def fake_process(
    server: Path, name: str, port: int, *extra: str, health: bool = True, **options: Any
) -> dict[str, Any]:
    """A procfile entry running the fake server."""
    entry: dict[str, Any] = {
        "name": name,
        "argv": ["python", str(server), "--port", str(port), "--name", name, *extra],
        "port": port,
        "url": f"http://127.0.0.1:{port}/",
        "backoff": {"initial": 0.2, "factor": 2, "cap": 1.0, "reset_after": 30},
        "stop_grace": 3,
        "startup_timeout": 15,
        **options,
    }
    if health:
        entry["health"] = [f"http://127.0.0.1:{port}/healthz"]
    return entry


def write_procfile(path: Path, processes: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"process": processes}, indent=2))
    return path


def get(url: str, *, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_until(predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (and return it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met after {timeout}s")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] not in "ZX":
                return True
    return False


@dataclass
class StranglerUp:
    """`strangler up` running as a real subprocess in its own process group."""

    popen: subprocess.Popen[bytes]
    home: Path
    output_path: Path
    bin_dir: Path = VENV_BIN
    cwd: Path = ROOT
    environ: Mapping[str, str] | None = None

    @classmethod
    def start(
        cls,
        home: Path,
        *args: str,
        env: dict[str, str] | None = None,
        bin_dir: Path = VENV_BIN,
        cwd: Path = ROOT,
        environ: Mapping[str, str] | None = None,
    ) -> StranglerUp:
        """``bin_dir``'s ``strangler up`` in ``cwd``, in ``environ`` (default this process's) plus ``env``."""
        output_path = home.parent / f"{home.name}-up.log"
        base = os.environ if environ is None else environ
        full_env = {**base, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})}
        with open(output_path, "wb") as output:
            popen = subprocess.Popen(
                [str(bin_dir / "strangler"), "up", "--home", str(home), *args],
                cwd=cwd,
                env=full_env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(popen=popen, home=home, output_path=output_path, bin_dir=bin_dir, cwd=cwd, environ=environ)

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.popen.poll() is not None:
                raise AssertionError(f"strangler up exited with {self.popen.returncode}:\n{self.output()}")
            return "strangler-fig is up" in self.output()

        wait_until(ready, timeout=timeout, what="strangler up ready")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin_dir / "strangler"), *args, "--home", str(self.home)],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            env={**(os.environ if self.environ is None else self.environ), "COLUMNS": "200"},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"strangler {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result

    def ps(self) -> dict[str, dict[str, Any]]:
        return {process["name"]: process for process in json.loads(self.cli("ps", "--json").stdout)}

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        """Teardown safety net: nothing of this run may outlive the test."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
