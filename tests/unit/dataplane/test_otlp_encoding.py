"""The hand-written OTLP protobuf of a span record, decoded with the official opentelemetry-proto classes
and compared field by field with what the SDK's OTLP exporter encodes for the same record."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource

from strangler_proxy.dataplane import otlp_encoding
from strangler_proxy.dataplane.otlp_encoding import SpanEncoder, varint
from strangler_proxy.dataplane.span_records import SCOPE, SpanRecord, span_from_record

ATTRIBUTES: dict[str, Any] = {
    "http.request.method": "POST",
    "url.path": "/api/orders/é/42",
    "strangler.route": "orders-api",
    "strangler.decision": "canary-new",
    "strangler.table_version": 7,
    "strangler.request_id": "0af7651916cd43dd8448eb211c80319c",
    "strangler.target": "new",
    "strangler.upstream": "http://127.0.0.1:8101",
    "http.response.status_code": 201,
    "strangler.outcome": "ok",
}
OK: SpanRecord = (
    "POST orders-api",
    0x4BF92F3577B34DA6A3CE929D0E0E4736,
    0x00F067AA0BA902B7,
    0x0102030405060708,
    1_764_900_000_123_456_789,
    1_764_900_000_125_000_001,
    ATTRIBUTES,
    None,
)
FAILED: SpanRecord = (
    "GET catalog",
    0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,
    0x1,
    0xFFFFFFFFFFFFFFFF,
    0,
    (1 << 64) - 1,
    {"strangler.route": "catalog", "http.response.status_code": 502, "strangler.outcome": "error"},
    ("ProxyError", "upstream refused the connection"),
)
ODD_VALUES: SpanRecord = (
    "",
    0x1,
    0x2,
    0x3,
    5,
    6,
    {
        "negative": -1,
        "large": (1 << 63) - 1,
        "smallest": -(1 << 63),
        "flag": True,
        "off": False,
        "ratio": 0.25,
        "names": ("a", "b"),
        "codes": (1, -2),
        "empty": "",
    },
    ("ValueError", ""),
)
RESOURCE = Resource.create(
    {"service.name": "strangler-dataplane", "deployment.environment": "test", "host.cores": 2},
    schema_url="https://opentelemetry.io/schemas/1.21.0",
)


def _by_the_sdk(records: list[SpanRecord]) -> ExportTraceServiceRequest:
    return encode_spans([span_from_record(record, RESOURCE) for record in records])


def _by_hand(records: list[SpanRecord], encoder: SpanEncoder | None = None) -> bytes:
    encoder = encoder or SpanEncoder(RESOURCE.attributes, SCOPE.name, SCOPE.version, RESOURCE.schema_url)
    return encoder.request([encoder.span(record) for record in records])


def _fields(message: Message, path: str = "") -> dict[str, Any]:
    """Every field set in ``message`` and in the messages it holds, by path."""
    found: dict[str, Any] = {}
    for descriptor, value in message.ListFields():
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        if descriptor.message_type is None:
            found[name] = value
        elif descriptor.is_repeated:
            found[f"{name}#"] = len(value)
            for index, item in enumerate(value):
                found |= _fields(item, f"{name}[{index}]")
        else:
            found[f"{name}{{}}"] = True  # a message field present, even when empty (an UNSET status)
            found |= _fields(value, name)
    return found


@pytest.mark.parametrize("records", [[OK], [FAILED], [ODD_VALUES], [OK, FAILED, ODD_VALUES, OK]])
def test_the_hand_encoded_request_has_every_field_the_sdk_exporter_sends(records: list[SpanRecord]) -> None:
    decoded = ExportTraceServiceRequest.FromString(_by_hand(records))
    expected = _by_the_sdk(records)
    assert _fields(decoded) == _fields(expected)
    assert decoded == expected


def test_the_bytes_are_the_sdk_exporters_too() -> None:
    """Fields in number order, as protobuf writes them: a collector sees the very same request."""
    records = [OK, FAILED, ODD_VALUES]
    assert _by_hand(records) == _by_the_sdk(records).SerializeToString()


def test_a_span_decodes_to_the_records_values() -> None:
    (resource_spans,) = ExportTraceServiceRequest.FromString(_by_hand([FAILED])).resource_spans
    (scope_spans,) = resource_spans.scope_spans
    assert scope_spans.scope.name == "strangler_proxy.dataplane"
    (span,) = scope_spans.spans
    assert span.trace_id == b"\xff" * 16 and span.span_id == bytes(7) + b"\x01"
    assert span.parent_span_id == b"\xff" * 8
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (0, (1 << 64) - 1)
    assert span.kind == span.SPAN_KIND_SERVER and span.flags == 0x300
    assert span.status.code == span.status.STATUS_CODE_ERROR
    assert span.status.message == "upstream refused the connection"
    (event,) = span.events
    assert event.name == "exception" and event.time_unix_nano == (1 << 64) - 1
    assert {a.key: a.value.string_value for a in event.attributes} == {
        "exception.type": "ProxyError",
        "exception.message": "upstream refused the connection",
    }
    assert resource_spans.schema_url == "https://opentelemetry.io/schemas/1.21.0"


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16_383, 16_384, (1 << 63) - 1, -1, -300, -(1 << 63)])
def test_varints_are_protobufs(value: int) -> None:
    assert b"\x18" + varint(value) == AnyValue(int_value=value).SerializeToString()


def test_attribute_pairs_kept_between_spans_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_encoding, "_CACHE_LIMIT", 3)  # the cache starts over several times
    encoder = SpanEncoder(RESOURCE.attributes, SCOPE.name, SCOPE.version, RESOURCE.schema_url)
    first = _by_hand([OK, FAILED, ODD_VALUES], encoder)
    assert _by_hand([OK, FAILED, ODD_VALUES], encoder) == first
    assert first == _by_hand([OK, FAILED, ODD_VALUES])
    # True and 1 are equal in Python: one must not stand for the other
    with_int = ExportTraceServiceRequest.FromString(_by_hand([(*OK[:6], {"x": 1}, None)], encoder))
    with_bool = ExportTraceServiceRequest.FromString(_by_hand([(*OK[:6], {"x": True}, None)], encoder))
    assert with_int.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.int_value == 1
    assert with_bool.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.bool_value is True


def test_a_value_no_exporter_takes_is_an_error() -> None:
    encoder = SpanEncoder({"service.name": "x"}, SCOPE.name)
    with pytest.raises(TypeError, match="dict"):
        encoder.span((*OK[:6], {"nested": {"a": 1}}, None))
