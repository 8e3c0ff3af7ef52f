"""Exception tracking of the monolith through Sentry's SDK, from the toolkit's Django app: on when
``SENTRY_DSN`` is set (Sentry's SDK is an optional dependency: ``pip install sentry-sdk``, or the
toolkit's ``sentry`` extra), started when the app is ready, so a monolith needs no code of its own.

An unhandled error of a request is reported with the route (the event's transaction: the URL pattern,
Sentry's Django default), the trace id (tag ``trace_id``, when OpenTelemetry traces the monolith) and
never a request's header values, cookies, environment or body: they are removed before an event leaves
the process, and Sentry's personal-data defaults stay off. The toolkit's other processes report the same
way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from strangler_django.tracing import current_trace_id

__all__ = ["init_error_tracking", "scrub_event"]

_REQUEST_KEYS_DROPPED = ("headers", "cookies", "env", "data")


def scrub_event(event: dict[str, Any], _hint: object = None) -> dict[str, Any]:
    """``before_send``: the request's headers, cookies, environment and body out; the trace id in."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in _REQUEST_KEYS_DROPPED:
            request.pop(key, None)
    trace_id = current_trace_id()
    if trace_id:
        event.setdefault("tags", {})["trace_id"] = trace_id
    return event


def init_error_tracking(environ: Mapping[str, str] | None = None) -> bool:
    """Start Sentry's SDK with its Django integration when ``SENTRY_DSN`` is set; True when it was.

    Raises RuntimeError when the DSN is set but the SDK is missing: silence there would lose every
    error report."""
    environ = os.environ if environ is None else environ
    dsn = environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError as exc:
        raise RuntimeError(
            "SENTRY_DSN is set but sentry-sdk is not installed: install it (pip install sentry-sdk, or "
            "the toolkit's extra: pip install 'strangler-fig[sentry]') or unset SENTRY_DSN"
        ) from exc
    if sentry_sdk.is_initialized():  # one start per process
        return True
    service = environ.get("OTEL_SERVICE_NAME") or "legacy-monolith"
    sentry_sdk.init(
        dsn=dsn,
        server_name=service,
        integrations=[DjangoIntegration(transaction_style="url")],
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,  # traces are OpenTelemetry's
        before_send=scrub_event,  # type: ignore[arg-type]
    )
    sentry_sdk.set_tag("service", service)
    return True
