"""The stand-in front door: forwards everything to the monolith unchanged, answers /_strangler/* itself."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.supervisor.harness import get
from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process

pytestmark = pytest.mark.integration

ECHO = r"""
import http.server, json, sys

class Echo(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({
            "method": self.command, "path": self.path, "body": self.rfile.read(length).decode(),
            "host": self.headers.get("Host"), "forwarded_for": self.headers.get("X-Forwarded-For"),
            "connection": self.headers.get("Connection"),
        }).encode()
        status = 302 if self.path == "/redirect" else 200
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/elsewhere")
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = answer
    def log_message(self, *_):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
"""


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[RunningProcess, int]]:
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    port = free_port()
    process = start_process(
        [sys.executable, str(script), str(port)],
        log_path=tmp_path / "echo.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    yield process, port
    process.stop()


@pytest.fixture
def front_door(tmp_path: Path, upstream: tuple[RunningProcess, int]) -> Iterator[int]:
    port = free_port()
    process = start_process(
        [sys.executable, "-m", "migration_plan.supervisor.passthrough"],
        log_path=tmp_path / "passthrough.log",
        env={
            "STRANGLER_DATAPLANE_PORT": str(port),
            "STRANGLER_LEGACY_URL": f"http://127.0.0.1:{upstream[1]}",
        },
        ready_url=f"http://127.0.0.1:{port}/_strangler/healthz",
    )
    yield port
    process.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def test_requests_reach_the_monolith_unchanged(front_door: int, upstream: tuple[RunningProcess, int]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{front_door}/cart/add?sku=A-1&qty=2", data=b"note=hello", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        echoed = json.loads(response.read())
        cookies = response.headers.get_all("Set-Cookie")
    assert echoed["method"] == "POST"
    assert echoed["path"] == "/cart/add?sku=A-1&qty=2"
    assert echoed["body"] == "note=hello"
    assert echoed["host"] == f"127.0.0.1:{front_door}", "the monolith sees the front door's host"
    assert echoed["forwarded_for"] == "127.0.0.1"
    assert cookies == ["a=1", "b=2"]


def test_redirects_are_passed_back_not_followed(front_door: int) -> None:
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        opener.open(f"http://127.0.0.1:{front_door}/redirect", timeout=5)
    assert excinfo.value.code == 302
    assert excinfo.value.headers["Location"] == "/elsewhere"


def test_health_is_answered_by_the_front_door_and_readiness_follows_the_monolith(
    front_door: int, upstream: tuple[RunningProcess, int]
) -> None:
    assert get(f"http://127.0.0.1:{front_door}/_strangler/healthz") == (200, '{"status": "ok"}')
    status, body = get(f"http://127.0.0.1:{front_door}/_strangler/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready", "checks": {"legacy": "ok"}})

    upstream[0].stop()
    status, body = get(f"http://127.0.0.1:{front_door}/_strangler/readyz")
    assert status == 503 and json.loads(body)["checks"]["legacy"].startswith("unreachable")
    status, body = get(f"http://127.0.0.1:{front_door}/products/")
    assert status == 502 and "unreachable" in json.loads(body)["error"]
