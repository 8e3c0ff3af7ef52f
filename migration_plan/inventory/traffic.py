"""The unmatched requests' path shapes (counted by the data plane) resolved to the monolith's URL patterns.

Each shape (``/products/{int}/``) is turned back into a concrete path and given to the first pattern, in
the URLconf's resolution order, that matches it whole, the way Django resolves a request: converters
(``<int:pk>``) take what Django's converters take, the rest of a ``path()`` route is literal, a
``re_path()`` pattern is a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migration_plan.inventory.source import UrlPattern
from strangler_proxy.routes.path_shapes import shape_sample

__all__ = ["PatternTraffic", "attribute_shapes", "pattern_regex"]

_CONVERTER = re.compile(r"(?<!\?P)<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_CONVERTER_REGEX = {
    "int": "[0-9]+",
    "str": "[^/]+",
    "slug": "[-a-zA-Z0-9_]+",
    "uuid": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "path": ".+",
}
_REGEX_SYNTAX = re.compile(r"\(\?|[\\\[\]^$*+|]")


def _route_regex(route: str) -> str:
    """A ``path()`` route: literal text with converters."""
    parts = []
    last = 0
    for match in _CONVERTER.finditer(route):
        parts.append(re.escape(route[last : match.start()]))
        parts.append(f"(?:{_CONVERTER_REGEX.get(match.group('kind') or 'str', '[^/]+')})")
        last = match.end()
    parts.append(re.escape(route[last:]))
    return "".join(parts)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """What the URLconf ``pattern`` (as ``urls_json`` prints it) takes of a path, matched whole."""
    text = pattern.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    text = text if text.startswith("/") else "/" + text.removeprefix("^")
    if _REGEX_SYNTAX.search(text) is None:
        return re.compile(_route_regex(text))
    regex = _CONVERTER.sub(lambda m: f"(?:{_CONVERTER_REGEX.get(m.group('kind') or 'str', '[^/]+')})", text)
    try:
        return re.compile(regex)
    except re.error:
        return re.compile(_route_regex(text))


@dataclass(frozen=True)
class PatternTraffic:
    by_pattern: tuple[int, ...]
    """Unmatched requests per pattern, in the order of the patterns given."""
    unresolved: int
    """Requests of shapes no pattern matches (the monolith answers them 404)."""
    unresolved_shapes: tuple[tuple[str, int], ...]
    """Those shapes with their requests, most requested first."""


def attribute_shapes(patterns: Sequence[UrlPattern], shapes: Mapping[str, int]) -> PatternTraffic:
    """Each shape's requests to the first pattern that takes the shape's sample path."""
    regexes = [pattern_regex(p.pattern) for p in patterns]
    counts = [0] * len(patterns)
    unresolved: dict[str, int] = {}
    for shape, requests in shapes.items():
        sample = shape_sample(shape)
        for index, regex in enumerate(regexes):
            if regex.fullmatch(sample) is not None:
                counts[index] += requests
                break
        else:
            unresolved[shape] = unresolved.get(shape, 0) + requests
    ordered = tuple(sorted(unresolved.items(), key=lambda item: (-item[1], item[0])))
    return PatternTraffic(tuple(counts), sum(unresolved.values()), ordered)
