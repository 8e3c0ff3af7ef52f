"""No upstream failure echoes the client's credentials, to the client or into any log.

Canary credentials (Authorization, Cookie, an API key) go through every way an upstream can fail: broken
answers of every kind, a refused connection, a timeout, a hang-up, an answer broken off mid-body, on a
route that falls back to the legacy and on one that does not. The client's answer names the failure
class and the upstream by its registered name, never a header value nor an internal address; the data
plane's log and access log never contain a header value either.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, ActionMode, BreakerSettings, Rule, RuleAction, RuleMatch, Timeouts
from strangler_proxy.routes import Upstream as UpstreamSpec
from tests.integration.dataplane.harness import DataPlaneProcess, Store, start_dataplane, table
from tests.integration.dataplane.rawhttp import RawResponse, raw_request, serving
from tests.security.misbehaving import MisbehavingUpstream

pytestmark = pytest.mark.integration

CANARIES = (b"canary-password-3f9a", b"canary-session-77d1", b"canary-csrf-0be2", b"canary-api-key-5c4e")
_BASIC = b"Y2FuYXJ5LXVzZXI6Y2FuYXJ5LXBhc3N3b3JkLTNmOWE="  # canary-user:canary-password-3f9a
CREDENTIALS = (
    b"Authorization: Basic " + _BASIC + b"\r\n"
    b"Cookie: sessionid=canary-session-77d1; csrftoken=canary-csrf-0be2\r\n"
    b"X-Api-Key: canary-api-key-5c4e\r\n"
)
_NO_RETRY = BreakerSettings(failure_threshold=100_000)


@dataclass
class Stack:
    dataplane: DataPlaneProcess
    upstream: MisbehavingUpstream
    dead_port: int


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("credential-echo")
    dead = socket.socket()  # bound, never listening: connecting is refused
    dead.bind(("127.0.0.1", 0))
    fast = Timeouts(connect_s=0.5, read_s=0.5)
    with serving(MisbehavingUpstream()) as upstream:
        store = Store(root / "store.sqlite3")
        upstreams = [
            UpstreamSpec(name=LEGACY, url=upstream.url, breaker=_NO_RETRY),
            UpstreamSpec(name="catalog", url=upstream.url, breaker=_NO_RETRY),
            UpstreamSpec(name="gone", url=f"http://127.0.0.1:{dead.getsockname()[1]}", breaker=_NO_RETRY),
        ]
        new = RuleAction(mode=ActionMode.NEW, upstream="catalog", fallback="legacy")
        rules = [
            Rule(name="new-with-fallback", match=RuleMatch(path="/new"), action=new, timeouts=fast),
            Rule(
                name="gone",
                match=RuleMatch(path="/gone"),
                action=RuleAction(mode=ActionMode.NEW, upstream="gone", fallback="none"),
            ),
            Rule(name="legacy-fast", match=RuleMatch(path="/"), timeouts=fast),
        ]
        version = store.publish(table(upstreams, rules))
        dataplane = start_dataplane(root / "home", store, upstream.url)
        try:
            store.wait_applied(version, workers=1)
            yield Stack(dataplane, upstream, dead.getsockname()[1])
        finally:
            dataplane.process.stop()
            store.engine.dispose()
            dead.close()


FAILING_PATHS = [
    "/two-lengths",
    "/nul-in-header",
    "/huge-field",
    "/bad-status",
    "/no-content-with-body",
    "/after-no-content",
    "/short-body",
    "/switching",
    "/silent",
    "/hang-up",
    "/gone/anything",
]


def _leaks(data: bytes) -> list[bytes]:
    return [canary for canary in CANARIES if canary in data]


def _ask(port: int, path: str) -> RawResponse | None:
    """GET ``path`` with the canary credentials; None when the answer broke off after its head."""
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: shop.test\r\n" + CREDENTIALS + b"\r\n"
    try:
        return raw_request(port, request, timeout=10)
    except ConnectionError:
        return None


@pytest.mark.parametrize("prefix", ["", "/new"], ids=["legacy", "new-falling-back"])
@pytest.mark.parametrize("path", FAILING_PATHS)
def test_no_failure_echoes_the_clients_credentials(stack: Stack, prefix: str, path: str) -> None:
    if path.startswith("/gone") and prefix:
        pytest.skip("the unreachable upstream has a route of its own")
    answer = _ask(stack.dataplane.port, prefix + path)
    if answer is None:
        return  # an answer broken off after its head: the connection is closed, nothing was echoed
    everything = answer.body + repr(answer.headers).encode()
    assert _leaks(everything) == [], answer.body
    assert b"127.0.0.1" not in everything, answer.body
    if answer.status >= 500:
        document = answer.body.decode()
        assert "upstream" in document


def test_no_log_line_holds_a_header_value(stack: Stack) -> None:
    """After every failure above (this test runs after them in the module), the data plane's logs."""
    for prefix in ("", "/new"):
        for path in FAILING_PATHS:
            _ask(stack.dataplane.port, prefix + path)
    logs = [p for p in Path(stack.dataplane.home).rglob("*") if p.is_file() and p.suffix in (".log", "")]
    assert any(p.name == "dataplane.log" for p in logs)
    assert any(p.name == "access.log" for p in logs)
    for path in logs:
        data = path.read_bytes()
        assert _leaks(data) == [], f"{path} holds a credential"
    # the failures were logged, by class and by the upstream's registered name
    text = (Path(stack.dataplane.home) / "logs" / "dataplane.log").read_text(errors="replace")
    assert "falling back to the legacy" in text
