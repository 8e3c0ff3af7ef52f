"""Error bodies of the contract, ``{"error": {"code", "message"[, "field"]}}``, with the right status."""

from __future__ import annotations

import json

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from new_services.catalog.domain import DomainError
from new_services.catalog.service_layer import ProductNotFound

__all__ = ["InvalidParameter", "error_response", "json_response", "register_error_handlers"]

JSON_MIMETYPE = "application/json"


class InvalidParameter(Exception):
    """A query or body parameter the client sent cannot be used (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def json_response(payload: object, status: int = 200) -> Response:
    """JSON serialised as the monolith does (Django's JsonResponse: default separators, ASCII)."""
    return Response(json.dumps(payload), status=status, mimetype=JSON_MIMETYPE)


def error_response(status: int, code: str, message: str, **extra: str) -> Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(InvalidParameter)
    def _invalid_parameter(exc: InvalidParameter) -> Response:
        return error_response(400, "invalid_parameter", exc.message, field=exc.field)

    @app.errorhandler(ProductNotFound)
    def _not_found(exc: ProductNotFound) -> Response:
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if not _wants_json():
            return exc.get_response()
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        message = {404: "The requested resource was not found.", 405: f"Method {request.method} not allowed."}
        response = error_response(status, code, message.get(status, exc.description or exc.name))
        for header in ("Allow",):
            value = exc.get_response().headers.get(header)
            if value:
                response.headers[header] = value
        return response
