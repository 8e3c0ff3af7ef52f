"""The shadow process's spans: one per mirror, in the trace of the primary request and linked to its
span, with the comparison's parity (``match``, ``mismatch``, ``error``) as an attribute.

A mirror is traced only when its primary request was (the ``traceparent`` the worker sent upstream
carries the data plane's decision, ``-01``); the mirror's own span then goes to the new upstream in the
mirror's ``traceparent``, so the service's spans of the replay sit under the mirror, not under the
primary request. With tracing off the shadow process holds no tracer and nothing here runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

__all__ = ["MirrorTracer", "trace_id_of"]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")
_TRACE_ID = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


class MirrorTracer:
    """Starts the span of a mirror whose primary request was sampled."""

    __slots__ = ("_tracer",)

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start(self, route: str, method: str, headers: Sequence[tuple[str, str]]) -> Any | None:
        """The mirror's span (not yet current), or None when the primary request was not sampled."""
        primary = _primary(headers)
        if primary is None:
            return None
        return self._tracer.start_span(
            f"shadow {route}",
            context=trace.set_span_in_context(NonRecordingSpan(primary)),
            kind=SpanKind.CLIENT,
            links=[Link(primary, {"strangler.link": "primary request"})],
            attributes={"strangler.route": route, "http.request.method": method, "strangler.shadow": True},
        )

    @staticmethod
    def traceparent(span: Any) -> str:
        context = span.get_span_context()
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def _primary(headers: Sequence[tuple[str, str]]) -> SpanContext | None:
    for name, value in headers:
        if name.lower() == "traceparent":
            match = _TRACEPARENT.match(value)
            if match is None:
                return None
            return SpanContext(
                int(match.group(1), 16),
                int(match.group(2), 16),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
    return None


def trace_id_of(headers: Sequence[tuple[str, str]]) -> str | None:
    """The primary request's trace id (the traceparent the worker sent upstream, sampled or not: its
    access log line has the same id), None when it sent none that is valid."""
    for name, value in headers:
        if name.lower() == "traceparent":
            match = _TRACE_ID.match(value)
            return match.group(1) if match is not None and match.group(1) != "0" * 32 else None
    return None
