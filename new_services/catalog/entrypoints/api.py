"""``/api/products`` and ``/api/products/<id>``: the monolith's JSON contract, served from our own data.

Like the monolith, each endpoint answers its own methods only (HEAD wherever GET, no implicit
OPTIONS): any other method gets the JSON 405 with an ``Allow`` header; unknown ``/api`` paths get
the JSON 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from new_services.catalog.entrypoints.auth import current_identity, not_authenticated, permission_denied
from new_services.catalog.entrypoints.dependencies import catalog, csrf_protect
from new_services.catalog.entrypoints.errors import InvalidParameter
from new_services.catalog.entrypoints.params import parse_listing
from new_services.catalog.entrypoints.product_body import parse_product_change
from new_services.catalog.entrypoints.representation import product_json
from new_services.catalog.entrypoints.request_args import last_values
from new_services.catalog.entrypoints.stock_body import InvalidBody, parse_stock_change
from new_services.catalog.service_layer import (
    AbstractUnitOfWork,
    NegativeStock,
    PageOutOfRange,
    ShadowUnitOfWork,
    adjust_stock,
    change_product,
    get_product,
    list_products,
    set_stock,
)
from new_services.kit.csrf import check_csrf
from new_services.kit.methods import ALL_METHODS, api_methods
from new_services.kit.responses import error_response, json_response

__all__ = ["blueprint", "page_links"]

B = TypeVar("B")
blueprint = Blueprint("api", __name__, url_prefix="/api")
SHADOW_HEADER = "X-Strangler-Shadow"


@blueprint.route("/products", methods=ALL_METHODS, provide_automatic_options=False)
@csrf_protect
@api_methods("GET")
def product_list() -> Response:
    listing = parse_listing(last_values(request.args))
    uow = catalog().uow_factory()
    try:
        page = list_products(uow, listing.criteria, page=listing.page, page_size=listing.page_size)
    except PageOutOfRange as exc:
        raise InvalidParameter("page", f"page {exc.page} is out of range (1-{exc.num_pages}).") from None
    next_url, previous_url = page_links(
        request.path, page.number, page.num_pages, page.size, listing.link_parameters
    )
    return json_response(
        {
            "count": page.count,
            "page": page.number,
            "page_size": page.size,
            "num_pages": page.num_pages,
            "next": next_url,
            "previous": previous_url,
            "results": [product_json(product) for product in page.items],
        }
    )


@blueprint.route("/products/<legacy_int:product_id>", methods=ALL_METHODS, provide_automatic_options=False)
@csrf_protect
@api_methods("GET", "PATCH")
def product_detail(product_id: int) -> Response:
    """The product; ``PATCH`` changes its name, description or price (staff identities only), the change
    and its ``service_outbox`` row (with the product's fields version) in one transaction.

    Like the monolith's view (which Django's CSRF middleware guards before it runs), an unsafe request
    without a good CSRF token is refused before anything else (``csrf_protect``); then the checks every
    staff write makes (:func:`_staff_write`, the CSRF check included, as the stock write has it)."""
    if request.method != "PATCH":
        return json_response(product_json(get_product(catalog().uow_factory(), product_id)))
    checked = _staff_write(product_id, parse_product_change)
    if isinstance(checked, Response):
        return checked
    change, uow = checked
    product = change_product(
        uow,
        product_id,
        name=change.name,
        description=change.description,
        price=change.price,
        clock=_utcnow_seconds,
    )
    return json_response(product_json(product))


@blueprint.route(
    "/products/<legacy_int:product_id>/stock", methods=ALL_METHODS, provide_automatic_options=False
)
@api_methods("POST")
def product_stock(product_id: int) -> Response:
    """Set (``{"quantity": n}``) or move (``{"delta": d}``) the stock; staff identities only.

    Checks run in the monolith's order (:func:`_staff_write`): 401 nobody, 403 not staff, 403 CSRF, 404
    no product, 400 body. The product change and its ``service_outbox`` row commit in one
    transaction; with ``X-Strangler-Shadow: 1`` the whole use case runs and is rolled back.
    """
    checked = _staff_write(product_id, parse_stock_change)
    if isinstance(checked, Response):
        return checked
    change, uow = checked
    command = set_stock if change.field == "quantity" else adjust_stock
    try:
        product = command(uow, product_id, change.value, clock=_utcnow_seconds)
    except NegativeStock as exc:
        return error_response(400, "invalid_body", str(exc), field=exc.field)
    return json_response(product_json(product))


def _staff_write(product_id: int, parse: Callable[[bytes], B]) -> tuple[B, AbstractUnitOfWork] | Response:
    """What every staff write on a product checks first, in the monolith's order: 401 nobody, 403 not
    staff, 403 CSRF (the identity comes from a session), 404 no product, 400 body. Passed: the parsed
    body and the unit of work to run it in (a shadow one, rolled back, under ``X-Strangler-Shadow: 1``).
    Otherwise the refusal to answer."""
    identity = current_identity()
    if identity is None:
        return not_authenticated()
    if not identity.is_staff:
        return permission_denied()
    check_csrf(request, trusted_origins=catalog().settings.csrf_trusted_origins)
    get_product(catalog().uow_factory(), product_id)
    try:
        body = parse(request.get_data(cache=False))
    except InvalidBody as exc:
        extra = {"field": exc.field} if exc.field else {}
        return error_response(400, "invalid_body", exc.message, **extra)
    uow = catalog().uow_factory()
    if request.headers.get(SHADOW_HEADER) == "1":
        uow = ShadowUnitOfWork(uow)
    return body, uow


def _utcnow_seconds() -> datetime:
    """The monolith stores ``upd_dt`` to the second: so do we, so both sides hold the same time."""
    return datetime.now(UTC).replace(microsecond=0)


@blueprint.route("", methods=ALL_METHODS, provide_automatic_options=False)
@blueprint.route("/<path:rest>", methods=ALL_METHODS, provide_automatic_options=False)
def api_not_found(rest: str = "") -> Response:
    return error_response(404, "not_found", f"No API endpoint at {request.path}.")


def page_links(
    path: str, number: int, num_pages: int, page_size: int, extra: tuple[tuple[str, str], ...]
) -> tuple[str | None, str | None]:
    """Relative next/previous URLs: page, page_size, then the filters in LINK_PARAMETERS order."""

    def link(target: int) -> str:
        return f"{path}?{urlencode([('page', target), ('page_size', page_size), *extra])}"

    return (link(number + 1) if number < num_pages else None, link(number - 1) if number > 1 else None)
