"""A drill leaves the system as it found it: the guard's settings, the stock it wrote; reasons in words."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from migration_plan.drills import runner
from migration_plan.drills.control import DrillControl
from migration_plan.drills.scenarios import describe_fault
from migration_plan.drills.writes import read_stock, revert_stock

pytestmark = pytest.mark.unit


class GuardAdmin:
    """The two guard calls of the admin API, in memory."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.guards = {"reads": {"enabled": True, "settings": settings}}
        self.puts: list[dict[str, Any]] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if (method, path) == ("GET", "/guards"):
            return {"guards": [{"route": k, **v} for k, v in self.guards.items()]}
        if method == "PUT" and path == "/guards/reads":
            assert body is not None
            self.puts.append(body)
            settings = {"failing_windows": 5, **body["settings"]}
            self.guards["reads"] = {"enabled": body["enabled"], "settings": settings}
            return {"route": "reads", **body}
        raise AssertionError(f"unexpected {method} {path}")


def test_the_guard_is_restored_even_when_the_drill_fails(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin = GuardAdmin({"failing_windows": 7, "min_requests": 5})
    control = DrillControl(admin, "reads")  # type: ignore[arg-type]

    def failing_drill(*_args: Any, **_kwargs: Any) -> Any:
        control.configure_guard()  # what a drill does first: failing_windows 2
        raise RuntimeError("the catalog did not come up")

    monkeypatch.setattr(runner, "run_drill", failing_drill)
    monkeypatch.setattr(runner, "write_report", lambda result, reports: reports / "r.md")
    monkeypatch.setattr(runner, "write_index", lambda *a: None)
    [result] = runner.run_scenarios(["errors"], None, control, runner.DrillOptions(), tmp_path)  # type: ignore[arg-type]
    assert result.error and "did not come up" in result.error
    assert admin.puts[0]["settings"]["failing_windows"] == 2
    assert admin.puts[-1] == {"enabled": True, "settings": {"failing_windows": 7, "min_requests": 5}}


def test_a_fault_reason_reads_as_words() -> None:
    assert describe_fault({"target": "new", "percent": 50.0, "abort_status": 500}) == (
        "answer 500 on 50% of the new side's requests"
    )
    assert describe_fault({"delay_ms": 400}) == "400 ms delay on 100% of the new side's requests"


class _Shop(BaseHTTPRequestHandler):
    stock = {1: 10, 2: 3}
    writes: list[tuple[int, int, str]] = []

    def do_GET(self) -> None:
        product = int(self.path.rstrip("/").split("/")[-1])
        self._answer({"id": product, "stock": self.stock[product]})

    def do_POST(self) -> None:
        product = int(self.path.split("/")[-2])
        delta = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["delta"]
        self.stock[product] += delta
        self.writes.append((product, delta, self.headers.get("Authorization", "")))
        self._answer({"id": product, "stock": self.stock[product]})

    def _answer(self, data: dict[str, Any]) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_drills_stock_writes_are_reverted(shop: str) -> None:
    before = read_stock(shop, [1, 2])
    _Shop.stock[1] += 4  # what the drill's acknowledged writes did
    lines = revert_stock(shop, before, ("staff", "pw"))
    assert read_stock(shop, [1, 2]) == before
    assert lines == ["product 1: stock 14 -> 10 (drill writes reverted)"]
    assert [(p, d) for p, d, _ in _Shop.writes] == [(1, -4)] and _Shop.writes[0][2].startswith("Basic ")
