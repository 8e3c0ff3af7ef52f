"""A drill's load runs at a stated fraction of the drilled route's capacity, measured at the start of the
drill by a bounded closed-loop probe (a real HTTP server on loopback here), unless --rate gives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from migration_plan.toolbox.drills.capacity import Capacity, drill_pace, load_rate, measure_capacity
from migration_plan.toolbox.drills.profile import DrillProfile, Read
from migration_plan.toolbox.drills.report import _figures
from migration_plan.toolbox.drills.result import DrillResult

pytestmark = pytest.mark.unit

PROFILE = DrillProfile(route="reads", upstream="things", service="things", reads=(Read("/things/{id}"),))


class _Things(BaseHTTPRequestHandler):
    status = 200
    paths: list[str] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        body = b'{"ok": true}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Things]]]:
    handler = type("Things", (_Things,), {"status": 200, "paths": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_probe_counts_successful_reads_of_the_route_per_second(server: tuple[str, type[_Things]]) -> None:
    url, handler = server
    capacity = measure_capacity(url, PROFILE, seconds=0.5, concurrency=2)
    assert capacity.requests > 0 and capacity.errors == 0
    assert capacity.rps == pytest.approx(capacity.requests / capacity.seconds)
    assert 0.5 <= capacity.seconds < 5.0
    assert len(handler.paths) == capacity.requests
    assert all(path == "/things/1" for path in handler.paths), "the profile's reads, its {id} filled"


def test_the_probe_reads_the_drills_mix_with_the_monolith_pages(server: tuple[str, type[_Things]]) -> None:
    """A page can cost several JSON reads: a capacity of the route's reads alone would size the mixed load
    above what the stack sustains (and the pages' guards would see it)."""
    url, handler = server
    profile = DrillProfile(
        route="reads",
        upstream="things",
        service="things",
        reads=(Read("/things/{id}"),),
        legacy_reads=(Read("/pages/{id}/"),),
    )
    capacity = measure_capacity(url, profile, seconds=0.5, concurrency=2, page_share=0.3)
    pages = sum(path.startswith("/pages/") for path in handler.paths)
    assert capacity.page_share == 0.3 and "30% of them the monolith's own" in capacity.describe()
    assert 0.15 < pages / len(handler.paths) < 0.45, (pages, len(handler.paths))
    only_route = measure_capacity(url, PROFILE, seconds=0.2, concurrency=1, page_share=0.3)
    assert only_route.page_share == 0.0, "a profile without pages probes the route's reads only"


def test_failed_reads_are_no_capacity(server: tuple[str, type[_Things]]) -> None:
    url, handler = server
    handler.status = 503
    capacity = measure_capacity(url, PROFILE, seconds=0.3, concurrency=2)
    assert capacity.requests > 0 and capacity.errors == capacity.requests and capacity.rps == 0.0


def test_the_rate_is_the_stated_fraction_of_the_capacity() -> None:
    capacity = Capacity(rps=180.0, requests=540, errors=0, seconds=3.0, concurrency=8)
    pace = load_rate(capacity, 0.5)
    assert pace.rate == 90.0 and pace.capacity is capacity
    assert pace.describe() == "90.0 req/s (50% of the measured capacity)"
    assert load_rate(Capacity(0.0, 10, 10, 3.0, 8), 0.5).rate == 1.0, "never below the floor"
    with pytest.raises(ValueError, match="fraction"):
        load_rate(capacity, 1.5)


def test_a_given_rate_is_not_measured() -> None:
    pace = drill_pace("http://127.0.0.1:9", PROFILE, rate=12.0, fraction=0.5)  # nothing listens there
    assert pace.rate == 12.0 and pace.capacity is None
    assert pace.describe() == "12.0 req/s (given with --rate)"


def test_the_report_states_the_capacity_and_the_rate() -> None:
    result = DrillResult("errors", "500s", "guard", started=0.0)
    capacity = Capacity(rps=180.0, requests=540, errors=0, seconds=3.0, concurrency=8)
    result.pace = load_rate(capacity, 0.5)
    figures = dict(_figures(result))
    assert figures["measured capacity of the route (at the start of the drill)"].startswith("180.0 req/s")
    assert figures["load rate"] == "90.0 req/s (50% of the measured capacity)"
