"""Query-string parsing for product listings: typed values or InvalidParameter (400) naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from werkzeug.datastructures import MultiDict

from new_services.catalog.domain import Status
from new_services.catalog.entrypoints.errors import InvalidParameter
from new_services.catalog.service_layer import SORT_KEYS, ProductCriteria

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "ListingRequest", "parse_listing"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class ListingRequest:
    criteria: ProductCriteria
    page: int
    page_size: int


def parse_listing(args: MultiDict[str, str]) -> ListingRequest:
    page = _positive_int(args, "page", 1)
    page_size = _positive_int(args, "page_size", DEFAULT_PAGE_SIZE)
    if page_size > MAX_PAGE_SIZE:
        raise InvalidParameter("page_size", f"page_size must be at most {MAX_PAGE_SIZE}.")
    status_text = args.get("status", "")
    status = None
    if status_text:
        try:
            status = Status(status_text)
        except ValueError:
            raise InvalidParameter("status", "status must be one of: active, discontinued.") from None
    sort = args.get("sort", "") or "id"
    if sort not in SORT_KEYS:
        raise InvalidParameter("sort", f"sort must be one of: {', '.join(SORT_KEYS)}.")
    min_price = _price(args, "min_price")
    max_price = _price(args, "max_price")
    criteria = ProductCriteria(
        q=args.get("q", "").strip(),
        category=args.get("category", ""),
        status=status,
        min_price=min_price,
        max_price=max_price,
        sort=sort,
    )
    return ListingRequest(criteria=criteria, page=page, page_size=page_size)


def _positive_int(args: MultiDict[str, str], field: str, default: int) -> int:
    text = args.get(field, "")
    if text == "":
        return default
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise InvalidParameter(field, f"{field} must be a positive integer.")
    return int(text)


def _price(args: MultiDict[str, str], field: str) -> Decimal | None:
    text = args.get(field, "")
    if text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidParameter(field, f"{field} must be a decimal number.") from None
    if not value.is_finite() or value < 0:
        raise InvalidParameter(field, f"{field} must be a decimal number.")
    return value
