"""Reconcile the catalog: both sides' products by id, compared through a checksum of their ACL records.

Both sides are read as ``ProductRecord`` (the legacy side through the translators, the service through
its port) and each record is hashed over every field, so a difference anywhere shows up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

from acl.catalog.records import ProductRecord
from acl.catalog.source import LegacyProductSource
from acl.catalog.sync.port import CatalogPort
from acl.catalog.translators import product_to_legacy_json
from acl.sync.core.reconcile import Difference, ReconcileReport, translated_records

__all__ = ["product_checksum", "reconcile_catalog", "reconcile_records"]


def product_checksum(record: ProductRecord) -> str:
    document = json.dumps(product_to_legacy_json(record), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(document.encode()).hexdigest()


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
