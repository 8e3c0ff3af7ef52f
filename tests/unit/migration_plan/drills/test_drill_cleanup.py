"""A drill leaves the system as it found it: the guard's settings, the route it created, the counters it
wrote; reasons in words."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from migration_plan.admin_client import AdminApiError
from migration_plan.toolbox.drills import runner
from migration_plan.toolbox.drills.control import DrillControl
from migration_plan.toolbox.drills.profile import DrillProfile, Read, WriteProbe
from migration_plan.toolbox.drills.scenarios import describe_fault
from migration_plan.toolbox.drills.writes import read_counts, revert_writes

pytestmark = pytest.mark.unit


PROFILE = DrillProfile(route="reads", upstream="things", service="things", reads=(Read("/things"),))


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
    control = DrillControl(admin, "reads", "things")  # type: ignore[arg-type]

    def failing_drill(*_args: Any, **_kwargs: Any) -> Any:
        control.configure_guard()  # what a drill does first: failing_windows 2
        raise RuntimeError("the catalog did not come up")

    monkeypatch.setattr(runner, "run_drill", failing_drill)
    monkeypatch.setattr(runner, "write_report", lambda result, reports: reports / "r.md")
    monkeypatch.setattr(runner, "write_index", lambda *a: None)
    options = runner.DrillOptions(PROFILE)
    [result] = runner.run_scenarios(["errors"], None, control, options, tmp_path)  # type: ignore[arg-type]
    assert result.error and "did not come up" in result.error
    assert admin.puts[0]["settings"]["failing_windows"] == 2
    assert admin.puts[-1] == {"enabled": True, "settings": {"failing_windows": 7, "min_requests": 5}}


def test_a_fault_reason_reads_as_words() -> None:
    assert describe_fault({"target": "new", "percent": 50.0, "abort_status": 500}) == (
        "answer 500 on 50% of the new side's requests"
    )
    assert describe_fault({"delay_ms": 400}) == "400 ms delay on 100% of the new side's requests"


class _Shop(BaseHTTPRequestHandler):
    """Counters: GET /counters/<id> answers {"value": n}, POST /counters/<id>/add {"by": d} moves it."""

    value = {1: 10, 2: 3}
    writes: list[tuple[int, int, str]] = []

    def do_GET(self) -> None:
        key = int(self.path.rstrip("/").split("/")[-1])
        self._answer({"id": key, "value": self.value[key]})

    def do_POST(self) -> None:
        key = int(self.path.split("/")[-2])
        delta = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["by"]
        self.value[key] += delta
        self.writes.append((key, delta, self.headers.get("Authorization", "")))
        self._answer({"id": key, "value": self.value[key]})

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


PROBE = WriteProbe(
    path="/counters/{id}/add",
    read="/counters/{id}",
    body={"by": 1},
    field="value",
    ids=(1, 2),
    auth=("staff", "pw"),
    undo="by",
)


def test_the_drills_writes_are_reverted_with_the_probes_undo_key(shop: str) -> None:
    before = read_counts(shop, PROBE, [1, 2])
    _Shop.value[1] += 4  # what the drill's acknowledged writes did
    lines = revert_writes(shop, PROBE, before)
    assert read_counts(shop, PROBE, [1, 2]) == before
    assert lines == ["/counters/1: 14 -> 10 (drill writes reverted)"]
    assert [(k, d) for k, d, _ in _Shop.writes] == [(1, -4)] and _Shop.writes[0][2].startswith("Basic ")


def test_writes_a_probe_cannot_undo_stay_and_the_report_says_so(shop: str) -> None:
    kept = WriteProbe(path="/counters/{id}/add", read="/counters/{id}", body={"by": 1}, field="value")
    _Shop.writes.clear()
    assert revert_writes(shop, kept, {1: 0}) == [
        "the drill's writes stay in the monolith (the write probe has no undo)"
    ]
    assert _Shop.writes == []


def test_a_probe_without_field_counts_the_items_of_a_list() -> None:
    listed = WriteProbe(path="/api/things", read="/api/things")
    assert listed.count([{"id": 1}, {"id": 2}], 1) == 2
    with pytest.raises(ValueError, match="no JSON list"):
        listed.count({"results": []}, 1)
    with pytest.raises(ValueError, match="answered no 'value'"):
        PROBE.count({"stock": 3}, 1)


class RoutesAdmin:
    """The route calls of the admin API, in memory."""

    def __init__(self, routes: set[str]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path, body))
        name = path.removeprefix("/routes/")
        if method == "GET":
            if name not in self.routes:
                raise AdminApiError(f"no route {name}", 404)
            return {"rule": {"name": name}}
        if (method, path) == ("POST", "/routes"):
            assert body is not None
            self.routes.add(body["rule"]["name"])
            return {}
        if method == "DELETE":
            self.routes.discard(name)
            return {}
        raise AssertionError(f"unexpected {method} {path}")


def test_a_route_the_drill_creates_goes_first_and_is_removed_afterwards() -> None:
    admin = RoutesAdmin(set())
    match = {"kind": "prefix", "path": "/things", "methods": ["GET", "HEAD"]}
    control = DrillControl(admin, "drill-things", "things", match)  # type: ignore[arg-type]
    control.ensure_route()
    created = admin.calls[-1][2]
    assert created["position"] == 0 and created["rule"]["match"] == match and control.created
    control.ensure_route()  # there now: not created twice
    assert [c[0] for c in admin.calls] == ["GET", "POST", "GET"]
    control.remove_created()
    assert admin.calls[-1][:2] == ("DELETE", "/routes/drill-things") and admin.routes == set()


def test_a_route_the_drill_found_is_left_in_place() -> None:
    admin = RoutesAdmin({"things-read"})
    control = DrillControl(admin, "things-read", "things")  # type: ignore[arg-type]
    control.ensure_route()
    control.remove_created()
    assert admin.routes == {"things-read"} and [c[0] for c in admin.calls] == ["GET"]


def test_a_missing_route_without_a_match_is_a_clear_error() -> None:
    control = DrillControl(RoutesAdmin(set()), "things-read", "things")  # type: ignore[arg-type]
    with pytest.raises(AdminApiError, match=r"no route 'things-read'.*\[drills\] match.*--route /a/path"):
        control.ensure_route()


class AuditAdmin:
    """The audit query of the admin API, in memory: what the guards did."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.paths: list[str] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert method == "GET" and path.startswith("/audit?actor=guard&since="), path
        self.paths.append(path)
        return {"entries": self.entries}


