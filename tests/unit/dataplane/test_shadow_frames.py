"""Frames of the worker-to-shadow channel: what a worker marshals is what the shadow process reads."""

from __future__ import annotations

import marshal

import pytest

from strangler_proxy.dataplane.shadow.channel import (
    FrameReader,
    Submission,
    decode_frame,
    encode_frame,
    submission_of,
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
        [payload] = FrameReader().feed(encode_frame([_submission(sent)]))
        [fields] = decode_frame(payload)
        decoded = submission_of(fields)
        assert decoded.request_headers == text
        assert all(isinstance(part, str) for pair in decoded.request_headers for part in pair)
        assert decoded == _submission(text)


@pytest.mark.parametrize(
    "headers",
    [[("host",)], [("x-name", "\udce9")], [("x-name", b"caf\xe9")], [(1, 2)]],
    ids=["not a pair", "a lone surrogate", "bytes not UTF-8", "not text or bytes"],
)
def test_a_frame_with_malformed_headers_is_refused_with_value_error(headers: list) -> None:
    [exchange] = decode_frame(encode_frame([_submission([])])[4:])
    fields = list(exchange)
    fields[8] = headers
    with pytest.raises(ValueError, match="headers"):
        submission_of(tuple(fields))


def test_a_frame_carries_a_batch_in_order_and_the_reader_joins_split_reads() -> None:
    batch = [_submission([("host", f"shop-{n}.test")])._replace(request_id=f"req-{n}") for n in range(3)]
    stream = encode_frame(batch) + encode_frame(batch[:1])
    reader = FrameReader()
    payloads = [p for at in range(0, len(stream), 7) for p in reader.feed(stream[at : at + 7])]
    assert len(payloads) == 2
    assert [submission_of(f) for f in decode_frame(payloads[0])] == batch
    assert [submission_of(f) for f in decode_frame(payloads[1])] == batch[:1]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00garbage", "unreadable"),
        (marshal.dumps(("not", "a", "list")), "list of exchanges"),
    ],
)
def test_a_frame_that_is_not_a_batch_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_frame(payload)


def test_an_exchange_with_the_wrong_number_of_fields_is_refused() -> None:
    with pytest.raises(ValueError, match="tuple of 13 fields"):
        submission_of(tuple(_submission([]))[:12])


def test_a_frame_larger_than_the_limit_is_refused_by_the_reader() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        FrameReader(max_frame_bytes=100).feed(encode_frame([_submission([])]))
