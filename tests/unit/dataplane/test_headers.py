"""Header rewriting: one pass, hop-by-hop, forwarded, request id, traceparent, Location."""

from __future__ import annotations

import ipaddress
import re

import pytest

from strangler_proxy.dataplane.headers import (
    TrustedPeers,
    filter_response_headers,
    new_request_id,
    prepare_request_headers,
)

pytestmark = pytest.mark.unit

NONE = TrustedPeers(())
LOOPBACK = TrustedPeers((ipaddress.ip_network("127.0.0.0/8"),))


def _prepare(raw, trusted=NONE, client="10.1.2.3"):  # type: ignore[no-untyped-def]
    return prepare_request_headers(
        raw, client_host=client, scheme="http", trusted=trusted, default_host="up:1"
    )


def _values(result, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [v for n, v in result.headers if n == name]


def test_end_to_end_headers_keep_their_order_and_repeats() -> None:
    result = _prepare([(b"host", b"shop"), (b"x-a", b"1"), (b"cookie", b"a=1"), (b"x-a", b"2")])
    assert [(n, v) for n, v in result.headers if n in ("x-a", "cookie")] == [
        ("x-a", "1"),
        ("cookie", "a=1"),
        ("x-a", "2"),
    ]
    assert _values(result, "host") == ["shop"]


def test_hop_by_hop_and_connection_named_headers_are_dropped() -> None:
    raw = [
        (b"connection", b"keep-alive, X-Private"),
        (b"x-private", b"secret"),
        (b"keep-alive", b"timeout=5"),
        (b"te", b"trailers"),
        (b"upgrade", b"websocket"),
        (b"proxy-authorization", b"Basic x"),
        (b"expect", b"100-continue"),
        (b"x-kept", b"yes"),
    ]
    names = {n for n, _ in _prepare(raw).headers}
    assert names.isdisjoint(
        {"connection", "x-private", "keep-alive", "te", "upgrade", "proxy-authorization", "expect"}
    )
    assert "x-kept" in names


def test_client_strangler_headers_are_removed() -> None:
    names = {
        n for n, _ in _prepare([(b"x-strangler-route", b"forged"), (b"x-strangler-shadow", b"1")]).headers
    }
    assert not [n for n in names if n.startswith("x-strangler-")]


def test_untrusted_forwarded_headers_are_replaced() -> None:
    raw = [
        (b"host", b"shop:8000"),
        (b"x-forwarded-for", b"6.6.6.6"),
        (b"x-forwarded-proto", b"https"),
        (b"forwarded", b"for=1.1.1.1"),
    ]
    result = _prepare(raw)
    assert _values(result, "x-forwarded-for") == ["10.1.2.3"]
    assert _values(result, "x-forwarded-proto") == ["http"]
    assert _values(result, "x-forwarded-host") == ["shop:8000"]
    assert _values(result, "forwarded") == []


def test_trusted_forwarded_headers_are_extended() -> None:
    raw = [
        (b"x-forwarded-for", b"203.0.113.9, 10.0.0.2"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"shop.example"),
    ]
    result = _prepare(raw, LOOPBACK, client="127.0.0.1")
    assert _values(result, "x-forwarded-for") == ["203.0.113.9, 10.0.0.2, 127.0.0.1"]
    assert _values(result, "x-forwarded-proto") == ["https"]
    assert _values(result, "x-forwarded-host") == ["shop.example"]
    assert "127.0.0.1" in LOOPBACK and "10.0.0.1" not in LOOPBACK and "not-an-ip" not in LOOPBACK


@pytest.mark.parametrize(
    ("raw", "trusted", "public"),
    [
        # a trusted proxy names the origin the user reached (first of a chain, scheme case-blind)
        (
            [(b"x-forwarded-proto", b"HTTPS, http"), (b"x-forwarded-host", b"shop.example, lb")],
            LOOPBACK,
            ("https", "shop.example"),
        ),
        # only the scheme: the host stays the request's
        ([(b"x-forwarded-proto", b"https")], LOOPBACK, ("https", "internal:8000")),
        # an unknown scheme is not believed
        ([(b"x-forwarded-proto", b"javascript")], LOOPBACK, ("http", "internal:8000")),
        # an untrusted peer names nothing
        (
            [(b"x-forwarded-proto", b"https"), (b"x-forwarded-host", b"evil.test")],
            NONE,
            ("http", "internal:8000"),
        ),
        ([], LOOPBACK, ("http", "internal:8000")),
    ],
)
def test_the_public_origin_is_a_trusted_proxys_else_the_requests(raw, trusted, public) -> None:  # type: ignore[no-untyped-def]
    result = _prepare([(b"host", b"internal:8000"), *raw], trusted, client="127.0.0.1")
    assert (result.public_scheme, result.public_host) == public


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (b"abc-123-DEF_456", True),
        (b"short", False),
        (b"has space inside", False),
        (b"x" * 129, False),
        (b"", False),
    ],
)
def test_request_id_is_kept_only_when_well_formed(given: bytes, kept: bool) -> None:
    result = _prepare([(b"x-request-id", given)])
    assert (result.request_id == given.decode()) is kept
    assert _values(result, "x-request-id") == [result.request_id]
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", result.request_id)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", True),
        (b"00-00000000000000000000000000000000-b7ad6b7169203331-01", False),
        (b"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", False),
        (b"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", False),
        (b"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", False),
        (b"garbage", False),
    ],
)
def test_traceparent_is_propagated_or_started(given: bytes, kept: bool) -> None:
    (value,) = _values(_prepare([(b"traceparent", given)]), "traceparent")
    if kept:
        assert value == given.decode()
    else:
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", value) and value != given.decode()


def test_body_framing_is_read_in_the_same_pass() -> None:
    assert _prepare([(b"content-length", b"12")]).content_length == 12
    assert _prepare([(b"content-length", b"12")]).has_body
    assert _prepare([(b"content-length", b"-1")]).content_length == -1
    assert _prepare([(b"content-length", b"abc")]).content_length == -1
    chunked = _prepare([(b"transfer-encoding", b"chunked"), (b"content-length", b"5")])
    assert chunked.chunked and chunked.content_length is None and _values(chunked, "content-length") == []
    assert not _prepare([]).has_body
    assert _prepare([]).host == "up:1"


def test_new_request_ids_differ() -> None:
    assert len({new_request_id() for _ in range(1000)}) == 1000


def test_response_hop_by_hop_dropped_and_repeats_kept() -> None:
    raw = [
        (b"Set-Cookie", b"a=1"),
        (b"Connection", b"keep-alive, X-Hop"),
        (b"X-Hop", b"x"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Set-Cookie", b"b=2"),
    ]
    out = filter_response_headers(raw, upstream_origin=b"http://127.0.0.1:8100", public_origin=b"http://shop")
    assert out == [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (b"http://127.0.0.1:8100/cart/?a=1", b"https://shop.example/cart/?a=1"),
        (b"http://127.0.0.1:8100", b"https://shop.example"),
        (b"http://127.0.0.1:81000/x", b"http://127.0.0.1:81000/x"),
        (b"/relative", b"/relative"),
        (b"https://elsewhere.example/x", b"https://elsewhere.example/x"),
    ],
)
def test_location_is_rewritten_only_for_the_upstreams_own_origin(location: bytes, expected: bytes) -> None:
    out = filter_response_headers(
        [(b"location", location)],
        upstream_origin=b"http://127.0.0.1:8100",
        public_origin=b"https://shop.example",
    )
    assert out == [(b"location", expected)]
