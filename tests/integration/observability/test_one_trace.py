"""One request, one trace: a checkout through the real data plane to the real orders service (gunicorn),
whose ACL legacy client takes stock in the real monolith (gunicorn; traced by the toolkit's Django app,
strangler_django, from the OTEL_* variables alone),
all exporting OTLP/HTTP to a test receiver; the spans form one trace with the right parents, and the
trace id is in the processes' JSON log lines."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, Rule, RuleAction, RuleMatch, Upstream
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane, table
from tests.support.net import free_port
from tests.support.otlp import OtlpReceiver, ReceivedSpan, render_tree
from tests.support.processes import VENV_BIN, RunningProcess, run_manage, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("tracing_stack")]

INTERNAL_TOKEN = "t" * 40
SERVER, CLIENT = 2, 3  # OTLP span kinds


@dataclass
class Stack:
    receiver: OtlpReceiver
    door: DataPlaneProcess
    orders: RunningProcess
    legacy: RunningProcess
    home: Path


def _otel(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_TRACES_EXPORTER": "otlp_proto_http",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": service,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("traced")
    home, legacy_dir = root / "home", root / "legacy"
    legacy_dir.mkdir()
    legacy_port, orders_port = free_port(), free_port()
    legacy_env = {
        "LEGACYSHOP_DATA_DIR": str(legacy_dir),
        "LEGACYSHOP_PORT": str(legacy_port),
        "LEGACYSHOP_WORKERS": "1",
        "LEGACYSHOP_INTERNAL_TOKEN": INTERNAL_TOKEN,
        "DATABASE_URL": f"sqlite:///{legacy_dir / 'legacy.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "legacy_monolith.legacyshop.settings",
    }
    run_manage(["migrate", "--noinput", "-v", "0"], legacy_env)
    run_manage(["seed", "--products", "20", "--customers", "2", "--orders", "1", "--seed", "7"], legacy_env)
    with OtlpReceiver() as receiver:
        # the monolith has no tracing code: the toolkit's Django app instruments it from the environment
        legacy = start_process(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "legacy_monolith/gunicorn.conf.py",
                "legacy_monolith.wsgi:application",
            ],
            log_path=legacy_dir / "gunicorn.log",
            env={**legacy_env, **_otel(receiver, "legacyshop")},
            ready_url=f"http://127.0.0.1:{legacy_port}/readyz",
        )
        legacy_url = f"http://127.0.0.1:{legacy_port}"
        try:
            orders = start_process(
                [
                    str(VENV_BIN / "gunicorn"),
                    "-c",
                    "new_services/orders/gunicorn.conf.py",
                    "new_services.orders.entrypoints.wsgi:app",
                ],
                log_path=root / "orders.log",
                env={
                    "STRANGLER_HOME": str(home),
                    "ORDERS_PORT": str(orders_port),
                    "ORDERS_WORKERS": "1",
                    "STRANGLER_LEGACY_URL": legacy_url,
                    # as a service: the monolith's scoped token for the orders service
                    "ORDERS_LEGACY_SERVICE_TOKEN_FILE": str(legacy_dir / "service_tokens" / "orders"),
                    # the checkout reads the customer's session cart through the monolith's bridge
                    "STRANGLER_LEGACY_INTERNAL_TOKEN": INTERNAL_TOKEN,
                    **_otel(receiver, "orders"),
                },
                ready_url=f"http://127.0.0.1:{orders_port}/readyz",
            )
            try:
                store = Store(root / "store.sqlite3")
                version = store.publish(
                    table(
                        [
                            Upstream(name=LEGACY, url=legacy_url),
                            Upstream(name="orders", url=f"http://127.0.0.1:{orders_port}"),
                            Upstream(name="mirror", url=legacy_url),  # the monolith again, for parity
                        ],
                        [
                            Rule(
                                name="orders-api",
                                match=RuleMatch(kind="prefix", path="/api/orders"),
                                action=RuleAction(mode="new", upstream="orders"),
                            ),
                            Rule(
                                name="products-shadow",
                                match=RuleMatch(kind="prefix", path="/api/products"),
                                action=RuleAction(mode="shadow", upstream="mirror"),
                            ),
                        ],
                    )
                )
                door = start_dataplane(
                    home,
                    store,
                    legacy_url,
                    extra_env={
                        "STRANGLER_LEGACY_INTERNAL_TOKEN": INTERNAL_TOKEN,
                        **_otel(receiver, "strangler-dataplane"),
                    },
                )
                health_port = free_port()
                relay = start_process(
                    [sys.executable, "-m", "acl.sync", "reverse", "--health-port", str(health_port)],
                    log_path=root / "reverse-relay.log",
                    env={
                        "STRANGLER_HOME": str(home),
                        "STRANGLER_SYNC_ORIGIN": "orders",
                        "STRANGLER_SYNC_SERVICE_DATABASE_URL": (
                            f"sqlite:///{home / 'services' / 'orders' / 'orders.sqlite3'}"
                        ),
                        "STRANGLER_SYNC_POLL_INTERVAL": "0.1",
                        "STRANGLER_LEGACY_URL": legacy_url,
                        "LEGACYSHOP_INTERNAL_TOKEN": INTERNAL_TOKEN,
                        **_otel(receiver, "strangler-sync-reverse"),
                    },
                    ready_url=f"http://127.0.0.1:{health_port}/readyz",
                )
                try:
                    store.wait_applied(version, workers=1)
                    yield Stack(receiver, door, orders, legacy, home)
                finally:
                    relay.stop()
                    door.process.stop()
                    store.engine.dispose()
            finally:
                orders.stop()
        finally:
            legacy.stop()


def _logged_in(door_url: str) -> tuple[urllib.request.OpenerDirector, str]:
    """A browser session of the demo customer, logged in through the front door; its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{door_url}/accounts/login/", timeout=10) as response:
        page = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, page[:500]
    form = urllib.parse.urlencode(
        {"username": "demo", "password": "demo-password-123", "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    login = urllib.request.Request(f"{door_url}/accounts/login/", data=form, headers={"Referer": door_url})
    with opener.open(login, timeout=10):
        pass
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    assert any(cookie.name == "sessionid" for cookie in jar), "the demo customer could not log in"
    return opener, csrf


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return [span for span in spans if span.parent_id == parent.span_id]


def test_a_checkout_through_the_front_door_is_one_trace(stack: Stack) -> None:
    opener, csrf = _logged_in(stack.door.url)
    # The cart is the monolith's (its session); the checkout on the orders service takes it from there.
    add = urllib.request.Request(
        f"{stack.door.url}/api/cart/items",
        data=json.dumps({"product_id": 3, "quantity": 1}).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        method="POST",
    )
    with opener.open(add, timeout=20) as response:
        assert response.status == 201
    checkout = urllib.request.Request(
        f"{stack.door.url}/api/orders",
        data=b"{}",
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Idempotency-Key": "trace-1"},
        method="POST",
    )
    with opener.open(checkout, timeout=20) as response:
        assert response.status == 201

    def complete(spans: list[ReceivedSpan]) -> bool:
        """The door's span, the orders service's server span (it ends last) and the stock call's."""
        door = [s for s in spans if s.attributes.get("strangler.route") == "orders-api"]
        if not door:
            return False
        in_trace = [s for s in spans if s.trace_id == door[0].trace_id]
        return any(s.service == "orders" and s.parent_id == door[0].span_id for s in in_trace) and any(
            s.service == "legacyshop" and s.kind == SERVER and s.name.endswith("/stock") for s in in_trace
        )

    spans = stack.receiver.wait_for(complete, timeout=30)
    (door,) = [s for s in spans if s.attributes.get("strangler.route") == "orders-api"]
    trace = [s for s in spans if s.trace_id == door.trace_id]
    tree = render_tree(trace)
    assert door.kind == SERVER and door.attributes["strangler.decision"] == "new"
    assert door.attributes["strangler.upstream"] == "orders" and door.attributes["strangler.outcome"] == "ok"
    # the data plane's span is the orders service's parent
    below_door = [s for s in _children(trace, door) if s.service == "orders"]
    assert len(below_door) == 1 and below_door[0].kind == SERVER, tree
    orders_server = below_door[0]
    below_orders = [s for s in trace if s.service == "orders" and s is not orders_server]
    legacy_calls = [s for s in below_orders if s.kind == CLIENT and s.name.startswith("legacy ")]
    assert legacy_calls, tree
    sql = [s for s in below_orders if "db.system" in s.attributes or "db.system.name" in s.attributes]
    assert sql, tree
    # every ACL call to the monolith is the parent of the monolith's server span
    monolith = [
        s for s in trace if s.service == "legacyshop" and s.kind == SERVER and "internal/" not in s.name
    ]
    assert monolith and {s.parent_id for s in monolith} <= {c.span_id for c in legacy_calls}, tree
    # one trace: every span's parent is in it, except the root, whose parent is the client's
    ids = {s.span_id for s in trace}
    relayed_later = {
        s.span_id for s in trace if s.service == "strangler-sync-reverse" or "sync/apply" in s.name
    }
    assert [s for s in trace if s.parent_id not in ids and s.span_id not in relayed_later] == [door], tree
    # the data plane's lookup of the customer's session in the monolith is the door's child
    lookups = [s for s in trace if s.service == "legacyshop" and "session/resolve" in s.name]
    assert len(lookups) == 1 and lookups[0].parent_id == door.span_id, tree
    # the data plane's access log line of that request carries the trace id (flushed off the request path)
    deadline = time.monotonic() + 10
    while not any(line.get("route") == "orders-api" for line in stack.door.access_log()):
        assert time.monotonic() < deadline, stack.door.access_log()
        time.sleep(0.1)
    (logged,) = [line for line in stack.door.access_log() if line.get("route") == "orders-api"]
    assert logged["trace_id"] == door.trace_id
    # the orders service's JSON log lines of that request carry the trace id
    lines = [
        json.loads(line)
        for line in (stack.home.parent / "orders.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(
        line.get("trace_id") == door.trace_id and line.get("path") == "/api/orders" for line in lines
    ), lines[-5:]

    # so do the monolith's (gunicorn's access line of the stock call, in the toolkit's JSON format)
    def monolith_lines() -> list[dict]:
        log = stack.home.parent / "legacy" / "gunicorn.log"
        return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]

    deadline = time.monotonic() + 10
    while not any(
        line.get("trace_id") == door.trace_id and "/stock" in line["event"] for line in monolith_lines()
    ):
        assert time.monotonic() < deadline, monolith_lines()[-5:]
        time.sleep(0.1)

    # the order's event, relayed by the reverse sync, is applied in the monolith inside the same trace
    def applied(spans: list[ReceivedSpan]) -> bool:
        names = {(s.service, s.name) for s in spans if s.trace_id == door.trace_id}
        relay = {("strangler-sync-reverse", "sync apply"), ("strangler-sync-reverse", "legacy POST")}
        return relay <= names and any(
            service == "legacyshop" and "sync/apply" in name for service, name in names
        )

    trace = [s for s in stack.receiver.wait_for(applied, timeout=30) if s.trace_id == door.trace_id]
    tree = render_tree(trace)
    ids = {s.span_id for s in trace}
    relays = [s for s in trace if s.name == "sync apply"]
    assert len(relays) == 1, tree
    relayed = relays[0]
    assert relayed.service == "strangler-sync-reverse" and relayed.parent_id in ids, tree
    # the saga's steps are spans of the request; the stock call is the reservation's, the event the
    # confirmation's
    steps = {s.name: s for s in trace if s.name.startswith("saga ")}
    assert {"saga reserve stock", "saga create order", "saga confirm"} <= set(steps), tree
    assert all(step.parent_id == orders_server.span_id for step in steps.values()), tree
    stock_calls = [
        s for s in trace if s.name == "legacy POST" and s.parent_id == steps["saga reserve stock"].span_id
    ]
    assert stock_calls, tree
    assert relayed.parent_id == steps["saga confirm"].span_id, tree
    calls = [s for s in trace if s.parent_id == relayed.span_id and s.kind == CLIENT]
    applies = [s for s in trace if s.service == "legacyshop" and "sync/apply" in s.name]
    assert len(calls) == 1 and len(applies) == 1 and applies[0].parent_id == calls[0].span_id, tree
    # and the reverse relay's JSON log line of that apply carries the trace id
    relay_lines = [
        json.loads(line)
        for line in (stack.home.parent / "reverse-relay.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert any(line.get("trace_id") == door.trace_id for line in relay_lines), relay_lines[-5:]
    print(tree)


def test_a_shadowed_request_yields_a_mirror_span_linked_to_the_primary(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.door.url}/api/products/4", timeout=10) as response:
        assert response.status == 200

    def mirrored(spans: list[ReceivedSpan]) -> bool:
        mirrors = [s for s in spans if s.name == "shadow products-shadow"]
        doors = [
            s for s in spans if s.attributes.get("strangler.route") == "products-shadow" and s.kind == SERVER
        ]
        return bool(mirrors and doors) and any(s.parent_id == mirrors[0].span_id for s in spans)

    spans = stack.receiver.wait_for(mirrored, timeout=30)
    (door,) = [
        s for s in spans if s.attributes.get("strangler.route") == "products-shadow" and s.kind == SERVER
    ]
    trace = stack.receiver.trace(door.trace_id)
    tree = render_tree(trace)
    assert (
        door.attributes["strangler.decision"] == "shadow" and door.attributes["strangler.target"] == "legacy"
    )
    mirrors = [s for s in trace if s.name == "shadow products-shadow"]
    assert len(mirrors) == 1, tree
    mirror = mirrors[0]
    assert mirror.parent_id == door.span_id and mirror.links == ((door.trace_id, door.span_id),), tree
    assert mirror.attributes["strangler.shadow.parity"] == "match", tree
    # the primary answer and the replay are each the monolith's own span, under the door and the mirror
    monolith = [s for s in trace if s.service == "legacyshop" and s.kind == SERVER]
    assert sorted(s.parent_id for s in monolith) == sorted([door.span_id, mirror.span_id]), tree