def test_a_guard_rollback_of_another_route_during_the_drill_fails_it() -> None:
    """The drilled route's own rollback is the drill; another route's is collateral the drill caused."""
    admin = AuditAdmin(
        [
            {"at": "2026-12-05T10:00:03", "action": "rollback", "target": "pages", "reason": "guard: p99"},
            {"at": "2026-12-05T10:00:01", "action": "rollback", "target": "reads", "reason": "guard: 5xx"},
            {"at": "2026-12-05T10:00:02", "action": "guard.configure", "target": "home", "reason": ""},
        ]
    )
    control = DrillControl(admin, "reads", "things")  # type: ignore[arg-type]
    result = runner.DrillResult("errors", "500s", "guard", started=1_700_000_000.0)
    runner._check_collateral(result, control)
    assert result.collateral == ["pages (guard: p99)"]
    check = next(c for c in result.targets() if "other route" in c.name)
    assert not check.met and "pages" in check.detail
    assert not result.passed
    assert any("--capacity-fraction" in note for note in result.notes)

    quiet = runner.DrillResult("errors", "500s", "guard", started=1_700_000_000.0)
    runner._check_collateral(quiet, DrillControl(AuditAdmin([]), "reads", "things"))  # type: ignore[arg-type]
    assert quiet.collateral == [] and next(c for c in quiet.targets() if "other route" in c.name).met
