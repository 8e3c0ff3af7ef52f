"""WebSockets through the front door, on real processes.

The legacy side is a test-only Django project whose WebSocket is a Django Channels consumer served by
daphne (``channels_site/``), the new side a plain WebSocket server (``ws_upstream.py``, the
``websockets`` library). Handshakes are routed like any request (prefix and header rules, canary
buckets, shadow rules served by their primary side); after the upstream's 101 the bytes pass
untouched (subprotocol and permessage-deflate negotiated end to end). A flip leaves open sockets
where they are; a rollback closes the new side's open sockets after the grace (1012), so their
clients reconnect to the legacy; an idle socket and a stopping worker close theirs with 1001.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from strangler_proxy.override import sign_override
from strangler_proxy.routes import (
    LEGACY,
    ActionMode,
    BreakerSettings,
    Predicate,
    Rule,
    RuleAction,
    RuleMatch,
    ShadowSettings,
    Upstream,
)
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane, table
from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("websockets")]

GRACE_S = 0.5
PER_ROUTE = 3
TOKEN = "test-internal-token"


def _legacy_channels(root: Path) -> tuple[RunningProcess, str]:
    port = free_port()
    process = start_process(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "tests.integration.dataplane.channels_site.asgi:application",
        ],
        log_path=root / "daphne.log",
        env={"DJANGO_SETTINGS_MODULE": "tests.integration.dataplane.channels_site.settings"},
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    return process, f"http://127.0.0.1:{port}"


def _new_side(root: Path, name: str) -> tuple[RunningProcess, str]:
    port = free_port()
    process = start_process(
        [
            sys.executable,
            "-m",
            "tests.integration.dataplane.ws_upstream",
            "--port",
            str(port),
            "--name",
            name,
        ],
        log_path=root / f"ws-{name}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    return process, f"http://127.0.0.1:{port}"


def _new(name: str, path: str, **action: object) -> Rule:
    return Rule(
        name=name,
        match=RuleMatch(path=path),
        action=RuleAction(**{"mode": ActionMode.NEW, "upstream": "catalog", **action}),  # type: ignore[arg-type]
    )


def _legacy(name: str, path: str) -> Rule:
    return Rule(name=name, match=RuleMatch(path=path))


BASE_RULES = [
    Rule(
        name="beta",
        match=RuleMatch(path="/ws/chat", headers=(Predicate(name="x-beta", equals="1"),)),
        action=RuleAction(mode=ActionMode.NEW, upstream="catalog"),
    ),
    _legacy("chat", "/ws/chat"),
    _new("live", "/ws/live"),
    _new("canary", "/ws/canary", mode=ActionMode.CANARY, weight=100),
    Rule(
        name="mirrored",
        match=RuleMatch(path="/ws/mirrored"),
        action=RuleAction(
            mode=ActionMode.SHADOW, upstream="catalog", shadow=ShadowSettings(sample_percent=100)
        ),
    ),
    _legacy("limited", "/ws/limited"),
    _new("dead", "/ws/dead", upstream="gone", fallback="none"),
    _new("dead-fallback", "/ws/fallback", upstream="gone"),
]


@dataclass
class Stack:
    dataplane: DataPlaneProcess
    store: Store
    upstreams: list[Upstream]

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.dataplane.port}"

    def publish(self, rules: list[Rule]) -> None:
        version = self.store.publish(table(self.upstreams, rules))
        self.store.wait_applied(version, workers=1)

    def metrics(self) -> str:
        url = f"{self.dataplane.internal_url}/_strangler/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    def socket_lines(self, route: str) -> list[dict]:
        return [e for e in self.dataplane.access_log() if e["route"] == route and e["status"] == 101]


def _start(root: Path, extra_env: dict[str, str]) -> Iterator[Stack]:
    legacy, legacy_url = _legacy_channels(root)
    catalog, catalog_url = _new_side(root, "catalog")
    store = Store(root / "store.sqlite3")
    upstreams = [
        Upstream(name=LEGACY, url=legacy_url),
        Upstream(name="catalog", url=catalog_url),
        # Nothing listens there: its breaker opens after two failed handshakes and stays open.
        Upstream(
            name="gone",
            url=f"http://127.0.0.1:{free_port()}",
            breaker=BreakerSettings(failure_threshold=2, open_s=60),
        ),
    ]
    version = store.publish(table(upstreams, BASE_RULES))
    env = {"STRANGLER_LEGACY_INTERNAL_TOKEN": TOKEN, **extra_env}
    dataplane = start_dataplane(root / "home", store, legacy_url, extra_env=env)
    try:
        store.wait_applied(version, workers=1)
        yield Stack(dataplane, store, upstreams)
    finally:
        dataplane.process.stop()
        legacy.stop()
        catalog.stop()
        store.engine.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {
        "STRANGLER_WEBSOCKET_ROLLBACK_GRACE_S": str(GRACE_S),
        "STRANGLER_WEBSOCKET_MAX_PER_ROUTE": str(PER_ROUTE),
    }
    yield from _start(tmp_path_factory.mktemp("websockets"), env)


def _open(stack: Stack, path: str, **kwargs: object) -> ClientConnection:
    return connect(stack.ws + path, open_timeout=10, **kwargs)  # type: ignore[arg-type]


def _until(condition, what: str, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.05)


def test_a_channels_consumer_is_reached_and_bytes_pass_untouched(stack: Stack) -> None:
    payload = bytes(range(256)) * 400
    with _open(stack, "/ws/chat/room?x=1", subprotocols=["chat.v1"]) as socket:
        assert socket.recv(timeout=10) == "hello from legacy"
        assert socket.subprotocol == "chat.v1"
        socket.send("ping")
        assert socket.recv(timeout=10) == "legacy: ping"
        socket.send(payload)
        assert socket.recv(timeout=10) == payload
        socket.send("headers")
        seen = json.loads(socket.recv(timeout=10))
    assert "x-strangler-identity" not in seen  # the legacy side gets no identity header
    assert {"x-forwarded-for", "x-request-id", "sec-websocket-key"} <= set(seen)
    _until(lambda: stack.socket_lines("chat"), "the socket's access-log line")
    [line] = stack.socket_lines("chat")
    assert (line["target"], line["upstream"], line["path"]) == ("legacy", "legacy", "/ws/chat/room")
    assert line["bytes_up"] > len(payload) and line["bytes_down"] > len(payload)
    assert line["error"] == "client_closed"
    metrics = stack.metrics()
    assert re.search(
        r'^strangler_requests_total\{route="chat",target="legacy",status_class="1xx"\} 1$', metrics, re.M
    )
    assert re.search(
        r'^strangler_websocket_bytes_total\{route="chat",target="legacy",direction="up"\} \d+', metrics, re.M
    )
    assert re.search(r'^strangler_websockets_closed_total\{route="chat",target="legacy",', metrics, re.M)


def test_a_new_side_socket_gets_the_signed_identity_and_negotiates_compression_end_to_end(
    stack: Stack,
) -> None:
    with _open(stack, "/ws/live", additional_headers={"Cookie": "sessionid=good-session"}) as socket:
        assert socket.recv(timeout=10) == "hello from catalog"
        extensions = socket.response.headers.get("sec-websocket-extensions") or ""
        assert "permessage-deflate" in extensions  # the upstream's answer, as it made it
        socket.send("whoami")
        assert socket.recv(timeout=10).startswith("v1.")
        socket.send("x" * 100_000)
        assert socket.recv(timeout=10) == "catalog: " + "x" * 100_000


def test_handshakes_follow_header_rules_and_canary_buckets(stack: Stack) -> None:
    with _open(stack, "/ws/chat/room", additional_headers={"X-Beta": "1"}) as socket:
        assert socket.recv(timeout=10) == "hello from catalog"
    with _open(stack, "/ws/canary") as socket:
        assert socket.recv(timeout=10) == "hello from catalog"
        assert "strangler_bucket=" in (socket.response.headers.get("set-cookie") or "")


def test_a_shadow_route_serves_sockets_from_its_primary_side_and_mirrors_nothing(stack: Stack) -> None:
    def submitted() -> int:
        url = f"{stack.dataplane.internal_url}/_strangler/version"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())["shadow"]["submitted"]

    before = submitted()
    with _open(stack, "/ws/mirrored") as socket:
        assert socket.recv(timeout=10) == "hello from legacy"
        socket.send("once")
        assert socket.recv(timeout=10) == "legacy: once"
    assert submitted() == before


def test_a_signed_override_sends_a_handshake_to_the_side_it_names(stack: Stack) -> None:
    key = (stack.dataplane.home / "secrets" / "override.key").read_text().strip().encode()
    expires = int(time.time()) + 300
    to_legacy = sign_override(key, "legacy", expires)
    with _open(stack, "/ws/live", additional_headers={"X-Strangler-Override": to_legacy}) as socket:
        assert socket.recv(timeout=10) == "hello from legacy"
    with _open(
        stack, "/ws/canary", additional_headers={"Cookie": f"strangler_override={to_legacy}"}
    ) as socket:
        assert socket.recv(timeout=10) == "hello from legacy"
    forged = sign_override(b"not-the-control-plane-key", "legacy", expires)
    with _open(stack, "/ws/live", additional_headers={"X-Strangler-Override": forged}) as socket:
        assert socket.recv(timeout=10) == "hello from catalog"


def test_a_dead_upstreams_breaker_opens_and_then_refuses_handshakes_without_trying(stack: Stack) -> None:
    statuses = []
    for _ in range(3):
        with pytest.raises(InvalidStatus) as refused, _open(stack, "/ws/dead"):
            pass
        statuses.append(
            (refused.value.response.status_code, json.loads(refused.value.response.body)["error"])
        )
    assert [status for status, _ in statuses[:2]] == [502, 502], statuses
    assert statuses[2] == (503, "circuit_open"), statuses
    with urllib.request.urlopen(f"{stack.dataplane.internal_url}/_strangler/version", timeout=5) as response:
        assert json.loads(response.read())["breakers"]["gone"] == "open"
    # A rule with the legacy fallback sends the handshake there instead (before any byte was relayed).
    with _open(stack, "/ws/fallback") as socket:
        assert socket.recv(timeout=10) == "hello from legacy"


def test_an_upstreams_refusal_of_the_handshake_reaches_the_client(stack: Stack) -> None:
    with pytest.raises(InvalidStatus) as refused, _open(stack, "/ws/live/forbidden"):
        pass
    assert refused.value.response.status_code == 403
    assert b"no sockets here" in refused.value.response.body


def test_past_the_per_route_limit_a_handshake_gets_503(stack: Stack) -> None:
    with ExitStack() as sockets:
        for _ in range(PER_ROUTE):
            socket = sockets.enter_context(_open(stack, "/ws/limited"))
            assert socket.recv(timeout=10) == "hello from legacy"
        with pytest.raises(InvalidStatus) as refused, _open(stack, "/ws/limited"):
            pass
        assert refused.value.response.status_code == 503
        assert json.loads(refused.value.response.body)["error"] == "websocket_limit"
        with _open(stack, "/ws/chat") as other:  # another route is not limited by this one
            assert other.recv(timeout=10) == "hello from legacy"
    _until(lambda: _open_now(stack, "limited") == 0, "the limited route's sockets closed")
    with _open(stack, "/ws/limited") as again:
        assert again.recv(timeout=10) == "hello from legacy"


def _open_now(stack: Stack, route: str) -> int:
    found = re.search(
        rf'^strangler_websockets_open\{{route="{route}",target="\w+"\}} (\d+)$', stack.metrics(), re.M
    )
    return int(found.group(1)) if found else 0


def test_a_flip_leaves_open_sockets_and_a_rollback_closes_the_new_sides_after_the_grace(stack: Stack) -> None:
    flipped = [r if r.name != "chat" else _new("chat", "/ws/chat") for r in BASE_RULES]
    with ExitStack() as sockets:
        on_legacy = sockets.enter_context(_open(stack, "/ws/chat/a"))
        assert on_legacy.recv(timeout=10) == "hello from legacy"
        sockets.callback(stack.publish, BASE_RULES)
        stack.publish(flipped)
        # the open socket stays where it is
        on_legacy.send("still there?")
        assert on_legacy.recv(timeout=10) == "legacy: still there?"
        # a new one goes by the new table
        on_new = sockets.enter_context(_open(stack, "/ws/chat/b"))
        assert on_new.recv(timeout=10) == "hello from catalog"
        rolled_back = time.monotonic()
        stack.publish(BASE_RULES)  # the rollback
        on_new.send("before the grace")
        assert on_new.recv(timeout=10) == "catalog: before the grace"
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                on_new.recv(timeout=GRACE_S + 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert time.monotonic() - rolled_back >= GRACE_S
        # the legacy socket never noticed; reconnecting lands on the legacy
        on_legacy.send("after")
        assert on_legacy.recv(timeout=10) == "legacy: after"
        with _open(stack, "/ws/chat/b") as reconnected:
            assert reconnected.recv(timeout=10) == "hello from legacy"
        _until(
            lambda: [e for e in stack.socket_lines("chat") if e["error"] == "moved"],
            "the moved socket's line",
        )


@pytest.fixture
def idle_stack(tmp_path: Path) -> Iterator[Stack]:
    yield from _start(tmp_path, {"STRANGLER_WEBSOCKET_IDLE_TIMEOUT_S": "1"})


def test_an_idle_socket_is_closed_and_a_stopping_worker_closes_its_sockets(idle_stack: Stack) -> None:
    with _open(idle_stack, "/ws/chat", ping_interval=None) as idle:
        assert idle.recv(timeout=10) == "hello from legacy"
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            idle.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert 0.9 <= time.monotonic() - started < 5
    with _open(idle_stack, "/ws/live", ping_interval=0.2) as busy:
        assert busy.recv(timeout=10) == "hello from catalog"
        stopping = time.monotonic()
        idle_stack.dataplane.process.stop(timeout=20)
        with pytest.raises(ConnectionClosed) as closed:
            busy.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert time.monotonic() - stopping < 10
    log = idle_stack.dataplane.process.log()
    assert "Finished server process" in log
    assert [line for line in log.splitlines() if "ERROR" in line] == [], log[-6000:]
