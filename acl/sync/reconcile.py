"""Reconcile: both sides' products by id, compared through a checksum of their ACL records.

Both sides are read as ``ProductRecord`` (the legacy side through the translators, the service through
its port) and each record is hashed over every field, so a difference anywhere shows up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from acl.catalog.records import ProductRecord
from acl.catalog.source import LegacyProductSource
from acl.catalog.translators import product_to_legacy_json
from acl.sync.ports import CatalogPort

__all__ = [
    "Difference",
    "ReconcileReport",
    "product_checksum",
    "reconcile_catalog",
    "reconcile_records",
    "translated_records",
]

T = TypeVar("T", covariant=True)


def product_checksum(record: ProductRecord) -> str:
    document = json.dumps(product_to_legacy_json(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(document.encode()).hexdigest()


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


def _changed_fields(left: ProductRecord, right: ProductRecord) -> tuple[str, ...]:
    a, b = product_to_legacy_json(left), product_to_legacy_json(right)
    return tuple(key for key in a if a[key] != b.get(key))


def reconcile_records(legacy: Iterable[ProductRecord], service: Iterable[ProductRecord]) -> ReconcileReport:
    """Merge two id-ordered streams; memory stays flat however many products there are."""
    report = ReconcileReport()
    left_iter, right_iter = iter(legacy), iter(service)
    left, right = next(left_iter, None), next(right_iter, None)
    while left is not None or right is not None:
        if right is None or (left is not None and left.id < right.id):
            report.legacy_count += 1
            report.differences.append(Difference(left.id, "missing_in_service"))  # type: ignore[union-attr]
            left = next(left_iter, None)
        elif left is None or right.id < left.id:
            report.service_count += 1
            report.differences.append(Difference(right.id, "missing_in_legacy"))
            right = next(right_iter, None)
        else:
            report.legacy_count += 1
            report.service_count += 1
            if product_checksum(left) != product_checksum(right):
                report.differences.append(Difference(left.id, "different", _changed_fields(left, right)))
            left, right = next(left_iter, None), next(right_iter, None)
    return report


def reconcile_catalog(
    source: LegacyProductSource, port: CatalogPort, *, batch_size: int = 2000
) -> ReconcileReport:
    rejected: list[object] = []
    legacy: Iterator[ProductRecord] = translated_records(source, batch_size=batch_size, rejected=rejected)
    report = reconcile_records(legacy, port.product_records(batch_size=batch_size))
    report.rejected_legacy_ids = rejected
    return report
