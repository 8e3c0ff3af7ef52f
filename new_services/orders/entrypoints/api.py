"""``/api/orders``: the customer's order history (read) and checkout (write), the monolith's contract.

As on the monolith, ``POST /api/orders`` checks out the customer's session cart (the body is not read)
and empties it: the cart is the monolith's session data, read and emptied through the ACL's
session-state bridge (``SessionCartPort``); when the customer changed the cart while the checkout ran,
only the lines ordered are taken out of it (what they added stays; the monolith, which saves the whole
session at the end of its checkout, loses such a line). Statuses, error bodies, the ``ORDER`` shape and
``Location`` are the monolith's; a checkout needs the ``csrftoken`` cookie's value in ``X-CSRFToken``
(403 ``csrf_failed``), and one authenticated by HTTP basic auth is refused (400 ``empty_cart``: no
session, no cart), as there. Additions: ``Idempotency-Key`` (same key + same cart -> same answer, no
second order, also once the cart has been emptied; other cart -> 422), ``X-Strangler-Shadow: 1``
(processed, answered, and rolled back: no reservation, no order, nothing published, the cart kept).
Extension, off by default: with ``ORDERS_CART_IN_BODY=true`` a body ``{"items": [{"product_id",
"quantity"}, ...]}`` (the shape of ``POST /api/cart``) is checked out instead of the session cart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from flask import Blueprint, Response, request

from acl.identity_verifier import CustomerIdentity
from new_services.kit.csrf import CsrfRejected, check_csrf
from new_services.kit.methods import ALL_METHODS, api_methods
from new_services.kit.responses import json_response
from new_services.orders.bootstrap import Orders
from new_services.orders.domain import MAX_LINE_QUANTITY, CheckoutCart, EmptyCart
from new_services.orders.domain.cart import MAX_PRODUCT_ID
from new_services.orders.domain.order import Order
from new_services.orders.entrypoints.auth import NotAuthenticated, current_customer
from new_services.orders.entrypoints.dependencies import orders
from new_services.orders.entrypoints.errors import ApiError
from new_services.orders.entrypoints.representation import order_to_dict, page_to_dict
from new_services.orders.service_layer import (
    PlaceOrder,
    SessionCart,
    SessionUnavailable,
    get_order,
    list_orders,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "IDEMPOTENCY_KEY_HEADER",
    "MAX_PAGE_SIZE",
    "SHADOW_HEADER",
    "blueprint",
]

blueprint = Blueprint("orders_api", __name__)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
SHADOW_HEADER = "X-Strangler-Shadow"
_MAX_KEY_LENGTH = 255
NEEDS_SESSION = "Checkout needs the session cart; log in with a session."
log = structlog.get_logger("orders.api")


def _positive_int(params: Mapping[str, str], field: str, default: int, maximum: int | None = None) -> int:
    raw = params.get(field, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(
            400, "invalid_parameter", f"{field} must be a positive integer, got {raw!r}.", field=field
        )
    value = int(raw)
    if value < 1:
        raise ApiError(400, "invalid_parameter", f"{field} must be at least 1, got {value}.", field=field)
    if maximum is not None and value > maximum:
        message = f"{field} must be at most {maximum}, got {value}."
        raise ApiError(400, "invalid_parameter", message, field=field)
    return value


def _integer(data: Mapping[str, Any], field: str, minimum: int, maximum: int) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        message = f"{field} must be an integer between {minimum} and {maximum}."
        raise ApiError(400, "invalid_body", message, field=field)
    return value


def _json_object() -> dict[str, Any]:
    try:
        data = json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_body", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return data


def _cart_from_body() -> CheckoutCart:
    items = _json_object().get("items")
    if not isinstance(items, list):
        raise ApiError(400, "invalid_body", '"items" must be a list.', field="items")
    lines = []
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(400, "invalid_body", "Each item must be an object.", field="items")
        lines.append(
            (
                _integer(item, "product_id", 1, MAX_PRODUCT_ID),
                _integer(item, "quantity", 1, MAX_LINE_QUANTITY),
            )
        )
    try:
        return CheckoutCart.of(lines)
    except EmptyCart as exc:
        raise ApiError(400, "empty_cart", str(exc)) from None


def _idempotency_key() -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    if not key or len(key) > _MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        message = f"{IDEMPOTENCY_KEY_HEADER} must be 1-{_MAX_KEY_LENGTH} printable ASCII characters."
        raise ApiError(400, "invalid_parameter", message, field=IDEMPOTENCY_KEY_HEADER)
    return key


def is_shadow() -> bool:
    return request.headers.get(SHADOW_HEADER, "").strip() == "1"


@blueprint.route("/api/orders", methods=ALL_METHODS, provide_automatic_options=False)
@api_methods("GET", "POST")
def order_list() -> Response:
    customer = current_customer()
    service = orders()
    if request.method in ("GET", "HEAD"):
        page = list_orders(
            service.uow_factory,
            customer.user_id,
            page=_positive_int(request.args, "page", 1),
            page_size=_positive_int(request.args, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        )
        return json_response(page_to_dict(request.path, page))
    if (request.authorization is not None and request.authorization.type == "basic") or (
        request.headers.get("Authorization", "")[:6].lower() == "basic "
    ):
        # The monolith skips the CSRF check for basic auth, and has no session cart to check out.
        raise ApiError(400, "empty_cart", NEEDS_SESSION)
    try:
        check_csrf(request, trusted_origins=service.settings.csrf_trusted_origins, form_token=False)
    except CsrfRejected as exc:
        raise ApiError(403, "csrf_failed", f"CSRF verification failed: {exc.reason}") from None
    key, shadow = _idempotency_key(), is_shadow()
    session_key: str | None = None
    session: SessionCart | None = None
    if service.settings.cart_in_body and _json_body_has_items():
        cart = _cart_from_body()
    else:
        session_key, session = _session_cart(service, customer, shadow=shadow)
        if session.cart is None:
            replayed = service.saga().replay(customer.user_id, key) if key is not None else None
            if replayed is None:
                raise ApiError(400, "empty_cart", "Your cart is empty.")
            return _created(replayed)
        cart = session.cart
    command = PlaceOrder(customer_id=customer.user_id, cart=cart, idempotency_key=key, shadow=shadow)
    order = service.saga().place_order(command)
    if session_key is not None and session is not None and not shadow:
        _empty_session_cart(service, session_key, session, cart, order)
    return _created(order)


def _created(order: Order) -> Response:
    response = json_response(order_to_dict(order), 201)
    response.headers["Location"] = f"/api/orders/{order.order_no}"
    return response


def _json_body_has_items() -> bool:
    """The extension's test: a JSON object body with ``items`` (anything else is the session cart)."""
    try:
        data = json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "items" in data


