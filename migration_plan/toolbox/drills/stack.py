"""The stack a drill runs against: one it starts itself (`strangler up` on free ports in its own home)
or one that is already running (``--attach``), reached by its URLs and its supervisor's control socket."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_plan.ports import free_port, free_port_range
from migration_plan.project.loader import load_project
from migration_plan.project.schema import ProjectFile
from migration_plan.toolbox.supervisor.control import ControlError, send_command
from migration_plan.toolbox.supervisor.reverse_specs import sync_health_port_count
from migration_plan.toolbox.supervisor.sync_specs import carried_directions

__all__ = ["DRILL_STACK_ENV", "OwnStack", "StackAddresses", "StackError", "free_port", "free_port_range"]

DRILL_STACK_ENV = {
    # The workers flush their per-second stats every 0.25 s (default 1), so the guards can judge a second
    # 0.5 s after it ended (default 2 s) and tick every 0.1 s (default 0.5): a rollback lands about 1.6 s
    # after the first failing window, well within the 3 s target even on a loaded machine. The drill
    # also sets failing_windows=2 on its route (see docs/walkthrough.md).
    "STRANGLER_STATS_INTERVAL_S": "0.25",
    "STRANGLER_GUARD_LAG_S": "0.5",
    "STRANGLER_GUARD_INTERVAL_S": "0.1",
    # The proxy says which side answered (x-strangler-target), so the drill can plot per target.
    "STRANGLER_DEBUG_HEADERS": "true",
    "STRANGLER_DATAPLANE_WORKERS": "2",
    "STRANGLER_ACCESS_LOG": "false",
}


class StackError(Exception):
    """The stack could not be started, or is not in a state a drill can use."""


@dataclass(frozen=True)
class StackAddresses:
    home: Path
    front_url: str
    admin_url: str
    legacy_url: str
    service_url: str
    """The drilled service, directly (its readiness, its own copy of the write probe's counters)."""

    @property
    def socket_path(self) -> Path:
        return self.home / "supervisor.sock"

    def supervisor(self, command: str, name: str | None = None, *, timeout: float = 180.0) -> dict[str, Any]:
        """Send one command to the stack's supervisor (ps, stop, start, restart)."""
        request: dict[str, Any] = {"command": command}
        if name is not None:
            request["name"] = name
        return send_command(self.socket_path, request, timeout=timeout)

    def process(self, name: str) -> dict[str, Any]:
        for process in self.supervisor("ps")["processes"]:
            if process["name"] == name:
                return dict(process)
        raise StackError(f"the supervisor runs no process named {name!r}")

    def dataplane_workers(self) -> list[int]:
        """Pids of the data plane's uvicorn workers: its master's children started by multiprocessing's
        spawn (not its sidecars, nor multiprocessing's resource tracker); empty when it runs none."""
        master = self.process("dataplane").get("pid")
        children = Path(f"/proc/{master}/task/{master}/children")
        if not master or not children.exists():
            return []
        workers = []
        for pid in children.read_text().split():
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            if b"spawn_main" in command and b"resource_tracker" not in command:
                workers.append(int(pid))
        return workers

    @classmethod
    def from_environment(
        cls, home: Path, project: ProjectFile, service: str, environ: Mapping[str, str] | None = None
    ) -> StackAddresses:
        """The addresses of an already-running stack, from the same variables `strangler up` reads, else
        from ``project`` (its ports, the monolith's port or URL, ``service``'s port)."""
        env = os.environ if environ is None else environ

        def local(variables: tuple[str, ...], default: int) -> str:
            port = next((env[name] for name in variables if env.get(name)), default)
            return f"http://127.0.0.1:{port}"

        ports = project.ports
        legacy = project.legacy.url or local(legacy_port_variables(project), project.legacy.port)
        section = next((s for s in project.services if s.name == service), None)
        if section is None:
            raise StackError(f"strangler.toml has no service named {service!r}")
        prefix = service.upper()
        return cls(
            home=home,
            front_url=env.get("STRANGLER_FRONT_URL") or local(("STRANGLER_DATAPLANE_PORT",), ports.dataplane),
            admin_url=env.get("STRANGLER_ADMIN_URL") or local(("STRANGLER_ADMIN_PORT",), ports.admin),
            legacy_url=env.get("STRANGLER_LEGACY_URL") or legacy,
            service_url=env.get(f"{prefix}_URL") or local((f"{prefix}_PORT",), section.port),
        )


def legacy_port_variables(project: ProjectFile) -> tuple[str, ...]:
    """Every variable `strangler up` reads the monolith's port from, in order: ``STRANGLER_LEGACY_PORT``,
    then the project's ``[legacy] port_variables``."""
    return ("STRANGLER_LEGACY_PORT", *project.legacy.port_variables)


class OwnStack:
    """`strangler up` of ``project_file`` in its own process group, on free ports, in ``home``; a context
    manager. The monolith's port is ``STRANGLER_LEGACY_PORT``, each service's ``<NAME>_PORT``."""

    def __init__(
        self,
        home: Path,
        project_file: Path,
        service: str,
        upstream: str,
        *,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 240.0,
        prepare: bool = True,
    ) -> None:
        """``service``: the drilled service's name (its ``upstream``); ``env``: variables of the stack
        beyond the file's ``[drills] env``; ``prepare``: register the upstream and run ``[drills]
        prepare`` once the stack is ready (a drill needs both; the walkthrough does them itself)."""
        self.home = home.absolute()
        self.project_file = project_file.absolute()
        self.project = load_project(self.project_file)
        if service not in {s.name for s in self.project.services}:
            raise StackError(f"{self.project_file} has no service named {service!r}")
        self.service, self.upstream = service, upstream
        self.env = dict(env or {})
        self.prepare = prepare
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self.addresses: StackAddresses | None = None
        self.ports: dict[str, int] = {}
        """The port of each part once started, by the variable `strangler up` reads it from."""
        self.environment: dict[str, str] = {}
        """The environment `strangler up` was started with (its processes inherit it), once started."""

    def __enter__(self) -> StackAddresses:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _inherited(self) -> dict[str, str]:
        """This process's environment less what would steer the stack: STRANGLER_*, DATABASE_URL, each
        service's <NAME>_* and the monolith's own variables (the prefixes of its [legacy] env names)."""
        prefixes = ["STRANGLER_", *(f"{s.name.upper()}_" for s in self.project.services)]
        prefixes += [name.split("_")[0] + "_" for name in self.project.legacy.env if "_" in name]
        return {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(tuple(prefixes)) and key != "DATABASE_URL"
        }

    def start(self) -> StackAddresses:
        service, upstream = self.service, self.upstream
        names = ["STRANGLER_DATAPLANE_PORT", "STRANGLER_DATAPLANE_INTERNAL_PORT", "STRANGLER_ADMIN_PORT"]
        names += ["STRANGLER_LEGACY_PORT", *(f"{s.name.upper()}_PORT" for s in self.project.services)]
        ports = {name: free_port() for name in names}
        self.ports = ports
        service_url = f"http://127.0.0.1:{ports[f'{service.upper()}_PORT']}"
        env = self._inherited()
        env.update({name: str(port) for name, port in ports.items()})
        # Free health ports for the sync workers too, not ports derived from the monolith's.
        carried = carried_directions(self.project.sync.workers)
        count = sync_health_port_count(self.project, carried)
        env["STRANGLER_SYNC_HEALTH_PORT"] = str(free_port_range(count))
        env.update(DRILL_STACK_ENV)
        if self.prepare:
            env["STRANGLER_UPSTREAMS"] = f"{upstream}={service_url}"
        drills = self.project.drills
        env.update(drills.env if drills is not None else {})
        env.update(self.env)
        env.update(
            {
                "STRANGLER_HOME": str(self.home),
                "STRANGLER_CONFIG": str(self.project_file),
                "PYTHONUNBUFFERED": "1",
                "NO_COLOR": "1",
            }
        )
        self.environment = dict(env)
        self.home.mkdir(parents=True, exist_ok=True)
        command = (sys.executable, "-c", "from migration_plan.cli.main import main; main()", "up")
        with open(self.home / "drill-stack.log", "wb") as log:
            self._process = subprocess.Popen(
                command,
                env=env,
                cwd=self.project_file.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        legacy_url = self.project.legacy.url or f"http://127.0.0.1:{ports['STRANGLER_LEGACY_PORT']}"
        self.addresses = StackAddresses(
            home=self.home,
            front_url=f"http://127.0.0.1:{ports['STRANGLER_DATAPLANE_PORT']}",
            admin_url=f"http://127.0.0.1:{ports['STRANGLER_ADMIN_PORT']}",
            legacy_url=legacy_url,
            service_url=service_url,
        )
        try:
            self._wait_ready()
            if self.prepare:
                self._run_prepare(env)
        except BaseException:
            self.stop()
            raise
        return self.addresses

    def _wait_ready(self) -> None:
        assert self._process is not None and self.addresses is not None
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer on the control socket yet"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StackError(f"`strangler up` exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                processes = self.addresses.supervisor("ps", timeout=5)["processes"]
            except (ControlError, OSError) as exc:
                last = str(exc)
            else:
                pending = [p["name"] for p in processes if p["state"] != "running" or p["health"] != "ok"]
                if processes and not pending:
                    return
                last = f"waiting for {', '.join(pending)}"
            time.sleep(0.2)
        raise StackError(f"the stack was not ready after {self.startup_timeout:.0f}s ({last})")

    def _run_prepare(self, env: Mapping[str, str]) -> None:
        """``[drills] prepare``, in order, in the project's folder ({python}: this interpreter)."""
        drills = self.project.drills
        for line in drills.prepare if drills is not None else []:
            argv = shlex.split(line.replace("{python}", shlex.quote(sys.executable)))
            result = subprocess.run(
                argv,
                env=dict(env),
                cwd=self.project_file.parent,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if result.returncode != 0:
                raise StackError(f"[drills] prepare `{line}` failed:\n{result.stdout}\n{result.stderr}")

    def log_tail(self, chars: int = 4000) -> str:
        path = self.home / "drill-stack.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, timeout: float = 60.0) -> None:
        """SIGINT the supervisor's group (it stops its children); SIGKILL what is left after ``timeout``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
