"""Errors as the monolith answers them: under ``/api`` the JSON body ``{"error": {"code", "message"[,
"field", ...]}}``, elsewhere a plain HTML error page, each with the same status."""

from __future__ import annotations

import structlog
from flask import Flask, Response

from new_services.kit.errors import register_http_errors, register_not_found
from new_services.kit.responses import error_response
from new_services.orders.entrypoints.auth import NotAuthenticated
from new_services.orders.entrypoints.shop import html_error
from new_services.orders.service_layer import (
    CheckoutFailed,
    CheckoutInProgress,
    IdempotencyKeyReused,
    InsufficientStock,
    OrderNotFound,
    PageOutOfRange,
    ProductUnavailable,
    SessionUnavailable,
    StockUnavailable,
)

__all__ = ["ApiError", "register_error_handlers"]

# The monolith's order routes accept basic auth, so their 401 says so.
WWW_AUTHENTICATE = 'Basic realm="LegacyShop API", charset="UTF-8"'
log = structlog.get_logger("orders.errors")


class ApiError(Exception):
    """Raised by a view: becomes ``{"error": {"code", "message", **extra}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(NotAuthenticated)
    def _not_authenticated(exc: NotAuthenticated) -> Response:
        response = error_response(401, "not_authenticated", str(exc))
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        return response

    @app.errorhandler(PageOutOfRange)
    def _page_out_of_range(exc: PageOutOfRange) -> Response:
        return error_response(400, "invalid_parameter", str(exc), field="page")

    @app.errorhandler(InsufficientStock)
    def _insufficient_stock(exc: InsufficientStock) -> Response:
        return error_response(
            409,
            "insufficient_stock",
            str(exc),
            product_id=exc.product_id,
            requested=exc.requested,
            available=exc.available,
        )

    @app.errorhandler(ProductUnavailable)
    def _product_unavailable(exc: ProductUnavailable) -> Response:
        return error_response(409, "checkout_failed", str(exc))

    @app.errorhandler(IdempotencyKeyReused)
    def _key_reused(exc: IdempotencyKeyReused) -> Response:
        return error_response(422, "idempotency_key_reused", str(exc), field="Idempotency-Key")

    @app.errorhandler(CheckoutInProgress)
    def _in_progress(exc: CheckoutInProgress) -> Response:
        response = error_response(409, "checkout_in_progress", str(exc))
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(CheckoutFailed)
    def _checkout_failed(exc: CheckoutFailed) -> Response:
        return error_response(409, "checkout_failed", str(exc))

    @app.errorhandler(StockUnavailable)
    def _stock_unavailable(exc: StockUnavailable) -> Response:
        log.warning("stock unavailable", reason=str(exc))
        response = error_response(503, "stock_unavailable", "Stock cannot be reserved right now; try again.")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(SessionUnavailable)
    def _session_unavailable(exc: SessionUnavailable) -> Response:
        log.warning("session cart unavailable", reason=str(exc))
        response = error_response(
            503, "session_unavailable", "Your cart cannot be read right now; try again."
        )
        response.headers["Retry-After"] = "5"
        return response

    register_not_found(app, OrderNotFound, html_error)
    register_http_errors(app, "orders", html_error)
