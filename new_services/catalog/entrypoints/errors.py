"""Errors as the monolith answers them: under ``/api`` the JSON body ``{"error": {"code", "message"[,
"field"]}}``, elsewhere its HTML error page, each with the same status."""

from __future__ import annotations

import structlog
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from new_services.catalog.entrypoints.shop import html_error
from new_services.catalog.service_layer import ProductNotFound
from new_services.kit.csrf import CsrfRejected
from new_services.kit.responses import error_response, is_api

__all__ = ["InvalidParameter", "register_error_handlers"]

log = structlog.get_logger("catalog.errors")


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

    @app.errorhandler(ProductNotFound)
    def _product_not_found(exc: ProductNotFound) -> Response:
        if is_api():
            return error_response(404, "not_found", str(exc))
        return html_error(404, "Page not found", request.path)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if status == 404:
            if is_api():
                return error_response(404, "not_found", f"No API endpoint at {request.path}.")
            return html_error(404, "Page not found", request.path)
        if status == 400:
            return (
                error_response(400, "bad_request", "Bad request.")
                if is_api()
                else html_error(400, "Bad request", "")
            )
        return exc.get_response()

    @app.errorhandler(Exception)
    def _server_error(exc: Exception) -> Response:
        log.error("unhandled error", path=request.path, exc_info=exc)
        if is_api():
            return error_response(500, "server_error", "Internal server error.")
        return html_error(500, "Server error", "")
