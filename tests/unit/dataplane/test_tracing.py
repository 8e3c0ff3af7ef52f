"""The data plane's request spans: one sampling decision per request, trusted peers only, the
traceparent sent upstream carrying the decision, and the span's attributes."""

from __future__ import annotations

import ipaddress
import secrets

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import StatusCode

from strangler_proxy.dataplane.headers import TrustedPeers, prepare_request_headers
from strangler_proxy.dataplane.routing import Decision, Target
from strangler_proxy.dataplane.tracing import RequestTracer
from strangler_proxy.telemetry import TracingConfig

pytestmark = pytest.mark.unit

TRUSTED = TrustedPeers((ipaddress.ip_network("10.0.0.0/8"),))
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
LOW_TRACE = "0af7651916cd43dd0000000000000001"  # lower 64 bits tiny: inside any ratio
HIGH_TRACE = "0af7651916cd43ddffffffffffffff00"  # lower 64 bits huge: outside any ratio below 1
DECISION = Decision(route="orders", rule=None, target=Target.NEW, upstream="orders")


def _tracer(environ: dict[str, str]) -> tuple[RequestTracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = TracingConfig.from_environ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", **environ})
    return RequestTracer(provider.get_tracer("test"), config, TRUSTED), exporter


def _start(tracer: RequestTracer, raw: list[tuple[bytes, bytes]], client: str):  # type: ignore[no-untyped-def]
    request = prepare_request_headers(
        raw, client_host=client, scheme="http", trusted=TRUSTED, default_host="up:1"
    )
    span = tracer.start(request, raw, client, "GET", "/api/orders", DECISION, 42)
    (traceparent,) = [v for n, v in request.headers if n == "traceparent"]
    return span, traceparent


def test_config_is_off_by_default_and_on_with_an_endpoint() -> None:
    assert not TracingConfig.from_environ({}).enabled
    assert TracingConfig.from_environ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}).enabled
    assert not TracingConfig.from_environ(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    ).enabled
    assert not TracingConfig.from_environ(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}
    ).enabled
    ratio = TracingConfig.from_environ(
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        }
    )
    assert (ratio.enabled, ratio.ratio, ratio.parent_based) == (True, 0.1, True)


def test_a_sampled_request_gets_one_span_that_is_the_upstreams_parent() -> None:
    tracer, exporter = _tracer({})
    given = f"00-{CLIENT_TRACE}-b7ad6b7169203331-01"
    span, sent = _start(tracer, [(b"traceparent", given.encode())], "10.1.1.1")
    assert span is not None
    RequestTracer.finish(span, "new", "orders", 201, None)
    (finished,) = exporter.get_finished_spans()
    context = finished.get_span_context()
    assert f"{context.trace_id:032x}" == CLIENT_TRACE
    assert finished.parent is not None and finished.parent.span_id == 0xB7AD6B7169203331
    assert sent == f"00-{CLIENT_TRACE}-{context.span_id:016x}-01"
    attributes = dict(finished.attributes or {})
    assert attributes["strangler.route"] == "orders"
    assert attributes["strangler.decision"] == "new"
    assert attributes["strangler.upstream"] == "orders"
    assert attributes["strangler.table_version"] == 42
    assert attributes["strangler.outcome"] == "ok"
    assert attributes["http.response.status_code"] == 201


def test_an_untrusted_clients_sampled_flag_does_not_force_tracing() -> None:
    tracer, exporter = _tracer(
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    )
    given = f"00-{HIGH_TRACE}-b7ad6b7169203331-01"
    span, sent = _start(tracer, [(b"traceparent", given.encode())], "203.0.113.9")
    assert span is None and exporter.get_finished_spans() == ()
    # the trace id is kept, the upstream is told the request is not sampled
    assert sent == f"00-{HIGH_TRACE}-b7ad6b7169203331-00"
    # the same header from a trusted proxy is honoured
    span, _sent = _start(tracer, [(b"traceparent", given.encode())], "10.9.9.9")
    assert span is not None


def test_a_trusted_peers_unsampled_flag_is_honoured_and_the_ratio_decides_the_rest() -> None:
    tracer, _exporter = _tracer(
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
    )
    unsampled = f"00-{LOW_TRACE}-b7ad6b7169203331-00".encode()
    assert _start(tracer, [(b"traceparent", unsampled)], "10.9.9.9")[0] is None
    assert _start(tracer, [(b"traceparent", unsampled)], "203.0.113.9")[0] is not None  # ratio, low id
    kept = sum(_start(tracer, [], "203.0.113.9")[0] is not None for _ in range(2000))
    assert 100 < kept < 320  # about 10 % of fresh traces


