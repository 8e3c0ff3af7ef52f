"""POSTs encoded OTLP trace requests to the collector, configured like the SDK's OTLP/HTTP span exporter.

    OtlpHttpSender.from_environ(os.environ).send(body)   True once the collector took it

The variables it reads, with the SDK exporter's defaults and precedence (a ``_TRACES_`` variable wins
over the general one)::

    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT      the full URL, used as it is
    OTEL_EXPORTER_OTLP_ENDPOINT             a base URL: /v1/traces is added (default http://localhost:4318)
    OTEL_EXPORTER_OTLP_[TRACES_]HEADERS     key=value,... (URL-encoded values), added to every export
    OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT     seconds for one export, retries included (default 10)
    OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION none, gzip or deflate
    OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, _CLIENT_CERTIFICATE, _CLIENT_KEY   TLS for https endpoints

A transient failure (a connection error, 429, 502, 503, 504) is retried with exponential backoff
(``Retry-After`` honoured) while the timeout allows; every failure that ends an export is logged as an
error, with the status and reason.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import random
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from opentelemetry.util.re import parse_env_headers

__all__ = ["OtlpHttpSender"]

logger = logging.getLogger(__name__)

_DEFAULT_BASE = "http://localhost:4318"
_DEFAULT_TIMEOUT_S = 10.0
_RETRYABLE = frozenset({429, 502, 503, 504})
_MAX_TRIES = 6
_USER_AGENT = "strangler-dataplane-otlp"


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``."""
    traces = environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}")
    return traces or environ.get(f"OTEL_EXPORTER_OTLP_{name}") or None


def _timeout(environ: Mapping[str, str]) -> float:
    raw = _setting(environ, "TIMEOUT")
    try:
        return float(raw) if raw is not None else _DEFAULT_TIMEOUT_S
    except ValueError:
        logger.warning("invalid OTLP timeout %r: %s s used", raw, _DEFAULT_TIMEOUT_S)
        return _DEFAULT_TIMEOUT_S


def _compression(environ: Mapping[str, str]) -> str:
    value = (_setting(environ, "COMPRESSION") or "none").strip().lower()
    if value not in ("none", "gzip", "deflate"):
        logger.warning("unsupported OTLP compression %r: none used", value)
        return "none"
    return value


@dataclass(slots=True)
class OtlpHttpSender:
    """One keep-alive connection to the collector, used by one thread at a time."""

    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = _DEFAULT_TIMEOUT_S
    compression: str = "none"
    tls: ssl.SSLContext | None = None
    _connection: http.client.HTTPConnection | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> OtlpHttpSender:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
            (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_BASE).removesuffix("/") + "/v1/traces"
        )
        headers = {"content-type": "application/x-protobuf", "user-agent": _USER_AGENT}
        headers.update(parse_env_headers(_setting(environ, "HEADERS") or "", liberal=True))
        compression = _compression(environ)
        if compression != "none" and "content-encoding" not in headers:
            headers["content-encoding"] = compression
        tls = None
        if urlsplit(endpoint).scheme == "https":
            tls = ssl.create_default_context(cafile=_setting(environ, "CERTIFICATE"))
            certificate = _setting(environ, "CLIENT_CERTIFICATE")
            if certificate:
                tls.load_cert_chain(certificate, _setting(environ, "CLIENT_KEY"))
        return cls(endpoint, headers, _timeout(environ), compression, tls)

    def _compress(self, body: bytes) -> bytes:
        if self.compression == "gzip":
            return gzip.compress(body)
        if self.compression == "deflate":
            return zlib.compress(body)
        return body

    def _post(self, body: bytes, timeout: float) -> tuple[int, str, str | None]:
        """(status, reason, Retry-After) of one POST; a connection error raises OSError."""
        url = urlsplit(self.endpoint)
        connection = self._connection
        if connection is None:
            host, port = url.hostname or "localhost", url.port
            if url.scheme == "https":
                connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=self.tls)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=timeout)
            self._connection = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            connection.request("POST", path, body=body, headers=self.headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise OSError(f"{type(error).__name__}: {error}") from error
        if response.will_close:
            self.close()
        return response.status, response.reason, response.getheader("Retry-After")

    def send(self, body: bytes) -> bool:
        """Export one request; True when the collector accepted it (2xx or 3xx)."""
        data = self._compress(body)
        deadline = time.monotonic() + self.timeout_s
        for attempt in range(_MAX_TRIES):
            backoff = 2**attempt * random.uniform(0.8, 1.2)
            try:
                status, reason, retry_after = self._post(data, max(deadline - time.monotonic(), 0.001))
            except OSError as error:
                status, reason, retry_after = 0, str(error), None
            if 200 <= status < 400:
                return True
            if status and status not in _RETRYABLE:
                logger.error("span export to %s failed: %s %s", self.endpoint, status, reason)
                return False
            if retry_after is not None:
                with contextlib.suppress(ValueError):
                    backoff = max(float(retry_after), 0.0)
            why = status or reason
            if attempt + 1 == _MAX_TRIES or backoff > deadline - time.monotonic():
                logger.error("span export to %s failed after %d tries: %s", self.endpoint, attempt + 1, why)
                return False
            logger.warning("span export to %s: %s, retried in %.1f s", self.endpoint, why, backoff)
            time.sleep(backoff)
        return False

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
