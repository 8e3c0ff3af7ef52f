"""What a service's Flask app does on every answer so that clients cannot tell it from the monolith's:
the monolith's security headers, Django's reason phrases, and Django's ``APPEND_SLASH`` redirects."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

from flask import Flask, Response, redirect, request

from new_services.kit.methods import ALL_METHODS

__all__ = ["SECURITY_HEADERS", "add_monolith_headers", "append_slash_redirects"]

# The monolith's SecurityMiddleware and XFrameOptionsMiddleware put these on every response.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def add_monolith_headers(app: Flask) -> None:
    """Every answer gets the security headers it does not set itself (no ``X-Frame-Options`` on one
    marked ``xframe_options_exempt``) and Django's reason phrase."""

    @app.after_request
    def _monolith_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if getattr(response, "xframe_options_exempt", False):
            del response.headers["X-Frame-Options"]
        # Werkzeug's reason phrases are upper case ("404 NOT FOUND"); Django sends "404 Not Found".
        if response.status_code in _PHRASES:
            response.status = f"{response.status_code} {_PHRASES[response.status_code]}"
        return response


def append_slash_redirects(app: Flask, rules: Iterable[str]) -> None:
    """Django's APPEND_SLASH for each of ``rules`` (e.g. ``/orders`` and ``/orders/<ord_no>``): a 301 to
    the slashed path, with the query, as the monolith sends it (empty, ``Vary: Cookie``, and no
    ``X-Frame-Options``: its CommonMiddleware answers before that middleware runs)."""

    def add_slash(**_: object) -> Response:
        query = request.query_string.decode("latin-1")
        response = redirect(f"{request.path}/" + (f"?{query}" if query else ""), 301)
        response.autocorrect_location_header = False
        response.data = b""
        response.vary.add("Cookie")
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        return response

    for rule in rules:
        app.add_url_rule(rule, f"append_slash{rule}", add_slash, methods=ALL_METHODS)
