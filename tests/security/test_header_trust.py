"""Point 2: header trust. Nothing a client sends reaches the upstream in a position the proxy vouches for."""

from __future__ import annotations

import re

import pytest

from strangler_proxy.dataplane.headers import TrustedPeers, prepare_request_headers
from tests.security.conftest import Front
from tests.security.rawclient import exchange

pytestmark = pytest.mark.xdist_group("security-framing")

HOSTILE = (
    b"X-Forwarded-For: 6.6.6.6\r\n"
    b"X-Forwarded-Proto: https\r\n"
    b"X-Forwarded-Host: bank.example\r\n"
    b"Forwarded: for=6.6.6.6;proto=https\r\n"
    b"X-Real-IP: 6.6.6.6\r\n"
    b"True-Client-IP: 6.6.6.6\r\n"
    b"X_Forwarded_For: 6.6.6.6\r\n"
    b"X_Real_IP: 6.6.6.6\r\n"
    b"X-Request-ID: bad id with spaces\r\n"
    b"traceparent: 00-zzzz-not-a-trace\r\n"
    b"X-Strangler-Identity: eyJ1c2VyIjoxfQ.forged\r\n"
    b"X_Strangler_Identity: eyJ1c2VyIjoxfQ.forged\r\n"
    b"X-Strangler-Shadow: 1\r\n"
    b"X-Strangler-Override: forged\r\n"
    b"Connection: keep-alive, x-forwarded-for, x-request-id, traceparent, host, x-strangler-identity\r\n"
    b"X-Kept: yes\r\n"
)


@pytest.mark.integration
def test_client_headers_never_reach_the_upstream_in_a_trusted_position(front: Front) -> None:
    front.upstream.requests.clear()
    payload = b"GET /trust HTTP/1.1\r\nHost: shop.example\r\n" + HOSTILE + b"Connection: close\r\n\r\n"
    result = exchange(front.dataplane.port, payload, timeout=10)
    assert result.statuses == [200]
    (seen,) = front.upstream.requests
    names = [name.lower() for name, _ in seen.headers]
    assert seen.all("x-forwarded-for") == ["127.0.0.1"]
    assert seen.all("x-forwarded-proto") == ["http"]
    assert seen.all("x-forwarded-host") == ["shop.example"]
    assert seen.all("host") == ["shop.example"]
    for name in (
        "forwarded",
        "x-real-ip",
        "true-client-ip",
        "x_forwarded_for",
        "x_real_ip",
        "x_strangler_identity",
    ):
        assert name not in names, name
    assert not [n for n in names if n.startswith("x-strangler-")], names
    (request_id,) = seen.all("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (traceparent,) = seen.all("traceparent")
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", traceparent)
    assert seen.all("x-kept") == ["yes"]


@pytest.mark.unit
def test_a_trusted_peer_extends_the_chain_and_an_untrusted_one_cannot() -> None:
    import ipaddress

    raw = [(b"host", b"h"), (b"x-forwarded-for", b"6.6.6.6"), (b"x-real-ip", b"6.6.6.6")]
    trusted = TrustedPeers([ipaddress.ip_network("10.0.0.0/8")])
    via_proxy = prepare_request_headers(
        raw, client_host="10.1.1.1", scheme="http", trusted=trusted, default_host="d"
    )
    direct = prepare_request_headers(
        raw, client_host="8.8.8.8", scheme="http", trusted=trusted, default_host="d"
    )
    assert ("x-forwarded-for", "6.6.6.6, 10.1.1.1") in via_proxy.headers
    assert ("x-forwarded-for", "8.8.8.8") in direct.headers
    assert all(name != "x-real-ip" for name, _ in via_proxy.headers + direct.headers)
