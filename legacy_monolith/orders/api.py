"""JSON API for the session cart and the customer's orders (contract in API.md)."""

from django.http import JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie

from legacy_monolith.catalog.models import Product
from legacy_monolith.legacyshop.api import ApiError, api_view, parse_json_object, require_api_user
from legacy_monolith.legacyshop.pagination import paginate
from legacy_monolith.orders.cart import MAX_LINE_QUANTITY, Cart
from legacy_monolith.orders.models import Order
from legacy_monolith.orders.serializers import cart_to_dict, order_to_dict
from legacy_monolith.orders.services import (
    CheckoutError,
    EmptyCart,
    InsufficientStock,
    customer_for_user,
    order_place,
)


def _integer(data, field, minimum, maximum):
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ApiError(
            400, "invalid_body", f"{field} must be an integer between {minimum} and {maximum}.", field=field
        )
    return value


def _orderable_product(product_id):
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ApiError(404, "not_found", f"Product {product_id} does not exist.")
    if not product.is_active:
        raise ApiError(409, "product_discontinued", f"Product {product_id} is discontinued.")
    return product


@ensure_csrf_cookie
@api_view(["GET", "POST", "DELETE"])
def cart(request):
    """GET the cart; POST {"items": [{"product_id", "quantity"}]} replaces it; DELETE empties it."""
    session_cart = Cart(request.session)
    if request.method == "POST":
        items = parse_json_object(request).get("items")
        if not isinstance(items, list):
            raise ApiError(400, "invalid_body", '"items" must be a list.', field="items")
        quantities = {}
        for item in items:
            if not isinstance(item, dict):
                raise ApiError(400, "invalid_body", "Each item must be an object.", field="items")
            product_id = _integer(item, "product_id", 1, 2**31 - 1)
            quantity = _integer(item, "quantity", 1, MAX_LINE_QUANTITY)
            _orderable_product(product_id)
            quantities[product_id] = min(quantities.get(product_id, 0) + quantity, MAX_LINE_QUANTITY)
        session_cart.replace(quantities)
    elif request.method == "DELETE":
        session_cart.clear()
    return JsonResponse(cart_to_dict(session_cart))


@api_view(["POST"])
def cart_items(request):
    """Add {"product_id", "quantity"} to the cart (quantities add up, capped at 99 a line)."""
    data = parse_json_object(request)
    product_id = _integer(data, "product_id", 1, 2**31 - 1)
    quantity = _integer(data, "quantity", 1, MAX_LINE_QUANTITY) if "quantity" in data else 1
    _orderable_product(product_id)
    session_cart = Cart(request.session)
    session_cart.add(product_id, quantity)
    return JsonResponse(cart_to_dict(session_cart), status=201)


@api_view(["PUT", "PATCH", "DELETE"])
def cart_item(request, product_id):
    """PUT/PATCH {"quantity"} sets a line (0 removes it); DELETE removes it."""
    session_cart = Cart(request.session)
    if product_id not in session_cart:
        raise ApiError(404, "not_found", f"Product {product_id} is not in the cart.")
    if request.method == "DELETE":
        session_cart.remove(product_id)
    else:
        session_cart.set(product_id, _integer(parse_json_object(request), "quantity", 0, MAX_LINE_QUANTITY))
    return JsonResponse(cart_to_dict(session_cart))


@api_view(["GET", "POST"], basic_auth=True)
def orders(request):
    """GET the customer's orders, newest first, paginated; POST checks out the session cart."""
    user = require_api_user(request)
    if request.method == "GET":
        queryset = Order.objects.filter(cust__user=user).prefetch_related("lines__prd")
        return JsonResponse(paginate(request, queryset, order_to_dict))
    if getattr(request, "basic_auth", False):
        raise ApiError(400, "empty_cart", "Checkout needs the session cart; log in with a session.")
    session_cart = Cart(request.session)
    try:
        order = order_place(customer=customer_for_user(user), quantities=session_cart.quantities())
    except EmptyCart as exc:
        raise ApiError(400, "empty_cart", str(exc)) from None
    except InsufficientStock as exc:
        raise ApiError(
            409,
            "insufficient_stock",
            str(exc),
            product_id=exc.product.prd_id,
            requested=exc.requested,
            available=exc.available,
        ) from None
    except CheckoutError as exc:
        raise ApiError(409, "checkout_failed", str(exc)) from None
    session_cart.clear()
    response = JsonResponse(order_to_dict(order), status=201)
    response["Location"] = f"/api/orders/{order.ord_no}"
    return response


@api_view(["GET"], basic_auth=True)
def order_detail(request, ord_no):
    user = require_api_user(request)
    order = Order.objects.filter(ord_no=ord_no, cust__user=user).prefetch_related("lines__prd").first()
    if order is None:
        raise ApiError(404, "not_found", f"Order {ord_no} does not exist.")
    return JsonResponse(order_to_dict(order))
