"""HTML helpers that reproduce the monolith's Django rendering: its escaping and two of its filters."""

from __future__ import annotations

import html

from markupsafe import Markup

__all__ = ["django_escape", "finalize", "linebreaksbr", "pluralize"]


def django_escape(value: object) -> Markup:
    """Django's ``escape``: ``& < > " '`` become ``&amp; &lt; &gt; &quot; &#x27;`` (unlike markupsafe)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def finalize(value: object) -> object:
    """Jinja ``finalize`` hook: escape every plain string the Django way before autoescape sees it."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return django_escape(value)
    return value


def linebreaksbr(value: object) -> Markup:
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return Markup(str(django_escape(text)).replace("\n", "<br>"))


def pluralize(count: int, suffix: str = "s") -> str:
    return "" if count == 1 else suffix
