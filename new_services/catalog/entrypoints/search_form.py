"""The product search form of the shop pages, validated and rendered as Django's ProductSearchForm is.

Fields: ``q`` (optional text, at most 100 characters after stripping, no NUL) and ``category`` (optional,
one of the known category paths). A field that does not validate filters nothing (an unknown category
keeps the search words), and is rendered with ``aria-invalid="true"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from new_services.catalog.entrypoints.html import django_escape

__all__ = ["SearchForm", "build_search_form"]

MAX_Q_LENGTH = 100


@dataclass(frozen=True, slots=True)
class SearchForm:
    q: str
    category: str
    q_widget: Markup
    category_widget: Markup


def build_search_form(args: Mapping[str, str], categories: Sequence[str], *, bound: bool) -> SearchForm:
    """``args`` maps each parameter to its last value; ``bound`` is whether the query string had any."""
    raw_q = args.get("q") if bound else None
    raw_category = args.get("category") if bound else None
    q = (raw_q or "").strip()
    q_invalid = len(q) > MAX_Q_LENGTH or "\x00" in q
    category = raw_category or ""
    category_invalid = bool(category) and category not in categories
    return SearchForm(
        q="" if q_invalid else q,
        category="" if category_invalid else category,
        q_widget=_text_input(raw_q, invalid=q_invalid),
        category_widget=_select(raw_category, categories, invalid=category_invalid),
    )


def _text_input(value: str | None, *, invalid: bool) -> Markup:
    value_attr = "" if value in (None, "") else f' value="{django_escape(value)}"'
    aria = ' aria-invalid="true" aria-describedby="id_q_error"' if invalid else ""
    return Markup(f'<input type="text" name="q"{value_attr} maxlength="{MAX_Q_LENGTH}"{aria} id="id_q">')


def _select(value: str | None, categories: Sequence[str], *, invalid: bool) -> Markup:
    selected_value = "" if value is None else value
    aria = ' aria-invalid="true" aria-describedby="id_category_error"' if invalid else ""
    options = "".join(
        f'\n  <option value="{django_escape(option)}"{" selected" if option == selected_value else ""}>'
        f"{django_escape(label)}</option>\n"
        for option, label in [("", "All categories"), *((path, path) for path in categories)]
    )
    return Markup(f'<select name="category"{aria} id="id_category">{options}\n</select>')
