"""A service's Flask app: what every one is made of (:func:`service_app`), and what it does on every
answer so that clients cannot tell it from the monolith's (:func:`answer_as_the_monolith`): the
monolith's security headers, Django's reason phrases, and Django's ``APPEND_SLASH`` redirects."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import cast

from flask import Flask, Response, current_app, redirect, request

from new_services.kit.health import health_blueprint
from new_services.kit.methods import ALL_METHODS
from new_services.kit.observability import install_observability
from new_services.kit.pages import shop_layout
from new_services.kit.settings import ServiceSettings
from new_services.kit.tracing import install_tracing, trace_app

__all__ = [
    "SECURITY_HEADERS",
    "add_monolith_headers",
    "answer_as_the_monolith",
    "append_slash_redirects",
    "service_app",
]

# The monolith's SecurityMiddleware and XFrameOptionsMiddleware put these on every response.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def service_app(import_name: str, settings: ServiceSettings, wired: object) -> Flask:
    """The app every service starts from: ``wired`` (its composition root's product, with a
    ``readiness()`` check) as ``app.extensions[settings.service]``, paths kept as sent (no merging of
    slashes, as Django), request-id JSON logs and metrics, ``/healthz`` and ``/readyz``."""
    service = settings.service
    install_tracing(service)
    app = Flask(import_name)
    app.extensions[service] = wired
    app.url_map.merge_slashes = False
    install_observability(
        app, service=service, log_level=settings.log_level, metrics_dir=settings.metrics_dir
    )
    app.register_blueprint(health_blueprint(service, lambda: current_app.extensions[service].readiness()))
    trace_app(app)
    return app


def answer_as_the_monolith(app: Flask, slash_rules: Iterable[str]) -> None:
    """Once the service's own routes and hooks are in: the shop's layout templates, Django's slash
    redirects for ``slash_rules``, and the monolith's headers on every answer (run first of the
    ``after_request`` hooks, since it is registered last)."""
    app.register_blueprint(shop_layout())
    append_slash_redirects(app, slash_rules)
    add_monolith_headers(app)


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
        # Flask's redirect() makes the app's response class; werkzeug's annotation says its base class
        response = cast(Response, redirect(f"{request.path}/" + (f"?{query}" if query else ""), 301))
        response.autocorrect_location_header = False
        response.data = b""
        response.vary.add("Cookie")
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        return response

    for rule in rules:
        app.add_url_rule(rule, f"append_slash{rule}", add_slash, methods=ALL_METHODS)
