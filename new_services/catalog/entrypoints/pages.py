"""HTML pages: the product list (with search and pagination) and the product detail."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from new_services.catalog.entrypoints.dependencies import catalog
from new_services.catalog.entrypoints.params import parse_listing
from new_services.catalog.service_layer import PageOutOfRange, get_product, list_products

__all__ = ["blueprint"]

blueprint = Blueprint("pages", __name__, template_folder="templates")


@blueprint.get("/products/")
def product_list() -> str:
    listing = parse_listing(request.args)
    try:
        page = list_products(
            catalog().uow_factory(), listing.criteria, page=listing.page, page_size=listing.page_size
        )
    except PageOutOfRange:
        from flask import abort

        abort(404)
    return render_template("catalog/product_list.html", page=page, q=listing.criteria.q)


@blueprint.get("/products/<int:product_id>/")
def product_detail(product_id: int) -> str:
    return render_template(
        "catalog/product_detail.html", product=get_product(catalog().uow_factory(), product_id)
    )
