"""HTML pages, rendered as the monolith renders them: the product list (search, pagination) and detail.

The pages are for anonymous visitors (the header shows "Log in" and an empty cart) until the monolith's
session can be resolved from here; forms carry a Django-compatible CSRF token so they post to it fine.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from new_services.catalog.domain import Status
from new_services.catalog.entrypoints.dependencies import catalog, csrf_protect
from new_services.catalog.entrypoints.request_args import last_values
from new_services.catalog.entrypoints.search_form import build_search_form
from new_services.catalog.entrypoints.shop import render_page
from new_services.catalog.service_layer import (
    AbstractUnitOfWork,
    Page,
    PageOutOfRange,
    ProductCriteria,
    get_product,
    list_categories,
    list_products,
)
from new_services.kit.csrf import csrf_token
from new_services.kit.methods import ALL_METHODS, allow_methods

__all__ = ["PRODUCTS_PER_PAGE", "blueprint"]

blueprint = Blueprint("pages", __name__, template_folder="templates")
PRODUCTS_PER_PAGE = 24


@blueprint.route("/", methods=ALL_METHODS, provide_automatic_options=False)
@blueprint.route("/products/", methods=ALL_METHODS, provide_automatic_options=False)
@csrf_protect
@allow_methods("GET", "HEAD")
def product_list() -> Response:
    args = last_values(request.args)
    uow_factory = catalog().uow_factory
    form = build_search_form(args, list_categories(uow_factory()), bound=bool(request.args))
    criteria = ProductCriteria(q=form.q, category=form.category, status=Status.ACTIVE, sort="name")
    page = _lenient_page(uow_factory, criteria, args.get("page"))
    query = urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "page"])
    return render_page("catalog/product_list.html", form=form, page=page, query=query)


@blueprint.route("/products/<legacy_int:product_id>/", methods=ALL_METHODS, provide_automatic_options=False)
@csrf_protect
@allow_methods("GET", "HEAD")
def product_detail(product_id: int) -> Response:
    product = get_product(catalog().uow_factory(), product_id)
    return render_page("catalog/product_detail.html", product=product, csrf_input=CsrfInput())


class CsrfInput:
    """The hidden form field, made only if a template prints it (then the response sets the cookie)."""

    def __html__(self) -> str:
        return f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf_token(request)}">'


def _lenient_page(
    uow_factory: Callable[[], AbstractUnitOfWork], criteria: ProductCriteria, raw: str | None
) -> Page:
    """Like Django's ``Paginator.get_page``: not a number -> page 1, out of range -> the last page."""
    try:
        number = int(raw) if raw is not None else 1
    except ValueError:
        number = 1
    if number >= 1:
        try:
            return list_products(uow_factory(), criteria, page=number, page_size=PRODUCTS_PER_PAGE)
        except PageOutOfRange as exc:
            last = exc.num_pages
    else:
        last = list_products(uow_factory(), criteria, page=1, page_size=PRODUCTS_PER_PAGE).num_pages
    return list_products(uow_factory(), criteria, page=last, page_size=PRODUCTS_PER_PAGE)