@pytest.mark.parametrize("ratio", ["0.0001", "0.1", "0.5", "0.9"])
def test_the_ratio_decides_as_the_sdks_sampler_does(ratio: str) -> None:
    """The same trace ids sampled as by the SDK's TraceIdRatioBased (the services' sampler), so every
    process agrees on a trace the data plane started."""
    from opentelemetry.sdk.trace.sampling import Decision as SdkDecision
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    tracer, _exporter = _tracer({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": ratio})
    sdk = TraceIdRatioBased(float(ratio))
    bound = sdk.bound
    edges = [f"{bound - 1:016x}", f"{bound + 1:016x}", "0" * 15 + "1", "f" * 16]
    lower_halves = edges + [secrets.token_hex(8) for _ in range(500)]
    for lower in lower_halves:
        trace = f"0af7651916cd43dd{lower}"
        span, _sent = _start(
            tracer, [(b"traceparent", f"00-{trace}-b7ad6b7169203331-01".encode())], "203.0.113.9"
        )
        expected = sdk.should_sample(None, int(trace, 16), "GET").decision is SdkDecision.RECORD_AND_SAMPLE
        assert (span is not None) == expected, trace


def test_a_failed_request_records_an_exception_event_without_headers() -> None:
    tracer, exporter = _tracer({})
    span, _ = _start(tracer, [(b"cookie", b"sessionid=secret")], "203.0.113.9")
    assert span is not None
    RequestTracer.finish(span, "legacy", "legacy", 502, "cannot connect to upstream 'orders': refused")
    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert dict(finished.attributes or {})["strangler.decision"] == "fallback"
    (event,) = finished.events
    assert event.name == "exception"
    assert "secret" not in repr(finished.to_json())


def test_a_mirror_is_traced_only_when_its_primary_request_was() -> None:
    from strangler_proxy.dataplane.shadow.tracing import MirrorTracer

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_ON)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    mirrors = MirrorTracer(provider.get_tracer("test"))
    assert mirrors.start("r", "GET", [("traceparent", f"00-{CLIENT_TRACE}-b7ad6b7169203331-00")]) is None
    assert mirrors.start("r", "GET", [("accept", "*/*")]) is None
    span = mirrors.start("r", "GET", [("traceparent", f"00-{CLIENT_TRACE}-b7ad6b7169203331-01")])
    assert span is not None
    span.end()
    (finished,) = exporter.get_finished_spans()
    assert finished.parent is not None and finished.parent.span_id == 0xB7AD6B7169203331
    (link,) = finished.links
    assert (f"{link.context.trace_id:032x}", link.context.span_id) == (CLIENT_TRACE, 0xB7AD6B7169203331)
    assert MirrorTracer.traceparent(span).endswith(f"{finished.get_span_context().span_id:016x}-01")


def test_the_decision_label_names_how_the_side_was_chosen() -> None:
    from strangler_proxy.dataplane.tracing import decision_label
    from strangler_proxy.routes import Rule, RuleAction, RuleMatch

    canary = Rule(
        name="c", match=RuleMatch(path="/c"), action=RuleAction(mode="canary", upstream="n", weight=5)
    )
    shadow = Rule(name="s", match=RuleMatch(path="/s"), action=RuleAction(mode="shadow", upstream="n"))
    assert decision_label(Decision(route="c", rule=canary, target=Target.NEW, upstream="n")) == "canary-new"
    assert decision_label(Decision(route="c", rule=canary, target=Target.LEGACY, upstream="legacy")) == (
        "canary-legacy"
    )
    assert decision_label(Decision("s", shadow, Target.LEGACY, "legacy", shadow_upstream="n")) == "shadow"
    assert decision_label(Decision("s", shadow, Target.LEGACY, "legacy")) == "legacy"  # not sampled
    overridden = Decision("c", canary, Target.NEW, "n", overridden=True)
    assert decision_label(overridden) == "override-new"
    assert decision_label(Decision("-", None, Target.LEGACY, "legacy")) == "legacy"


def test_an_unhandled_error_is_recorded_by_its_type_only() -> None:
    tracer, exporter = _tracer({})
    span, _ = _start(tracer, [(b"x-secret", b"hunter2")], "203.0.113.9")
    assert span is not None
    try:
        raise KeyError("hunter2")
    except KeyError:
        RequestTracer.finish(span, "new", "orders", 0, None)  # as the forwarder's finally does
    (finished,) = exporter.get_finished_spans()
    (event,) = finished.events
    assert dict(event.attributes or {})["exception.type"] == "KeyError"
    assert finished.status.status_code is StatusCode.ERROR and "hunter2" not in finished.to_json()
