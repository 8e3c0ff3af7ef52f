"""The data plane's span records written straight as OTLP protobuf (``ExportTraceServiceRequest``).

The SDK's OTLP exporter builds a protobuf object per span, attribute and value before serializing
them (about 40 us a data-plane span); the exporting process of a worker instead writes the bytes of
its fixed-shape records itself (a few us a span). The wire format used is small::

    varint            7 bits a byte, low groups first, the high bit set on all bytes but the last
    tag               varint of (field number << 3 | wire type): 0 varint, 1 fixed64, 2 bytes, 5 fixed32
    length-delimited  tag, varint length, then the bytes (strings, bytes, embedded messages)

and the messages written are those of ``opentelemetry/proto/trace/v1/trace.proto`` (1.x), in field
order, exactly as the SDK exporter fills them for a span made by
:func:`strangler_proxy.dataplane.span_records.span_from_record` (a test decodes both with the official
classes and compares them field by field)::

    ExportTraceServiceRequest  1 resource_spans
    ResourceSpans              1 resource, 2 scope_spans, 3 schema_url
    Resource                   1 attributes (KeyValue)
    ScopeSpans                 1 scope, 2 spans, 3 schema_url
    InstrumentationScope       1 name, 2 version
    Span                       1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind,
                               7 start_time_unix_nano, 8 end_time_unix_nano, 9 attributes, 11 events,
                               15 status, 16 flags (fixed32)
    Event                      1 time_unix_nano, 2 name, 3 attributes
    Status                     2 message, 3 code
    KeyValue                   1 key, 2 value (AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from struct import Struct
from typing import Any

from strangler_proxy.dataplane.span_records import SpanRecord

__all__ = ["SpanEncoder", "encode_attributes", "varint"]

_FIXED64 = Struct("<Q").pack
_DOUBLE = Struct("<d").pack
_SPAN_KIND_SERVER = 2
_STATUS_ERROR = 2
_FLAGS_REMOTE_PARENT = 0x100 | 0x200  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK | ..._IS_REMOTE_MASK
_CACHE_LIMIT = 4096


def varint(value: int) -> bytes:
    """An unsigned varint; a negative int64 as its 64-bit two's complement (ten bytes), as protobuf does."""
    if 0 <= value < 0x80:
        return bytes((value,))
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _any_value(value: Any) -> bytes:
    """The AnyValue message of an attribute value (the types the SDK accepts)."""
    if isinstance(value, str):
        return _field(1, value.encode())
    if isinstance(value, bool):
        return b"\x10" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return b"\x18" + varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE(value)
    if isinstance(value, bytes):
        return _field(7, value)
    if isinstance(value, Sequence):
        return _field(5, b"".join(_field(1, _any_value(item)) for item in value))
    raise TypeError(f"an attribute value of type {type(value).__name__} cannot be exported")


def _key_value(key: str, value: Any) -> bytes:
    return _field(1, key.encode()) + _field(2, _any_value(value))


def encode_attributes(number: int, attributes: Mapping[str, Any]) -> bytes:
    """Each attribute as a KeyValue in field ``number`` of the enclosing message."""
    return b"".join(_field(number, _key_value(key, value)) for key, value in attributes.items())


class SpanEncoder:
    """Writes the records of one process (one resource, one instrumentation scope) as OTLP requests.

    A span's attributes are mostly the same few values (method, route, decision, upstream, status):
    each (key, value) pair of a str or int value is encoded once and kept (up to a few thousand, then
    the cache starts over)."""

    __slots__ = ("_pairs", "_resource", "_resource_schema", "_scope")

    def __init__(
        self,
        resource_attributes: Mapping[str, Any],
        scope_name: str,
        scope_version: str | None = None,
        resource_schema_url: str = "",
    ) -> None:
        self._resource = _field(1, encode_attributes(1, resource_attributes))
        self._resource_schema = _field(3, resource_schema_url.encode()) if resource_schema_url else b""
        scope = _field(1, scope_name.encode()) if scope_name else b""
        if scope_version:
            scope += _field(2, scope_version.encode())
        self._scope = _field(1, scope)
        self._pairs: dict[tuple[str, Any], bytes] = {}

    def span(self, record: SpanRecord) -> bytes:
        """One record as a ``spans`` field (2) of ScopeSpans."""
        name, trace_id, span_id, parent_id, start, end, attributes, error = record
        trace = trace_id.to_bytes(16, "big")
        name_bytes = name.encode()
        parts = [
            b"\x0a\x10",
            trace,
            b"\x12\x08",
            span_id.to_bytes(8, "big"),
            b"\x22\x08",
            parent_id.to_bytes(8, "big"),
        ]
        if name_bytes:  # proto3 leaves out a field at its default value ("", 0), as the SDK does
            parts += (b"\x2a", varint(len(name_bytes)), name_bytes)
        parts.append(b"\x30\x02")  # kind SERVER
        if start:
            parts += (b"\x39", _FIXED64(start))
        if end:
            parts += (b"\x41", _FIXED64(end))
        pairs = self._pairs
        for item in attributes.items():
            encoded = pairs.get(item) if type(item[1]) in (str, int) else None
            if encoded is None:
                encoded = _field(9, _key_value(*item))
                if type(item[1]) in (str, int):
                    if len(pairs) >= _CACHE_LIMIT:
                        pairs.clear()
                    pairs[item] = encoded
            parts.append(encoded)
        if error is None:
            parts.append(b"\x7a\x00")  # an empty Status: UNSET
        else:
            kind, detail = error
            event = (
                (b"\x09" + _FIXED64(end) if end else b"")
                + b"\x12\x09exception"
                + encode_attributes(3, {"exception.type": kind, "exception.message": detail})
            )
            parts.append(_field(11, event))
            message = _field(2, detail.encode()) if detail else b""
            parts.append(_field(15, message + b"\x18" + varint(_STATUS_ERROR)))
        parts.append(b"\x85\x01" + _FLAGS_REMOTE_PARENT.to_bytes(4, "little"))
        return _field(2, b"".join(parts))

    def request(self, spans: Iterable[bytes]) -> bytes:
        """An ExportTraceServiceRequest of spans made by :meth:`span`."""
        scope_spans = _field(2, self._scope + b"".join(spans))
        return _field(1, self._resource + scope_spans + self._resource_schema)
