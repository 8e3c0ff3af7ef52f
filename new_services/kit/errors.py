"""Errors as the monolith answers them: under ``/api`` its JSON error body, elsewhere its HTML error page
(which each service renders with its own page context), each with the same status."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from new_services.kit.responses import error_response, is_api

__all__ = ["HtmlError", "register_http_errors", "register_not_found"]

HtmlError = Callable[[int, str, str], Response]
"""``html_error(status, title, message)``: a service's rendering of the monolith's error page."""


def register_not_found(app: Flask, error: type[Exception], html_error: HtmlError) -> None:
    """``error`` (a thing the request names that does not exist) answers 404: its message under
    ``/api``, the monolith's "Page not found" page elsewhere."""

    def _not_found(exc: Exception) -> Response:
        if is_api():
            return error_response(404, "not_found", str(exc))
        return html_error(404, "Page not found", request.path)

    app.register_error_handler(error, _not_found)


def register_http_errors(app: Flask, service: str, html_error: HtmlError) -> None:
    """404 and 400 from routing or Werkzeug, and any exception nothing else handled (500, logged)."""
    log = structlog.get_logger(f"{service}.errors")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | BaseResponse:
        status = exc.code or 500
        if status == 404:
            if is_api():
                return error_response(404, "not_found", f"No API endpoint at {request.path}.")
            return html_error(404, "Page not found", request.path)
        if status == 400:
            if is_api():
                return error_response(400, "bad_request", "Bad request.")
            return html_error(400, "Bad request", "")
        return exc.get_response()

    @app.errorhandler(Exception)
    def _server_error(exc: Exception) -> Response:
        log.error("unhandled error", path=request.path, exc_info=exc)
        if is_api():
            return error_response(500, "server_error", "Internal server error.")
        return html_error(500, "Server error", "")
