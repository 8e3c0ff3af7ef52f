"""Errors as the monolith answers them: under ``/api`` the JSON body ``{"error": {"code", "message"[,
"field"]}}``, elsewhere its HTML error page, each with the same status."""

from __future__ import annotations

from flask import Flask, Response

from new_services.catalog.entrypoints.shop import html_error
from new_services.catalog.service_layer import ProductNotFound
from new_services.kit.csrf import CsrfRejected
from new_services.kit.errors import register_http_errors, register_not_found
from new_services.kit.responses import error_response, is_api

__all__ = ["InvalidParameter", "register_error_handlers"]


class InvalidParameter(Exception):
    """A query or body parameter the client sent cannot be used (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CsrfRejected)
    def _csrf_rejected(exc: CsrfRejected) -> Response:
        if is_api():
            return error_response(403, "csrf_failed", f"CSRF verification failed: {exc.reason}")
        return html_error(403, "Forbidden", exc.reason)

    @app.errorhandler(InvalidParameter)
    def _invalid_parameter(exc: InvalidParameter) -> Response:
        return error_response(400, "invalid_parameter", exc.message, field=exc.field)

    register_not_found(app, ProductNotFound, html_error)
    register_http_errors(app, "catalog", html_error)
