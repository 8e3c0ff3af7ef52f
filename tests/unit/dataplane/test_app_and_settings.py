"""Settings from the environment, the uvicorn options, and the proxy's own endpoints."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strangler_proxy.dataplane.__main__ import uvicorn_options
from strangler_proxy.dataplane.app import create_app
from strangler_proxy.dataplane.settings import DataPlaneSettings, load_override_key

pytestmark = pytest.mark.unit


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STRANGLER_HOME", str(tmp_path))
    monkeypatch.setenv("STRANGLER_DATAPLANE_PORT", "9000")
    monkeypatch.setenv("STRANGLER_DATAPLANE_WORKERS", "3")
    monkeypatch.setenv("STRANGLER_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")
    monkeypatch.setenv("STRANGLER_DEBUG_HEADERS", "true")
    settings = DataPlaneSettings()
    assert settings.dataplane_port == 9000 and settings.dataplane_workers == 3 and settings.debug_headers
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert settings.resolved_store_url == f"sqlite:///{tmp_path.resolve() / 'store.sqlite3'}"
    with pytest.raises(Exception):  # noqa: B017 - frozen
        settings.dataplane_port = 1  # type: ignore[misc]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRANGLER_DATAPLANE_PORT", "STRANGLER_ACCESS_LOG", "STRANGLER_POLL_INTERVAL_S"):
        monkeypatch.delenv(name, raising=False)
    settings = DataPlaneSettings()
    assert (settings.dataplane_port, settings.access_log, settings.poll_interval_s) == (8000, True, 0.05)
    assert settings.trusted_proxies == () and not settings.debug_headers


def test_override_key_is_created_once(tmp_path: Path) -> None:
    settings = DataPlaneSettings(home=tmp_path)
    key = load_override_key(settings)
    assert key == load_override_key(settings) and len(key.current) >= 32
    assert (tmp_path / "secrets" / "override.key").stat().st_mode & 0o777 == 0o600


def test_uvicorn_runs_with_uvloop_httptools_and_nothing_of_its_own() -> None:
    options = uvicorn_options(DataPlaneSettings(dataplane_workers=4, dataplane_port=8123))
    assert options["loop"] == "uvloop" and options["factory"] is True
    assert issubclass(options["http"].func, HttpToolsProtocol)  # type: ignore[attr-defined]
    assert options["workers"] == 4 and options["port"] == 8123
    assert options["access_log"] is False and options["proxy_headers"] is False
    assert options["server_header"] is False and options["date_header"] is False


INTERNAL = ("127.0.0.1", 8002)
PUBLIC = ("127.0.0.1", 8000)


def _get(app, path: str, method: str = "GET", client=("127.0.0.1", 5000), server=INTERNAL):  # type: ignore[no-untyped-def]
    messages: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "client": client,
        "server": server,
        "scheme": "http",
    }
    asyncio.run(app(scope, receive, send))
    start, body = messages
    return start["status"], json.loads(body["body"]) if body["body"].startswith(b"{") else body["body"]


def test_own_endpoints_before_startup(tmp_path: Path) -> None:
    app = create_app(DataPlaneSettings(home=tmp_path))
    assert _get(app, "/_strangler/healthz") == (200, {"status": "ok"})
    assert _get(app, "/_strangler/readyz")[0] == 503
    assert _get(app, "/_strangler/nope")[0] == 404
    assert _get(app, "/anything")[0] == 404  # the internal port forwards nothing
    assert _get(app, "/_strangler/healthz", method="POST")[0] == 405
    assert _get(app, "/_strangler/healthz", server=PUBLIC) == (200, {"status": "ok"})
    for path in ("/anything", "/_strangler/readyz", "/_strangler/version", "/_strangler/metrics"):
        assert _get(app, path, server=PUBLIC)[0] == 503, path  # not started: forwarded once it is


def test_metrics_are_for_loopback_peers_only(tmp_path: Path) -> None:
    app = create_app(DataPlaneSettings(home=tmp_path))
    status, body = _get(app, "/_strangler/metrics", client=("10.0.0.5", 4000))
    assert status == 403 and body["error"] == "forbidden"
    status, text = _get(app, "/_strangler/metrics", client=("127.0.0.1", 4000))
    assert status == 200 and b"# TYPE strangler_requests_total counter" in text
    assert _get(app, "/_strangler/metrics", client=("::1", 4000))[0] == 200


def test_a_worker_whose_startup_fails_after_registering_leaves_no_row_in_the_store(tmp_path: Path) -> None:
    """The store must never list a worker that does not serve: a startup that fails after the worker
    registered (here: an unusable identity key) removes its row again."""
    from sqlalchemy import select

    from strangler_proxy.dataplane.settings import identity_key_path
    from strangler_proxy.store.engine import make_engine
    from strangler_proxy.store.schema import dataplane_workers, metadata

    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = make_engine(store_url)
    metadata.create_all(engine)
    key = identity_key_path(tmp_path)
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("")  # refused: "delete it to have a new secret generated"
    app = create_app(DataPlaneSettings(home=tmp_path, store_url=store_url, access_log=False))
    sent: list[dict] = []

    async def lifespan_startup() -> None:
        messages = iter([{"type": "lifespan.startup"}])

        async def receive() -> dict:
            return next(messages)

        async def send(message: dict) -> None:
            sent.append(message)

        await app(  # type: ignore[arg-type]
            {"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send
        )

    asyncio.run(lifespan_startup())
    assert sent[0]["type"] == "lifespan.startup.failed" and "empty" in sent[0]["message"]
    with engine.connect() as conn:
        assert conn.execute(select(dataplane_workers)).all() == []
    engine.dispose()
