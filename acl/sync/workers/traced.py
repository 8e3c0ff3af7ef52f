"""Forward sync in the trace of the monolith transaction that wrote each event.

The monolith's outbox row keeps the W3C context of the request that wrote it (``strangler_django``'s
``record_event``), the relay takes it out of the payload (:func:`acl.sync.workers.relay.row_to_event`), and:

    traced_publish(publish)              the relay sends each run of one trace's events inside a
                                         PRODUCER span "sync relay" of that trace, and the events carry
                                         the relay span's context in the transport's message
    apply_in_trace(apply, events)        a consumer applies each run inside a CONSUMER span "sync apply",
                                         child of the relay's span

Untraced events (tracing off, or written outside a traced request) pass as before: one publish, one
apply, no span, no log line. Each traced run is logged once by the relay and once by the consumer,
inside its span, so the JSON log line carries the trace id (``grep TRACE_ID`` finds both).
Everything goes through the OpenTelemetry API (:mod:`acl.tracing`): a process without an SDK provider
passes the context on unchanged and records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import TypeVar

from opentelemetry.trace import SpanKind

from acl.sync.core.events import SyncEvent, trace_runs
from acl.tracing import current_trace_context, event_group_span

__all__ = ["apply_in_trace", "traced_publish"]

T = TypeVar("T")

log = logging.getLogger(__name__)


def traced_publish(publish: Callable[[Sequence[SyncEvent]], None]) -> Callable[[Sequence[SyncEvent]], None]:
    """``publish`` (a transport's) with the relay's spans; still one call per batch."""

    def publish_traced(events: Sequence[SyncEvent]) -> None:
        if not any(event.trace for event in events):
            publish(events)
            return
        with ExitStack() as spans:
            sent: list[SyncEvent] = []
            for run in trace_runs(events):
                context = run[0].trace
                if context:
                    spans.enter_context(
                        event_group_span(
                            "sync relay", context, [e.event_id for e in run], [e.type for e in run]
                        )
                    )
                    context = current_trace_context() or context
                    log.info("relaying %d event(s) of a traced change: %s", len(run), _types(run))
                sent += [replace(event, trace=context) for event in run] if context else run
            publish(sent)

    return publish_traced


def apply_in_trace(apply: Callable[[Sequence[SyncEvent]], list[T]], events: Sequence[SyncEvent]) -> list[T]:
    """``apply(events)``, one call per run of events of one trace, each in the CONSUMER span of its
    trace (in order: a run of an aggregate's events still comes after the run before it)."""
    if not any(event.trace for event in events):
        return apply(events)
    results: list[T] = []
    for run in trace_runs(events):
        with event_group_span(
            "sync apply",
            run[0].trace,
            [e.event_id for e in run],
            [e.type for e in run],
            kind=SpanKind.CONSUMER,
        ):
            results += apply(run)
            log.info("applied %d event(s) of a traced change: %s", len(run), _types(run))
    return results


def _types(events: Sequence[SyncEvent]) -> str:
    return ", ".join(sorted({event.type for event in events}))
