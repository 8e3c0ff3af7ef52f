"""Reconcile, for any aggregate: the report of the differences between both sides, and the legacy side's
records read page by page through a translating source.

Each pipeline compares its own records (a module of its own package).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

__all__ = [
    "Difference",
    "ReconcileReport",
    "translated_records",
]

T = TypeVar("T", covariant=True)


@dataclass(frozen=True, slots=True)
class Difference:
    key: int | str
    """The entity's key on both sides: a product id, an order number."""
    kind: str  # "missing_in_service" | "missing_in_legacy" | "different"
    fields: tuple[str, ...] = ()


@dataclass
class ReconcileReport:
    """What a reconcile found; ``key_name`` names ``Difference.key`` in the JSON form ("id", "order_no")."""

    key_name: str = "id"
    legacy_count: int = 0
    service_count: int = 0
    rejected_legacy_ids: list[object] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.rejected_legacy_ids

    def to_dict(self) -> dict[str, object]:
        return {
            "legacy_count": self.legacy_count,
            "service_count": self.service_count,
            "differences": [
                {self.key_name: item.key, "kind": item.kind, "fields": list(item.fields)}
                for item in self.differences
            ],
            "rejected_legacy_ids": self.rejected_legacy_ids,
            "ok": self.ok,
        }

    def text_lines(self, *, title: str, service: str, noun: str, limit: int) -> list[str]:
        """The report as ``python -m acl.sync reconcile`` prints it: a summary, at most ``limit``
        differences, then the legacy rows that do not translate."""
        lines = [
            f"reconcile {title}: legacy {self.legacy_count}, {service} {self.service_count}, "
            f"{len(self.differences)} differences"
        ]
        for item in self.differences[:limit]:
            detail = f" ({', '.join(item.fields)})" if item.fields else ""
            lines.append(f"  {noun} {item.key}: {item.kind}{detail}")
        if len(self.differences) > limit:
            lines.append(f"  ... and {len(self.differences) - limit} more")
        lines += [
            f"  legacy {noun} {legacy_id}: does not translate (see backfill)"
            for legacy_id in self.rejected_legacy_ids
        ]
        return lines


class _PagedSource(Protocol[T]):
    def pages(self, *, batch_size: int) -> Iterable[Any]: ...


def translated_records(source: _PagedSource[T], *, batch_size: int, rejected: list[object]) -> Iterator[T]:
    """Every record a paged legacy source translates; the ids of the rows it cannot go to ``rejected``."""
    for page in source.pages(batch_size=batch_size):
        rejected.extend(row.legacy_id for row in page.rejected)
        yield from page.records
