"""The chaos and crash drills' loads measure what the route sustains (their own operation back to back,
a bounded probe) and then run at a stated rate; every write and checkout, the probe's too, is in the
ledger once and never retried. Against a small shop on loopback (real HTTP)."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from migration_plan.toolbox.drills.chaos_load import ChaosLoad, ChaosLoadSettings
from migration_plan.toolbox.drills.checkout_load import CheckoutLoad, CheckoutLoadSettings
from migration_plan.toolbox.drills.pacing import measure_closed_loop, paced_starts

pytestmark = pytest.mark.unit


class _Shop(BaseHTTPRequestHandler):
    """Log-in, stock writes (every 4th answers 500: outcome unknown), the cart and checkout."""

    calls: Counter[str]
    numbers: itertools.count[int]

    def _answer(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html" if isinstance(body, bytes) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self._answer(200, b'<input name="csrfmiddlewaretoken" value="tok">')

    def do_DELETE(self) -> None:
        self.calls["empty"] += 1
        self._answer(200, {"items": []})

    def do_POST(self) -> None:
        self._read_body()
        if self.path == "/accounts/login/":
            self.send_response(302)
            self.send_header("Set-Cookie", "sessionid=s1; Path=/")
            self.send_header("Set-Cookie", "csrftoken=c1; Path=/")
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.endswith("/stock"):
            self.calls["stock"] += 1
            self._answer(500 if self.calls["stock"] % 4 == 0 else 200, {"stock": 1})
        elif self.path == "/api/cart/items":
            self._answer(201, {"items": []})
        else:
            self.calls["checkout"] += 1
            number = next(self.numbers)
            self._answer(201, {"order_no": f"ORD-{number}", "lines": [{"product_id": 1, "quantity": 1}]})

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def shop() -> Iterator[tuple[str, type[_Shop]]]:
    handler = type("Shop", (_Shop,), {"calls": Counter(), "numbers": itertools.count(1)})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _run_for(seconds: float) -> None:
    time.sleep(seconds)  # the load's own duration: what is measured is how much it sends meanwhile


def test_the_chaos_load_measures_its_writes_then_writes_at_the_rate(shop: tuple[str, type[_Shop]]) -> None:
    url, handler = shop
    load = ChaosLoad(ChaosLoadSettings(url, "/api/products/{id}/stock", clients=2, seed=3))
    try:
        capacity = load.measure_capacity(0.5)
        assert capacity.what == "stock writes" and capacity.concurrency == 2
        assert capacity.requests == handler.calls["stock"] > 4
        assert capacity.errors == load.ledger.writes["unknown"] > 0, "a 500 is unknown, not retried"
        assert capacity.rps == pytest.approx(load.ledger.writes["acknowledged"] / capacity.seconds)
        probed = handler.calls["stock"]
        load.start(10.0)
        _run_for(1.5)
    finally:
        load.stop()
    paced = handler.calls["stock"] - probed
    assert 5 <= paced <= 15 + 2, f"{paced} writes in 1.5 s at 10/s"
    assert (
        sum(load.ledger.writes[outcome] for outcome in ("acknowledged", "unknown", "refused"))
        == (handler.calls["stock"])
    ), "every write, the probe's too, in the ledger once"


def test_the_checkout_load_measures_its_checkouts_then_checks_out_at_the_rate(
    shop: tuple[str, type[_Shop]],
) -> None:
    url, handler = shop
    settings = CheckoutLoadSettings(
        url,
        ("ann", "bob"),
        "secret",
        login="/accounts/login/",
        cart="/api/cart/items",
        empty_cart="/api/cart",
        checkout="/api/orders",
        products=(1, 2),
    )
    load = CheckoutLoad(settings)
    load.login()
    try:
        capacity = load.measure_capacity(0.5)
        assert capacity.what == "checkouts" and capacity.concurrency == 2
        assert capacity.requests == handler.calls["checkout"] == len(load.ledger.entries) > 2
        probed = handler.calls["checkout"]
        load.start(6.0)
        _run_for(1.5)
    finally:
        load.stop()
        load.close()
    paced = handler.calls["checkout"] - probed
    assert 3 <= paced <= 9 + 2, f"{paced} checkouts in 1.5 s at 6/s"
    assert len({entry.key for entry in load.ledger.entries}) == handler.calls["checkout"], "one key each"


def test_the_probe_counts_successes_per_second_and_raises_a_client_s_error() -> None:
    answers = itertools.cycle([True, True, False])
    lock = threading.Lock()

    def operation(_: int) -> bool:
        time.sleep(0.01)  # the operation's own work
        with lock:
            return next(answers)

    capacity = measure_closed_loop([1, 2], operation, seconds=0.3, what="things")
    assert capacity.errors > 0 and capacity.requests > capacity.errors
    assert capacity.rps == pytest.approx((capacity.requests - capacity.errors) / capacity.seconds)

    def broken(_: int) -> bool:
        raise ValueError("no answer")

    with pytest.raises(RuntimeError, match="no answer"):
        measure_closed_loop([1], broken, seconds=0.3, what="things")


def test_paced_starts_skip_what_a_late_operation_delayed_instead_of_bursting() -> None:
    stop = threading.Event()
    starts = paced_starts(stop, 0.2, random.Random(1))
    assert next(starts) == 0
    time.sleep(1.05)  # an operation that took five intervals and a bit
    assert next(starts) >= 4
    assert next(starts) == 0, "back on time: nothing more skipped"
    stop.set()
    assert list(starts) == []
