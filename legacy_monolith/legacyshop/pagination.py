"""The API's page envelope: {"count", "page", "page_size", "num_pages", "next", "previous", "results"}."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest

from legacy_monolith.legacyshop.api import ApiError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "invalid_parameter",
    "page_links",
    "paginate",
    "positive_int",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def invalid_parameter(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, field=field)


def positive_int(params: Mapping[str, str], field: str, default: int, maximum: int | None = None) -> int:
    """``params[field]`` as an integer >= 1 (plain ASCII digits only), ``default`` when absent or empty."""
    raw = params.get(field, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise invalid_parameter(field, f"{field} must be a positive integer, got {raw!r}.")
    value = int(raw)
    if value < 1:
        raise invalid_parameter(field, f"{field} must be at least 1, got {value}.")
    if maximum is not None and value > maximum:
        raise invalid_parameter(field, f"{field} must be at most {maximum}, got {value}.")
    return value


def page_links(
    path: str, page: int, num_pages: int, page_size: int, extra: Iterable[tuple[str, str]]
) -> tuple[str | None, str | None]:
    """Relative next/previous URLs: page, page_size, then the other parameters in the order given."""
    extra = list(extra)

    def link(number: int) -> str:
        return f"{path}?{urlencode([('page', number), ('page_size', page_size), *extra])}"

    return (
        link(page + 1) if page < num_pages else None,
        link(page - 1) if page > 1 else None,
    )


def paginate(
    request: HttpRequest,
    queryset: Any,
    to_dict: Callable[[Any], dict[str, Any]],
    extra: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The page envelope for ``queryset``; ``extra`` are (name, value) pairs kept in the links."""
    params = request.GET
    page_number = positive_int(params, "page", 1)
    page_size = positive_int(params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    paginator = Paginator(queryset, page_size)
    if page_number > paginator.num_pages:
        raise invalid_parameter("page", f"page {page_number} is out of range (1-{paginator.num_pages}).")
    page = paginator.page(page_number)
    next_url, previous_url = page_links(request.path, page_number, paginator.num_pages, page_size, extra)
    return {
        "count": paginator.count,
        "page": page_number,
        "page_size": page_size,
        "num_pages": paginator.num_pages,
        "next": next_url,
        "previous": previous_url,
        "results": [to_dict(item) for item in page.object_list],
    }
