"""URL converters matching Django's: ``<int:...>`` there is ASCII ``[0-9]+``."""

from __future__ import annotations

from werkzeug.routing import BaseConverter

__all__ = ["LegacyIntConverter"]


class LegacyIntConverter(BaseConverter):
    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]
