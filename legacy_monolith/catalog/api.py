"""JSON API for products: list, detail, the staff-only change of a product's name, description or price,
and the staff-only stock update (contract in API.md)."""

import re
from decimal import Decimal

from django.http import JsonResponse

from legacy_monolith.catalog.models import Product
from legacy_monolith.catalog.queries import SORT_FIELDS, search_products
from legacy_monolith.catalog.serializers import product_to_dict
from legacy_monolith.catalog.services import NegativeStock, product_fields_update, product_stock_update
from legacy_monolith.legacyshop.api import ApiError, api_view, parse_json_object, require_api_user
from legacy_monolith.legacyshop.pagination import invalid_parameter, paginate
from strangler_django.idempotency import idempotent

STATUS_CODES = {"active": Product.STATUS_ACTIVE, "discontinued": Product.STATUS_DISCONTINUED}
# The order in which filters reappear in next/previous links.
LINK_PARAMETERS = ("q", "category", "status", "min_price", "max_price", "sort")
PRICE_PATTERN = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")


def _price(params, field):
    """A non-negative decimal written plainly ("10", "19.90"), or None when absent."""
    raw = params.get(field, "")
    if raw == "":
        return None
    if not PRICE_PATTERN.fullmatch(raw):
        raise invalid_parameter(
            field, f"{field} must be a non-negative decimal number like 19.90, got {raw!r}."
        )
    return Decimal(raw)


@api_view(["GET"])
def product_list(request):
    params = request.GET
    status = params.get("status", "")
    if status and status not in STATUS_CODES:
        raise invalid_parameter("status", f"status must be one of active, discontinued; got {status!r}.")
    sort = params.get("sort", "") or "id"
    if sort not in SORT_FIELDS:
        raise invalid_parameter("sort", f"sort must be one of {', '.join(SORT_FIELDS)}; got {sort!r}.")
    min_price = _price(params, "min_price")
    max_price = _price(params, "max_price")
    products = search_products(
        q=params.get("q", "").strip(),
        category=params.get("category", "").strip(),
        status=STATUS_CODES.get(status),
        min_price=min_price,
        max_price=max_price,
        sort=sort,
    )
    extra = [(name, params[name]) for name in LINK_PARAMETERS if params.get(name, "") != ""]
    return JsonResponse(paginate(request, products, product_to_dict, extra))


# The body's keys of a product change and the columns they set.
CHANGE_FIELDS = {"name": "prd_nm", "description": "prd_desc", "price": "unit_prc"}
CHANGE_PRICE = re.compile(r"[0-9]{1,15}\.[0-9]{2}")


@api_view(["GET", "PATCH"])
def product_detail(request, pk):
    """The product; ``PATCH`` (staff only) changes some of its ``name``, ``description`` and ``price``."""
    if request.method != "PATCH":
        return JsonResponse(product_to_dict(_get_product(pk)))
    require_api_user(request, staff=True)
    product = _get_product(pk)
    data = parse_json_object(request)
    unknown = sorted(set(data) - set(CHANGE_FIELDS))
    if unknown:
        raise ApiError(
            400,
            "invalid_body",
            f"Only name, description, price can be changed here, not {unknown[0]}.",
            field=unknown[0],
        )
    if not data:
        raise ApiError(400, "invalid_body", "Send at least one of name, description, price.")
    for field in ("name", "description"):
        if field in data and not isinstance(data[field], str):
            raise ApiError(400, "invalid_body", f"{field} must be text.", field=field)
    if "name" in data and (not data["name"].strip() or len(data["name"]) > 200):
        raise ApiError(
            400, "invalid_body", "name must have 1 to 200 characters and not be blank.", field="name"
        )
    if "price" in data and not (isinstance(data["price"], str) and CHANGE_PRICE.fullmatch(data["price"])):
        raise ApiError(
            400, "invalid_body", "price must be a price with two decimals like '19.90'.", field="price"
        )
    columns = {CHANGE_FIELDS[key]: value for key, value in data.items()}
    return JsonResponse(product_to_dict(product_fields_update(product=product, columns=columns)))


@api_view(["POST"], basic_auth=True)
@idempotent
def product_stock(request, pk):
    """Set the stock (``{"quantity": n}``) or move it (``{"delta": d}``); staff only. With an
    ``Idempotency-Key``, a retried change is answered again, never applied twice."""
    require_api_user(request, staff=True)
    product = _get_product(pk)
    data = parse_json_object(request)
    if ("quantity" in data) == ("delta" in data):
        raise ApiError(
            400, "invalid_body", 'Send exactly one of "quantity" (absolute) or "delta" (relative).'
        )
    field = "quantity" if "quantity" in data else "delta"
    value = data[field]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "invalid_body", f"{field} must be an integer.", field=field)
    try:
        product = product_stock_update(product=product, **{field: value})
    except NegativeStock as exc:
        raise ApiError(400, "invalid_body", str(exc), field=exc.field) from None
    return JsonResponse(product_to_dict(product))


def _get_product(pk):
    try:
        return Product.objects.get(pk=pk)
    except Product.DoesNotExist:
        raise ApiError(404, "not_found", f"Product {pk} does not exist.") from None
