"""One routing suite, two front doors: every test here runs against the Python data plane and HAProxy.

Each front door serves a store of its own with the same two upstream processes behind it (``legacy``
and ``catalog``, which tag every answer with ``x-upstream``); a test publishes its table straight into
the store, as the control plane would, and waits until the front door reports serving it.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from strangler_proxy.routes import LEGACY, RouteTable, Rule, Upstream
from tests.integration.dataplane.harness import Store, UpstreamServer, start_dataplane, start_upstream
from tests.integration.engines.harness import start_engine
from tests.support.net import free_port
from tests.support.processes import RunningProcess

FRONT_DOORS = [
    pytest.param("dataplane", marks=pytest.mark.xdist_group("conformance-dataplane")),
    pytest.param("haproxy", marks=pytest.mark.xdist_group("conformance-haproxy")),
]


@dataclass
class Answer:
    status: int
    upstream: str | None
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class FrontDoor:
    """A running front door (``kind``: dataplane or haproxy) and what it serves."""

    kind: str
    port: int
    home: Path
    store: Store
    legacy: UpstreamServer
    catalog: UpstreamServer
    dead_url: str
    process: RunningProcess
    published: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def override_key(self) -> bytes:
        return (self.home / "secrets" / "override.key").read_text().strip().encode()

    def upstreams(self, *, dead: bool = False) -> dict[str, Upstream]:
        catalog = self.dead_url if dead else self.catalog.url
        return {
            LEGACY: Upstream(name=LEGACY, url=self.legacy.url),
            "catalog": Upstream(name="catalog", url=catalog),
        }

    def publish(self, rules: Iterable[Rule], *, dead: bool = False) -> int:
        """Publish a table of ``rules`` and wait until the front door serves it."""
        version = self.store.publish(RouteTable(upstreams=self.upstreams(dead=dead), rules=tuple(rules)))
        self.store.wait_applied(version, workers=1, timeout=30)
        self.published.append(version)
        return version

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, target, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            payload = response.read()
            return Answer(response.status, response.getheader("x-upstream"), response.getheaders(), payload)
        finally:
            connection.close()

    def get(self, target: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", target, headers)


INTERNAL_TOKEN = "test-internal-token"
"""The legacy's internal token (the test legacy's ``/internal/session/resolve`` wants it)."""
AUTH_SCHEMES = "Basic,Token"
"""Basic auth and the test legacy's API token scheme are resolved into identities; others are not."""


def _start(kind: str, home: Path, store: Store, legacy_url: str) -> tuple[int, RunningProcess]:
    env = {"STRANGLER_LEGACY_INTERNAL_TOKEN": INTERNAL_TOKEN, "STRANGLER_IDENTITY_AUTH_SCHEMES": AUTH_SCHEMES}
    if kind == "dataplane":
        dataplane = start_dataplane(home, store, legacy_url, extra_env=env)
        return dataplane.port, dataplane.process
    engine = start_engine(home, store, legacy_url, extra_env=env)
    return engine.port, engine.process


@pytest.fixture(scope="module", params=FRONT_DOORS)
def door(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontDoor]:
    kind: str = request.param
    root = tmp_path_factory.mktemp(f"conformance-{kind}")
    store = Store(root / "store.sqlite3")
    legacy = start_upstream("legacy", root)
    catalog = start_upstream("catalog", root)
    process: RunningProcess | None = None
    try:
        store.publish(RouteTable(upstreams={LEGACY: Upstream(name=LEGACY, url=legacy.url)}))
        port, process = _start(kind, root / "home", store, legacy.url)
        yield FrontDoor(
            kind, port, root / "home", store, legacy, catalog, f"http://127.0.0.1:{free_port()}", process
        )
    finally:
        if process is not None:
            process.stop()
        catalog.process.stop()
        legacy.process.stop()
        store.engine.dispose()
