"""The admin UI links shadow mismatches and a route's failing requests to the configured trace UI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import insert
from starlette.testclient import TestClient

from strangler_proxy.controlplane.app import create_app
from strangler_proxy.controlplane.service_layer import ControlPlaneServices, build_services
from strangler_proxy.controlplane.service_layer.auth import Role
from strangler_proxy.controlplane.settings import ControlPlaneSettings
from strangler_proxy.controlplane.ui.trace_links import TraceLinks
from strangler_proxy.store.engine import make_engine
from strangler_proxy.store.schema import shadow_samples
from tests.unit.controlplane.conftest import CHEAP_ARGON2

pytestmark = pytest.mark.unit

JAEGER_REQUEST = (
    'http://127.0.0.1:16686/search?service=strangler-dataplane&tags={"strangler.request_id":"{request_id}"}'
)
JAEGER_ERRORS = 'http://127.0.0.1:16686/search?service=strangler-dataplane&tags={"strangler.route":"{route}","error":"true"}'


def test_values_are_encoded_so_a_client_cannot_change_the_links_target() -> None:
    links = TraceLinks(JAEGER_REQUEST, JAEGER_ERRORS)
    url = links.for_request('x"},"a":"b&next=http://evil')
    assert url is not None and url.startswith(
        "http://127.0.0.1:16686/search?service=strangler-dataplane&tags="
    )
    assert "&next=" not in url and "evil" in unquote(url)
    assert unquote(links.for_route_errors("orders") or "").endswith(
        '{"strangler.route":"orders","error":"true"}'
    )
    assert TraceLinks().for_request("abc") is None and TraceLinks().for_route_errors("orders") is None
    assert links.for_request(None) is None


def test_a_template_by_trace_id_links_only_requests_that_have_one() -> None:
    links = TraceLinks("http://127.0.0.1:16686/trace/{trace_id}")
    assert links.for_request("req-1", "4bf92f3577b34da6a3ce929d0e0e4736") == (
        "http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert links.for_request("req-1", "") is None  # a sample kept before trace ids were: no empty link
    assert TraceLinks("http://t/{request_id}").for_request(None, "4bf92f3577b34da6a3ce929d0e0e4736") is None


def test_settings_refuse_a_template_that_is_not_http() -> None:
    with pytest.raises(ValueError):
        ControlPlaneSettings(trace_ui_request_url="javascript:alert(1)")


@pytest.fixture
def settings(tmp_path: Path) -> ControlPlaneSettings:
    """The conftest's settings with the trace UI's templates (the services fixture is built on them)."""
    return ControlPlaneSettings(
        home=tmp_path / "home",
        legacy_url="http://127.0.0.1:8100",
        guards_enabled=False,
        admin_port=8001,
        admin_allowed_hosts=("testserver",),
        trace_ui_request_url=JAEGER_REQUEST,
        trace_ui_route_errors_url=JAEGER_ERRORS,
    )


@pytest.fixture
def ui_client(settings: ControlPlaneSettings, services: ControlPlaneServices) -> Iterator[TestClient]:
    services.auth.create_user("viewer-user", "a long enough password", Role.VIEWER)
    with TestClient(create_app(settings, services)) as client:
        login = client.post("/login", data={"username": "viewer-user", "password": "a long enough password"})
        assert login.status_code == 200, login.text[:300]
        yield client


def test_a_shadow_mismatch_links_to_its_trace_and_the_routes_table_to_failing_requests(
    ui_client: TestClient, services: ControlPlaneServices
) -> None:
    with services.engine.begin() as conn:
        conn.execute(
            insert(shadow_samples).values(
                at=datetime.now(UTC),
                route="legacy-default",
                version=1,
                request_id="5d2b5f6ef08d905171501cd9d0c8e85b",
                method="GET",
                path="/catalog/1",
                legacy_status=200,
                new_status=500,
                diff="-a\n+b",
            )
        )
    page = ui_client.get("/shadow").text
    assert "%22strangler.request_id%22:%225d2b5f6ef08d905171501cd9d0c8e85b%22" in page
    table = ui_client.get("/").text
    assert "traces</a>" in table or "trace-link" in table


def test_a_shadow_mismatch_links_to_its_trace_by_trace_id(settings: ControlPlaneSettings) -> None:
    by_trace = settings.model_copy(update={"trace_ui_request_url": "http://127.0.0.1:16686/trace/{trace_id}"})
    services = build_services(
        by_trace, make_engine(by_trace.resolved_store_url), password_hasher=CHEAP_ARGON2
    )
    services.bootstrap()
    services.auth.create_user("viewer-user", "a long enough password", Role.VIEWER)
    with services.engine.begin() as conn:
        conn.execute(
            insert(shadow_samples).values(
                at=datetime.now(UTC),
                route="legacy-default",
                version=1,
                request_id="5d2b5f6ef08d905171501cd9d0c8e85b",
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
                method="GET",
                path="/catalog/1",
                legacy_status=200,
                new_status=500,
                diff="-a\n+b",
            )
        )
    try:
        with TestClient(create_app(by_trace, services)) as client:
            login = client.post(
                "/login", data={"username": "viewer-user", "password": "a long enough password"}
            )
            assert login.status_code == 200, login.text[:300]
            page = client.get("/shadow").text
    finally:
        services.engine.dispose()
    assert 'href="http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"' in page
