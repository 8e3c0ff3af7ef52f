"""Query-string parsing for product listings, check for check as the monolith does it.

The checks run in the monolith's order (status, sort, min_price, max_price, then page and page_size)
so that a request with several bad parameters gets the same 400 from either side.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from new_services.catalog.domain import Status
from new_services.catalog.entrypoints.errors import InvalidParameter
from new_services.catalog.service_layer import SORT_KEYS, ProductCriteria

__all__ = ["DEFAULT_PAGE_SIZE", "LINK_PARAMETERS", "MAX_PAGE_SIZE", "ListingRequest", "parse_listing"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_PRICE = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")
# The order in which filters reappear in next/previous links, after page and page_size.
LINK_PARAMETERS = ("q", "category", "status", "min_price", "max_price", "sort")


@dataclass(frozen=True, slots=True)
class ListingRequest:
    criteria: ProductCriteria
    page: int
    page_size: int
    link_parameters: tuple[tuple[str, str], ...]


def parse_listing(args: Mapping[str, str]) -> ListingRequest:
    status_text = args.get("status", "")
    status = None
    if status_text:
        try:
            status = Status(status_text)
        except ValueError:
            message = f"status must be one of active, discontinued; got {status_text!r}."
            raise InvalidParameter("status", message) from None
    sort = args.get("sort", "") or "id"
    if sort not in SORT_KEYS:
        raise InvalidParameter("sort", f"sort must be one of {', '.join(SORT_KEYS)}; got {sort!r}.")
    criteria = ProductCriteria(
        q=args.get("q", "").strip(),
        category=args.get("category", "").strip(),
        status=status,
        min_price=_price(args, "min_price"),
        max_price=_price(args, "max_price"),
        sort=sort,
    )
    page = positive_int(args, "page", 1)
    page_size = positive_int(args, "page_size", DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    links = tuple((name, args[name]) for name in LINK_PARAMETERS if args.get(name, "") != "")
    return ListingRequest(criteria=criteria, page=page, page_size=page_size, link_parameters=links)


def positive_int(args: Mapping[str, str], field: str, default: int, *, maximum: int | None = None) -> int:
    """``args[field]`` as an integer >= 1 written in plain ASCII digits; ``default`` when absent or empty."""
    raw = args.get(field, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidParameter(field, f"{field} must be a positive integer, got {raw!r}.")
    value = int(raw)
    if value < 1:
        raise InvalidParameter(field, f"{field} must be at least 1, got {value}.")
    if maximum is not None and value > maximum:
        raise InvalidParameter(field, f"{field} must be at most {maximum}, got {value}.")
    return value


def _price(args: Mapping[str, str], field: str) -> Decimal | None:
    """A non-negative decimal written plainly ("10", "19.90"), or None when absent."""
    raw = args.get(field, "")
    if raw == "":
        return None
    if not _PRICE.fullmatch(raw):
        message = f"{field} must be a non-negative decimal number like 19.90, got {raw!r}."
        raise InvalidParameter(field, message)
    return Decimal(raw)
