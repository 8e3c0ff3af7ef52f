"""Path shapes: a request path with its identifier segments collapsed, so that ids do not multiply paths.

``/orders/42/items`` and ``/orders/43/items`` share the shape ``/orders/{int}/items``. A segment made of
digits becomes ``{int}``, a UUID ``{uuid}``, a run of at least 24 hexadecimal digits (an object id, a
digest) ``{hex}``; every other segment is kept. The data plane counts unmatched requests by shape; the
inventory turns a shape back into a concrete path (:func:`shape_sample`) to resolve it against the
monolith's URL patterns.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SHAPE_CHARS", "PLACEHOLDERS", "path_shape", "shape_sample"]

MAX_SHAPE_CHARS = 512
"""A shape is cut to this many characters (the store's column)."""

PLACEHOLDERS = {
    "{int}": "1",
    "{uuid}": "00000000-0000-0000-0000-000000000001",
    "{hex}": "0123456789abcdef01234567",
}
"""Each placeholder and the concrete segment :func:`shape_sample` puts in its place."""

_IDENTIFIER = re.compile(
    r"(?<=/)(?:(?P<int>[0-9]+)"
    r"|(?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"|(?P<hex>[0-9a-fA-F]{24,}))(?=/|$)"
)
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))


def _placeholder(match: re.Match[str]) -> str:
    return "{" + str(match.lastgroup) + "}"


def path_shape(path: str) -> str:
    """``path`` with its identifier segments replaced by placeholders, at most ``MAX_SHAPE_CHARS``."""
    return _IDENTIFIER.sub(_placeholder, path[: MAX_SHAPE_CHARS * 2])[:MAX_SHAPE_CHARS]


def shape_sample(shape: str) -> str:
    """A concrete path of ``shape`` (each placeholder replaced by a sample segment)."""
    return _PLACEHOLDER.sub(lambda m: PLACEHOLDERS[m.group(0)], shape)
