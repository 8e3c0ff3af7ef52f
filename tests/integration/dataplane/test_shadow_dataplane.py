"""Shadow mode end to end: a real data plane, real upstream processes, results in the store.

The legacy answers every shadowed request; the mirror never delays or fails it, whether the new
upstream is equal, different, slow, failing or unreachable.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from strangler_proxy.identity_token import verify_identity
from strangler_proxy.routes import LEGACY, Rule, RuleAction, RuleMatch, ShadowSettings, Upstream
from strangler_proxy.secrets import load_or_create_secret
from strangler_proxy.store.schema import shadow_counts, shadow_samples
from tests.integration.dataplane.harness import (
    DataPlaneProcess,
    Store,
    UpstreamServer,
    start_dataplane,
    start_upstream,
    table,
)
from tests.support.net import free_port
from tests.support.processes import RunningProcess, start_process

pytestmark = pytest.mark.integration

SLOW_MS = 3000
INTERNAL_TOKEN = "test-internal-token"
"""What the test legacy (``upstream_app``) expects on ``/internal/session/resolve``."""


@dataclass
class Stack:
    dataplane: DataPlaneProcess
    store: Store
    slowpoke_url: str
    recorder_url: str


def start_shadow_upstream(
    name: str, log_dir: Path, *, delay_ms: int, status: int
) -> tuple[str, RunningProcess]:
    port = free_port()
    process = start_process(
        [
            sys.executable,
            "-m",
            "tests.integration.dataplane.shadow_upstream",
            "--port",
            str(port),
            "--delay-ms",
            str(delay_ms),
            "--status",
            str(status),
        ],
        log_path=log_dir / f"shadow-upstream-{name}.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    return f"http://127.0.0.1:{port}", process


def shadow_rule(name: str, path: str, upstream: str, **settings: object) -> Rule:
    return Rule(
        name=name,
        match=RuleMatch(kind="prefix", path=path),
        action=RuleAction(mode="shadow", upstream=upstream, shadow=ShadowSettings(**settings)),
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("shadow-dataplane")
    started: list[RunningProcess] = []
    store = Store(root / "store.sqlite3")
    try:
        legacy: UpstreamServer = start_upstream("legacy", root)
        started.append(legacy.process)
        catalog: UpstreamServer = start_upstream("catalog", root)
        started.append(catalog.process)
        slowpoke_url, slowpoke = start_shadow_upstream("slowpoke", root, delay_ms=SLOW_MS, status=200)
        started.append(slowpoke)
        recorder_url, recorder = start_shadow_upstream("recorder", root, delay_ms=0, status=500)
        started.append(recorder)
        upstreams = [
            Upstream(name=LEGACY, url=legacy.url),
            Upstream(name="catalog", url=catalog.url),
            Upstream(name="slowpoke", url=slowpoke_url),
            Upstream(name="recorder", url=recorder_url),
            Upstream(name="nobody", url=f"http://127.0.0.1:{free_port()}"),
        ]
        rules = [
            shadow_rule("same", "/status", "catalog", ignore_json_paths=("upstream",)),
            shadow_rule("differ", "/echo/differ", "catalog"),
            shadow_rule("slow", "/echo/slow", "slowpoke", max_concurrency=3),
            shadow_rule("refused", "/echo/refused", "nobody"),
            shadow_rule("failing", "/echo/failing", "recorder"),
            shadow_rule("writes", "/echo/writes", "recorder", mirror_unsafe_methods=True),
            shadow_rule("reads", "/echo/reads", "recorder"),
            shadow_rule("who", "/echo/who", "recorder"),
            Rule(name="baseline", match=RuleMatch(kind="prefix", path="/echo/baseline")),
        ]
        version = store.publish(table(upstreams, rules))
        dataplane = start_dataplane(
            root / "home", store, legacy.url, extra_env={"STRANGLER_LEGACY_INTERNAL_TOKEN": INTERNAL_TOKEN}
        )
        started.append(dataplane.process)
        store.wait_applied(version, workers=1)
        yield Stack(dataplane, store, slowpoke_url, recorder_url)
    finally:
        for process in reversed(started):
            process.stop()
        store.engine.dispose()


def request(
    port: int, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], float]:
    """One request on a fresh connection: status, headers, seconds until the whole answer was read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        sent = dict(headers or {})
        if body:
            sent["content-type"] = "application/json"
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        return response.status, {k.lower(): v for k, v in response.getheaders()}, elapsed
    finally:
        connection.close()


