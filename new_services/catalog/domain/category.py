"""CategoryPath: where a product sits in the category tree, root first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from new_services.catalog.domain.errors import InvalidValue

__all__ = ["SEPARATOR", "CategoryPath"]

SEPARATOR = ">"
MAX_LENGTH = 255


@dataclass(frozen=True, slots=True)
class CategoryPath:
    """Segments from the root, e.g. ``("Home", "Kitchen", "Knives")``; ``str()`` joins them with ``>``."""

    segments: tuple[str, ...]

    def __init__(self, segments: Iterable[str]) -> None:
        object.__setattr__(self, "segments", tuple(segments))
        if not self.segments:
            raise InvalidValue("a category path has at least one segment")
        for segment in self.segments:
            if (
                not isinstance(segment, str)
                or not segment
                or segment != segment.strip()
                or SEPARATOR in segment
            ):
                raise InvalidValue(f"invalid category segment {segment!r} in {self.segments!r}")
        if len(str(self)) > MAX_LENGTH:
            raise InvalidValue(f"category path longer than {MAX_LENGTH} characters")

    @classmethod
    def parse(cls, text: str) -> CategoryPath:
        """``"Home>Kitchen>Knives"`` -> ``CategoryPath(("Home", "Kitchen", "Knives"))``."""
        return cls(text.split(SEPARATOR))

    def is_within(self, ancestor: str) -> bool:
        """True when this path is ``ancestor`` or lies below it (whole segments only)."""
        text = str(self)
        return text == ancestor or text.startswith(ancestor + SEPARATOR)

    def __str__(self) -> str:
        return SEPARATOR.join(self.segments)
