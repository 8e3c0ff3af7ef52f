"""Frames of the worker-to-shadow channel: what a worker marshals is what the shadow process reads."""

from __future__ import annotations

import marshal

import pytest

from strangler_proxy.dataplane.shadow.channel import (
    FrameReader,
    Submission,
    decode_submission,
    encode_submission,
)

pytestmark = pytest.mark.unit


def _submission(request_headers: list) -> Submission:
    return Submission(
        rule_json=b'{"name": "products"}',
        route="products",
        upstream="catalog",
        upstream_url="http://127.0.0.1:9200",
        version=7,
        request_id="req-1",
        method="GET",
        raw_target=b"/api/products/1?x=caf%C3%A9",
        request_headers=request_headers,
        request_body=b"",
        legacy_status=200,
        legacy_headers=[(b"content-type", b"application/json"), (b"set-cookie", b"a=1")],
        legacy_body=b"{}",
    )


def test_request_headers_sent_as_text_arrive_as_the_same_latin1_bytes() -> None:
    """A worker hands over the headers it gave aiohttp (text) unconverted; the shadow process gets
    bytes, exactly as if the worker had encoded them."""
    text = [("host", "shop.test"), ("x-name", "caf\u00e9"), ("x-forwarded-for", "10.0.0.1")]
    as_bytes = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in text]
    [payload] = FrameReader().feed(encode_submission(_submission(text)))
    decoded = decode_submission(payload)
    assert decoded.request_headers == as_bytes
    assert decoded == _submission(as_bytes)


@pytest.mark.parametrize(
    "headers",
    [[("host",)], [("x-name", "\u20ac")], [(1, 2)]],
    ids=["not a pair", "not latin-1", "not text or bytes"],
)
def test_a_frame_with_malformed_headers_is_refused_with_value_error(headers: list) -> None:
    fields = list(marshal.loads(encode_submission(_submission([]))[4:]))
    fields[8] = headers
    with pytest.raises(ValueError, match="headers"):
        decode_submission(marshal.dumps(tuple(fields)))
