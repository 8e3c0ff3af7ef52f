"""docker-compose.yml started for real: the images built (from Debian packages where no registry is
reachable, cached between runs), the stack up with three data planes behind HAProxy, a customer's
requests through the load balancer to the monolith, a route flipped with the CLI against the compose
control plane and served by every data plane, then `down -v` and the Docker daemon stopped by its PID.

Under CI=true a missing Docker engine or root is a failure; elsewhere a skip. The daemon's data root
(images and their layer cache, the locked wheels' layer among them) and the base's root file system
live in STRANGLER_DOCKER_CACHE (default /var/cache/strangler-fig/docker), outside the clone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.net import free_port
from tests.support.processes import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.load]

CACHE = Path(os.environ.get("STRANGLER_DOCKER_CACHE", "/var/cache/strangler-fig/docker"))
DATA_PLANES = 3
UP_TIMEOUT_S = 600.0


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class Daemon:
    """A Docker engine of this test's own: its socket, PID file and exec root in ``run``; its data root
    (the image cache) in CACHE. Stopped by its PID."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.socket = run / "docker.sock"
        self.pidfile = run / "docker.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}

    def start(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        log = (self.run / "dockerd.log").open("wb")
        self.process = subprocess.Popen(
            [
                shutil.which("dockerd") or "/usr/sbin/dockerd",
                "--data-root",
                str(CACHE / "data-root"),
                "--exec-root",
                str(self.run / "exec"),
                "--pidfile",
                str(self.pidfile),
                "--host",
                f"unix://{self.socket}",
                "--storage-driver",
                "overlay2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "info"], env=self.env, capture_output=True).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "dockerd did not start:\n" + (self.run / "dockerd.log").read_text()[-4000:]
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    if os.geteuid() != 0:
        _missing("the compose stack test starts Docker's engine, which needs root")
    for tool in ("dockerd", "docker", "docker-compose", "debootstrap"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            _missing(f"{tool} is missing (make test installs it: scripts/ensure-test-tools)")
    run = Path(f"/tmp/sfd-{uuid.uuid4().hex[:8]}")  # short: the socket path must fit AF_UNIX
    run.mkdir()
    engine = Daemon(run)
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()
        shutil.rmtree(run, ignore_errors=True)


def test_the_compose_stack_scales_serves_and_flips(daemon: Daemon, tmp_path: Path) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "compose-images"), str(CACHE)], env=daemon.env, check=True, timeout=900
    )
    lb_port, admin_port = free_port(), free_port()
    project = f"sf{uuid.uuid4().hex[:8]}"
    env = {
        **daemon.env,
        "COMPOSE_PROJECT_NAME": project,
        "APP_BASE_IMAGE": "localhost/strangler-debian:bookworm",
        "POSTGRES_IMAGE": "localhost/strangler-postgres:15",
        "REDIS_IMAGE": "localhost/strangler-redis:7",
        "HAPROXY_IMAGE": "localhost/strangler-haproxy:2.6",
        "STRANGLER_PUBLISHED_PORT": str(lb_port),
        "STRANGLER_ADMIN_PUBLISHED_PORT": str(admin_port),
        "LOCUST_PUBLISHED_PORT": str(free_port()),
    }
    compose = ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "--project-directory", str(ROOT)]

    def run(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *args], env=env, capture_output=True, text=True, timeout=timeout, check=check
        )

    try:
        run("build", "controlplane", timeout=900)
        up = run(
            "up",
            "-d",
            "--scale",
            f"dataplane={DATA_PLANES}",
            "loadbalancer",
            "catalog",
            timeout=UP_TIMEOUT_S,
            check=False,
        )
        if up.returncode != 0:
            logs = ROOT / "test-artifacts" / f"compose-{project}.log"
            logs.parent.mkdir(exist_ok=True)
            logs.write_text(run("logs", "--no-color", check=False).stdout)
            pytest.fail(f"compose up failed (every container's log in {logs}):\n{up.stderr[-4000:]}")

        shop = f"http://127.0.0.1:{lb_port}"
        admin = f"http://127.0.0.1:{admin_port}"
        page = httpx2.get(shop + "/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        products = httpx2.get(shop + "/api/products", timeout=10)
        assert products.status_code == 200, products.text

        password = run(
            "exec", "-T", "controlplane", "cat", "/run/strangler-secrets/admin_password"
        ).stdout.strip()
        cli_env = {**os.environ, "STRANGLER_ADMIN_PASSWORD": password, "STRANGLER_ADMIN_URL": admin}
        cli = [str(Path(sys.executable).parent / "strangler")]
        for args in (
            ["routes", "add", "products-api", "--path", "/api/products", "--reason", "compose test"],
            [
                "routes",
                "flip",
                "products-api",
                "new",
                "--upstream",
                "catalog",
                "--reason",
                "compose test",
                "--yes",
            ],
        ):
            done = subprocess.run(
                [*cli, *args], env=cli_env, capture_output=True, text=True, timeout=60, cwd=tmp_path
            )
            assert done.returncode == 0, done.stdout + done.stderr
        with httpx2.Client(base_url=admin + "/api/v1", timeout=10) as api:
            api.post("/session", json={"username": "admin", "password": password}).raise_for_status()
            active = api.get("/workers").json()["active_version"]

        served = []
        deadline = time.monotonic() + 30
        for index in range(1, DATA_PLANES + 1):
            probe = "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8002/_strangler/version').read().decode())"
            while True:
                answer = run(
                    "exec", "-T", "--index", str(index), "dataplane", "python", "-c", probe, check=False
                )
                version = json.loads(answer.stdout)["version"] if answer.returncode == 0 else None
                if version == active or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            served.append(version)
        assert served == [active] * DATA_PLANES
        fleet = subprocess.run(
            [*cli, "ps", "--fleet", "--json"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert fleet.returncode == 0, fleet.stderr
        workers = json.loads(fleet.stdout)["workers"]
        assert len({w["instance"] for w in workers}) == DATA_PLANES
        assert all(w["current"] and w["state"] == "serving" for w in workers)
        flipped = httpx2.get(shop + "/api/products", timeout=10)
        assert flipped.status_code == 200, flipped.text
    except BaseException:
        logs = ROOT / "test-artifacts" / f"compose-{project}.log"
        logs.parent.mkdir(exist_ok=True)
        logs.write_text(run("logs", "--no-color", check=False).stdout)
        raise
    finally:
        run("down", "-v", "--remove-orphans", timeout=300, check=False)