def counts_by_route(store: Store) -> dict[str, tuple[int, int, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                shadow_counts.c.route,
                func.sum(shadow_counts.c.matches),
                func.sum(shadow_counts.c.mismatches),
                func.sum(shadow_counts.c.errors),
            ).group_by(shadow_counts.c.route)
        )
        return {route: (int(m), int(mm), int(e)) for route, m, mm, e in rows}


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached after {timeout}s")
        time.sleep(0.05)


def seen_by(url: str) -> list[dict]:
    """What one of the shadow test upstreams has received so far."""
    with urllib.request.urlopen(f"{url}/_seen", timeout=10) as response:
        return json.loads(response.read())


def samples(store: Store, route: str) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(shadow_samples).where(shadow_samples.c.route == route))
        return [dict(row._mapping) for row in rows]


def test_equal_and_different_answers_are_counted_and_sampled_in_the_store(stack: Stack) -> None:
    port = stack.dataplane.port
    for _ in range(10):
        status, headers, _ = request(port, "GET", "/status/200")
        assert (status, headers["x-upstream"]) == (200, "legacy")
    traces = [f"{n + 1:032x}" for n in range(5)]
    for n in range(5):
        traceparent = {"traceparent": f"00-{traces[n]}-00f067aa0ba902b7-00"}
        status, headers, _ = request(port, "GET", f"/echo/differ/{n}?q={n}", headers=traceparent)
        assert (status, headers["x-upstream"]) == (200, "legacy")
    wait_until(
        lambda: (
            counts_by_route(stack.store).get("same") == (10, 0, 0)
            and counts_by_route(stack.store).get("differ") == (0, 5, 0)
        ),
        "10 matches on 'same' and 5 mismatches on 'differ'",
    )
    assert samples(stack.store, "same") == []
    kept = samples(stack.store, "differ")
    assert len(kept) == 5
    assert {s["path"] for s in kept} == {f"/echo/differ/{n}?q={n}" for n in range(5)}
    assert all(s["legacy_status"] == 200 and s["new_status"] == 200 and s["version"] for s in kept)
    # each sample names its request's trace (the id the client's traceparent gave it), for the admin UI
    assert {s["path"]: s["trace_id"] for s in kept} == {
        f"/echo/differ/{n}?q={n}": traces[n] for n in range(5)
    }
    assert all(
        '-  "upstream": "legacy"' in s["diff"] and '+  "upstream": "catalog"' in s["diff"] for s in kept
    )


def test_a_slow_new_upstream_never_delays_the_primary(stack: Stack) -> None:
    port = stack.dataplane.port
    baseline = [request(port, "GET", f"/echo/baseline/{n}")[2] for n in range(20)]
    shadowed = []
    for n in range(20):
        status, headers, elapsed = request(port, "GET", f"/echo/slow/{n}")
        assert (status, headers["x-upstream"]) == (200, "legacy")
        shadowed.append(elapsed)
    # The slow upstream takes 3 s per answer; the primary must not wait for any of it.
    assert max(shadowed) < 1.0, shadowed
    assert statistics.median(shadowed) <= 2 * statistics.median(baseline) + 0.05, (baseline, shadowed)
    # At most max_concurrency=3 mirrors were in flight; the others were dropped, not queued.
    wait_until(lambda: len(seen_by(stack.slowpoke_url)) >= 3, "3 mirrors reaching the slow upstream")
    assert len(seen_by(stack.slowpoke_url)) == 3
    # They do finish (after 3 s), and differ: the slow upstream answers a body of its own.
    wait_until(lambda: counts_by_route(stack.store).get("slow") == (0, 3, 0), "3 slow diffs", timeout=30)


def test_a_failing_or_unreachable_new_upstream_never_fails_the_primary(stack: Stack) -> None:
    port = stack.dataplane.port
    for n in range(5):
        for route in ("refused", "failing"):
            status, headers, _ = request(port, "GET", f"/echo/{route}/{n}")
            assert (status, headers["x-upstream"]) == (200, "legacy")
    wait_until(
        lambda: (
            counts_by_route(stack.store).get("refused") == (0, 0, 5)
            and counts_by_route(stack.store).get("failing") == (0, 5, 0)
        ),
        "5 errors on 'refused' and 5 mismatches on 'failing'",
    )
    assert all(s["new_status"] is None and "failed" in s["diff"] for s in samples(stack.store, "refused"))
    # the shadow process's log is JSON lines; its line about a failed mirror names the trace id of the
    # primary request
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    status, headers, _ = request(port, "GET", "/echo/refused/traced", headers={"traceparent": traceparent})
    assert status == 200
    log = stack.dataplane.home / "logs" / "dataplane.log"

    def logged() -> list[dict]:
        texts = log.read_text().splitlines()
        return [json.loads(text) for text in texts if text.startswith("{") and trace_id in text]

    wait_until(lambda: bool(logged()), "the shadow process's line with the trace id")
    (line,) = logged()
    assert line["logger"] == "strangler_proxy.dataplane.shadow.mirror" and line["trace_id"] == trace_id
    assert "route 'refused'" in line["event"] and "failed" in line["event"], line
    assert all(s["new_status"] == 500 for s in samples(stack.store, "failing"))


