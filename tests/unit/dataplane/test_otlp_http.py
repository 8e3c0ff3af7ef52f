"""The exporting process's OTLP/HTTP client: configured by the same OTEL_EXPORTER_OTLP_* variables as the
SDK's exporter, posting to a real HTTP server on loopback, retrying what is transient, logging failures."""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from strangler_proxy.dataplane.otlp_http import OtlpHttpSender
from tests.support.net import free_port

pytestmark = pytest.mark.unit


class _Collector:
    """Answers each POST with the next status of ``answers`` (then 200); keeps what it was sent."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = collector.answers.pop(0) if collector.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def collector() -> Iterator[_Collector]:
    running = _Collector()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_the_endpoint_headers_timeout_and_compression_come_from_the_otlp_variables() -> None:
    default = OtlpHttpSender.from_environ({})
    assert default.endpoint == "http://localhost:4318/v1/traces"
    assert (default.timeout_s, default.compression) == (10.0, "none")
    assert default.headers["content-type"] == "application/x-protobuf"
    general = OtlpHttpSender.from_environ(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,tenant=shop",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2.5",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        }
    )
    assert general.endpoint == "http://collector:4318/v1/traces"
    assert (general.headers["api-key"], general.headers["tenant"]) == ("a b", "shop")
    assert (general.timeout_s, general.compression, general.headers["content-encoding"]) == (
        2.5,
        "gzip",
        "gzip",
    )
    traces = OtlpHttpSender.from_environ(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:9999/custom",
            "OTEL_EXPORTER_OTLP_HEADERS": "tenant=shop",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "tenant=traces",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1",
        }
    )
    assert traces.endpoint == "http://traces:9999/custom"  # as given: no path added
    assert (traces.headers["tenant"], traces.timeout_s) == ("traces", 1.0)


def test_a_batch_is_posted_with_the_headers_and_compressed(
    collector: _Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = OtlpHttpSender.from_environ(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.base,
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20t",
            "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        }
    )
    assert sender.send(b"first") and sender.send(b"second")
    sender.close()
    (path, headers, body), (_path, _headers, second) = collector.received
    assert path == "/v1/traces"
    assert headers["content-type"] == "application/x-protobuf"
    assert headers["content-encoding"] == "gzip" and headers["authorization"] == "Bearer t"
    assert (gzip.decompress(body), gzip.decompress(second)) == (b"first", b"second")


def test_a_transient_answer_is_retried(collector: _Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("strangler_proxy.dataplane.otlp_http.time.sleep", lambda _s: None)
    collector.answers = [(503, {}), (429, {"Retry-After": "0"})]
    sender = OtlpHttpSender.from_environ(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector.base}/v1/traces"}
    )
    assert sender.send(b"spans")
    assert [body for _path, _headers, body in collector.received] == [b"spans"] * 3


def test_a_refused_export_is_logged_as_an_error_and_not_retried(
    collector: _Collector, caplog: pytest.LogCaptureFixture
) -> None:
    collector.answers = [(400, {})]
    sender = OtlpHttpSender.from_environ({"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base})
    with caplog.at_level(logging.ERROR):
        assert not sender.send(b"spans")
    assert len(collector.received) == 1
    assert f"span export to {collector.base}/v1/traces failed: 400 Bad Request" in caplog.text


def test_an_unreachable_collector_fails_within_the_timeout_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = OtlpHttpSender.from_environ(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "0.5",
        }
    )
    with caplog.at_level(logging.ERROR):
        assert not sender.send(b"spans")  # the first backoff (about 1 s) exceeds the timeout: no retry
    assert "failed after 1 tries: ConnectionRefusedError" in caplog.text
