"""Backfill: copy every legacy product through the translators into a service's store, page by page.

The service side provides a ``ProductSink`` (it turns records into its own model and writes them in
one transaction per page); writes are upserts by id, so a backfill can be re-run or resumed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from acl.catalog.records import ProductRecord
from acl.catalog.source import LegacyProductSource, RejectedRow

__all__ = ["BackfillReport", "ProductSink", "backfill_products"]


class ProductSink(Protocol):
    def write(self, records: Sequence[ProductRecord]) -> int:
        """Insert or replace ``records`` by id in one transaction; return how many were written."""


@dataclass
class BackfillReport:
    read: int = 0
    written: int = 0
    pages: int = 0
    last_id: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and self.written == self.read - len(self.rejected)


def backfill_products(
    source: LegacyProductSource,
    sink: ProductSink,
    *,
    batch_size: int = 500,
    after_id: int = 0,
    on_page: Callable[[BackfillReport], None] | None = None,
) -> BackfillReport:
    """Read legacy products after ``after_id`` and write them to ``sink``; the report lists rejected rows."""
    report = BackfillReport(last_id=after_id)
    for page in source.pages(batch_size=batch_size, after_id=after_id):
        report.read += len(page.records) + len(page.rejected)
        report.rejected.extend(page.rejected)
        if page.records:
            write_page = getattr(sink, "write_page", None)
            report.written += write_page(page) if write_page is not None else sink.write(page.records)
        report.pages += 1
        report.last_id = page.last_id
        if on_page is not None:
            on_page(report)
    return report