def _session_cart(service: Orders, customer: CustomerIdentity, *, shadow: bool) -> tuple[str, SessionCart]:
    """The signed-in customer's session and its cart; 401 when the session is not (any more) theirs.
    A shadowed checkout reads the cart as it was before the monolith answered the same request (its
    ``X-Request-Id``): the monolith has emptied it by then."""
    session_key = request.cookies.get(service.settings.legacy_session_cookie)
    if not session_key:
        raise ApiError(400, "empty_cart", NEEDS_SESSION)
    if service.session_carts is None:
        raise SessionUnavailable("no session-cart port is configured")
    before = request.headers.get("X-Request-Id") if shadow else None
    session = service.session_carts.read(session_key, before_request=before)
    if session is None or session.user_id != customer.user_id:
        raise NotAuthenticated()
    return session_key, session


def _empty_session_cart(
    service: Orders, session_key: str, session: SessionCart, cart: CheckoutCart, order: Order
) -> None:
    """Take the lines just checked out out of the cart (emptied, as the monolith does, unless the
    customer changed it meanwhile: then what they added stays); the order stands whatever happens."""
    assert service.session_carts is not None
    ordered = {line.product_id: line.quantity for line in cart.lines}
    try:
        taken_out = service.session_carts.remove_checked_out(session_key, session.version, ordered)
    except SessionUnavailable as exc:
        log.error("order placed but its session cart not emptied", order_no=order.order_no, reason=str(exc))
        return
    if not taken_out:
        log.error(
            "session cart kept changing during checkout: the lines ordered are still in it",
            order_no=order.order_no,
        )


@blueprint.route("/api/orders/<ord_no>", methods=ALL_METHODS, provide_automatic_options=False)
@api_methods("GET")
def order_detail(ord_no: str) -> Response:
    customer = current_customer()
    return json_response(order_to_dict(get_order(orders().uow_factory, customer.user_id, ord_no)))
