"""Exception tracking through Sentry, optional: on when ``SENTRY_DSN`` is set (install the ``sentry``
extra), beside the OpenTelemetry exception events every traced process records anyway.

Events carry the trace id (tag ``trace_id``) and the route (the transaction's name), never a request's
header values or cookies: they are removed before an event leaves the process, and Sentry's own
personal-data defaults stay off. Nothing happens at import; a composition root calls
:func:`init_error_tracking` once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strangler_proxy.telemetry import current_trace_id

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


def init_error_tracking(service: str, environ: Mapping[str, str]) -> bool:
    """Start Sentry's SDK for ``service`` when ``SENTRY_DSN`` is set; True when it was started.

    Raises RuntimeError when the DSN is set but the SDK is missing (``pip install
    'strangler-fig[sentry]'``): silence there would lose every error report."""
    dsn = environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    try:
        import sentry_sdk
    except ImportError as exc:
        raise RuntimeError(
            "SENTRY_DSN is set but sentry-sdk is not installed: install the extra "
            "(pip install 'strangler-fig[sentry]') or unset SENTRY_DSN"
        ) from exc
    if sentry_sdk.is_initialized():  # one start per process, whichever root asks first
        return True
    sentry_sdk.init(
        dsn=dsn,
        server_name=service,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,  # traces are OpenTelemetry's
        before_send=scrub_event,  # type: ignore[arg-type]
    )
    sentry_sdk.set_tag("service", service)
    return True
