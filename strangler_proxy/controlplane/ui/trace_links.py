"""Links from the admin UI to the configured trace UI, built from URL templates.

    STRANGLER_TRACE_UI_REQUEST_URL       one request's trace: ``{request_id}`` (the data plane's span has it
                                         as ``strangler.request_id``) and/or ``{trace_id}``
    STRANGLER_TRACE_UI_ROUTE_ERRORS_URL  a route's failing requests: ``{route}``

For Jaeger, for instance::

    http://127.0.0.1:16686/search?service=strangler-dataplane&tags={"strangler.request_id":"{request_id}"}
    http://127.0.0.1:16686/search?service=strangler-dataplane&tags={"strangler.route":"{route}","error":"true"}

Each value is percent-encoded before it replaces its placeholder (braces elsewhere in the template, as
in Jaeger's JSON tags, are left alone and encoded too), so nothing a client sent can change the link's
target. Without a template there are no links.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["TraceLinks"]

_SAFE = "/:?=&%"


def _fill(template: str, **values: str) -> str:
    url = quote(template, safe=_SAFE + "{}")
    for name, value in values.items():
        url = url.replace("{" + name + "}", quote(value, safe=""))
    return quote(url, safe=_SAFE)


@dataclass(frozen=True)
class TraceLinks:
    request_template: str | None = None
    route_errors_template: str | None = None

    def for_request(self, request_id: str | None, trace_id: str = "") -> str | None:
        """The trace of one request (a shadow mismatch's), or None without a template or without a
        value for each placeholder the template has (a link with an empty id would find nothing)."""
        template = self.request_template
        if not template:
            return None
        if ("{trace_id}" in template and not trace_id) or ("{request_id}" in template and not request_id):
            return None
        if not (request_id or trace_id):
            return None
        return _fill(template, request_id=request_id or "", trace_id=trace_id)

    def for_route_errors(self, route: str) -> str | None:
        """The traces of a route's failing requests, or None without a template."""
        if not self.route_errors_template:
            return None
        return _fill(self.route_errors_template, route=route)
