"""Finding 6: the data plane's own endpoints (readiness, metrics, version: route and upstream names,
breaker states, host names and pids) are answered on a loopback-only port of their own; the public
port answers only liveness and treats every other /_strangler/ path as an unknown path (the legacy's)."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest
from pydantic import ValidationError

from strangler_proxy.dataplane.settings import DataPlaneSettings
from tests.security.conftest import Front
from tests.unit.controlplane.conftest import Api

INTERNAL = ("/_strangler/readyz", "/_strangler/metrics", "/_strangler/version")


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.integration
@pytest.mark.xdist_group("security-framing")
def test_the_public_port_answers_liveness_only_and_forwards_the_rest(front: Front) -> None:
    front.upstream.requests.clear()
    status, body = _get(front.dataplane.url + "/_strangler/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    for path in (*INTERNAL, "/_strangler/users"):
        status, body = _get(front.dataplane.url + path)
        assert status == 200 and body.startswith(b"recorded"), path  # the legacy answered
    assert front.upstream.paths() == [*INTERNAL, "/_strangler/users"]


@pytest.mark.integration
@pytest.mark.xdist_group("security-framing")
def test_the_internal_port_serves_them_on_loopback_only_and_forwards_nothing(front: Front) -> None:
    internal = front.dataplane.internal_url
    status, body = _get(internal + "/_strangler/version")
    assert status == 200 and "worker" in json.loads(body)
    status, body = _get(internal + "/_strangler/metrics")
    assert status == 200 and b"strangler_requests_total" in body
    status, body = _get(internal + "/_strangler/readyz")
    assert status == 200 and json.loads(body)["status"] == "ready"
    front.upstream.requests.clear()
    assert _get(internal + "/api/v1/users")[0] == 404
    assert front.upstream.requests == [], "the internal port is no second front door"
    outward = _outward_address()
    if outward is not None:  # the same port on this host's other address: nothing listens there
        with pytest.raises(OSError):
            socket.create_connection((outward, front.dataplane.internal_port), timeout=2).close()


def _outward_address() -> str | None:
    """This host's address on its default route (no packet is sent), or None when it only has loopback."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


@pytest.mark.unit
@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", socket.gethostname()])
def test_the_internal_endpoints_refuse_a_host_other_than_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        DataPlaneSettings(dataplane_internal_host=host)


@pytest.mark.unit
def test_the_internal_port_is_not_the_public_one() -> None:
    with pytest.raises(ValidationError, match="port of their own"):
        DataPlaneSettings(dataplane_port=9000, dataplane_internal_port=9000)


@pytest.mark.unit
def test_no_upstream_may_point_at_the_internal_port(api: Api) -> None:
    """Else the public port would forward to the internal endpoints."""
    port = api.services.settings.dataplane_internal_port
    for url in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://0x7f.1:{port}"):
        response = api.client.put("/api/v1/upstreams/loop", json={"url": url}, headers=api.headers("admin"))
        assert response.status_code == 422, (url, response.text)
