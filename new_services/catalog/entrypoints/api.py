"""``/api/products`` and ``/api/products/<id>``: the monolith's JSON contract, served from our own data."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, request

from new_services.catalog.entrypoints.dependencies import catalog
from new_services.catalog.entrypoints.errors import error_response, json_response
from new_services.catalog.entrypoints.params import parse_listing
from new_services.catalog.entrypoints.representation import product_json
from new_services.catalog.service_layer import PageOutOfRange, get_product, list_products

__all__ = ["blueprint", "page_link"]

blueprint = Blueprint("api", __name__, url_prefix="/api")


@blueprint.get("/products")
def product_list() -> Response:
    listing = parse_listing(request.args)
    try:
        page = list_products(
            catalog().uow_factory(), listing.criteria, page=listing.page, page_size=listing.page_size
        )
    except PageOutOfRange as exc:
        return error_response(404, "not_found", str(exc))
    return json_response(
        {
            "count": page.count,
            "page": page.number,
            "page_size": page.size,
            "num_pages": page.num_pages,
            "next": page_link(request.path, page.number + 1) if page.has_next else None,
            "previous": page_link(request.path, page.number - 1) if page.has_previous else None,
            "results": [product_json(product) for product in page.items],
        }
    )


@blueprint.get("/products/<int:product_id>")
def product_detail(product_id: int) -> Response:
    return json_response(product_json(get_product(catalog().uow_factory(), product_id)))


def page_link(path: str, number: int) -> str:
    """The same listing with ``page`` replaced, other parameters kept in the order they came."""
    pairs = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{path}?{urlencode([('page', str(number)), *pairs])}"
