"""A WSGI app that breaks the checkout contract the way a service could: it wants the cart in the body.

``POST /api/orders`` with the monolith's empty JSON body is answered ``400 invalid_body``, as an orders
service that takes the cart from the request body (and not from the customer's session) would answer.
``/healthz`` answers 200 for the readiness check. Served by gunicorn in the load tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    body = json.dumps(
        {"error": {"code": "invalid_body", "message": '"items" is required: send the cart in the body.'}}
    ).encode()
    start_response(
        "400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
