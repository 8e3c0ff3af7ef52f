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


def test_request_headers_arrive_as_the_text_aiohttp_writes_whether_sent_as_text_or_bytes() -> None:
    """A worker hands over the headers it gave aiohttp (text) unconverted and the shadow process hands
    them to aiohttp as they are; headers sent as bytes arrive as the same text (UTF-8, as aiohttp
    writes it)."""
    text = [("host", "shop.test"), ("x-name", "caf\u00e9 \u2713"), ("x-forwarded-for", "10.0.0.1")]
    as_bytes = [(n.encode(), v.encode()) for n, v in text]
    for sent in (text, as_bytes):
        [payload] = FrameReader().feed(encode_submission(_submission(sent)))
        decoded = decode_submission(payload)
        assert decoded.request_headers == text
        assert all(isinstance(part, str) for pair in decoded.request_headers for part in pair)
        assert decoded == _submission(text)


@pytest.mark.parametrize(
    "headers",
    [[("host",)], [("x-name", "\udce9")], [("x-name", b"caf\xe9")], [(1, 2)]],
    ids=["not a pair", "a lone surrogate", "bytes not UTF-8", "not text or bytes"],
)
def test_a_frame_with_malformed_headers_is_refused_with_value_error(headers: list) -> None:
    fields = list(marshal.loads(encode_submission(_submission([]))[4:]))
    fields[8] = headers
    with pytest.raises(ValueError, match="headers"):
        decode_submission(marshal.dumps(tuple(fields)))