def test_unsafe_methods_are_mirrored_only_on_opt_in_with_the_shadow_header(stack: Stack) -> None:
    port = stack.dataplane.port
    assert request(port, "POST", "/echo/writes/a", body=b'{"name": "Mug"}')[0] == 200
    assert request(port, "DELETE", "/echo/reads/a")[0] == 200
    assert request(port, "GET", "/echo/reads/b")[0] == 200

    def mirrored() -> list[tuple[str, str]]:
        return [
            (s["method"], s["raw_target"])
            for s in seen_by(stack.recorder_url)
            if "/echo/failing" not in s["raw_target"]
        ]

    wait_until(
        lambda: ("GET", "/echo/reads/b") in mirrored() and ("POST", "/echo/writes/a") in mirrored(), "mirrors"
    )
    wait_until(
        lambda: sum(counts_by_route(stack.store).get("reads", (0, 0, 0))) >= 1, "the GET mirror recorded"
    )
    assert ("DELETE", "/echo/reads/a") not in mirrored()
    assert sum(counts_by_route(stack.store)["reads"]) == 1
    write = next(s for s in seen_by(stack.recorder_url) if s["raw_target"] == "/echo/writes/a")
    assert write["shadow"] == "1" and write["body"] == '{"name": "Mug"}'


def test_a_mirror_carries_the_signed_identity_of_the_customers_session_and_nothing_forged(
    stack: Stack,
) -> None:
    """The new service answers a mirror for the same customer as the legacy answered the client: the
    worker signs the session for the mirror as it would for a request sent to the new side."""
    port = stack.dataplane.port
    session = {"cookie": "sessionid=good-session"}
    forged = {"x-strangler-identity": "v1.e30.AAAA"}
    assert request(port, "GET", "/echo/who/customer", headers=session)[0] == 200
    assert request(port, "GET", "/echo/who/forged", headers=forged)[0] == 200

    def mirrored(target: str) -> dict | None:
        return next((s for s in seen_by(stack.recorder_url) if s["raw_target"] == target), None)

    wait_until(lambda: mirrored("/echo/who/customer") and mirrored("/echo/who/forged"), "both mirrors")
    key = load_or_create_secret(stack.dataplane.home / "secrets" / "identity.key")
    customer, anonymous = mirrored("/echo/who/customer"), mirrored("/echo/who/forged")
    assert customer is not None and anonymous is not None
    claims = verify_identity(key, customer["identity"], time.time())
    assert (claims["sub"], claims["username"]) == ("7", "demo")
    assert anonymous["identity"] is None


def _shadow_process_pids(dataplane_pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{dataplane_pid}/task").iterdir():
        pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def test_a_killed_shadow_process_is_replaced_and_mirroring_resumes(stack: Stack) -> None:
    """The data plane supervises its shadow process: killed, it comes back, the worker reconnects, and
    comparisons reach the store again; the primary answers throughout."""
    port = stack.dataplane.port
    (first,) = _shadow_process_pids(stack.dataplane.process.pid)
    os.kill(first, signal.SIGKILL)
    wait_until(
        lambda: [p for p in _shadow_process_pids(stack.dataplane.process.pid) if p != first] != [],
        "a new shadow process",
    )
    before = counts_by_route(stack.store).get("same", (0, 0, 0))[0]

    def compared_again() -> bool:
        status, _, _ = request(port, "GET", "/status/200")
        assert status == 200  # the legacy answers whatever the shadow side does
        return counts_by_route(stack.store).get("same", (0, 0, 0))[0] > before

    wait_until(compared_again, "a comparison after the restart", timeout=30.0)
    with urllib.request.urlopen(f"{stack.dataplane.internal_url}/_strangler/version", timeout=10) as response:
        shadow = json.loads(response.read())["shadow"]
    assert shadow["connected"] is True and shadow["submitted"] >= 1
    assert set(shadow["dropped"]) <= {"disconnected", "backlog", "failed"}
