"""Resumable, idempotent backfill of the catalog: ``acl.catalog.backfill_products`` + a checkpoint.

The checkpoint (``sync_checkpoints``, by name) holds the last legacy id written; a re-run continues
after it, ``restart=True`` starts over. Writes are upserts by id, so overlapping runs change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from acl.catalog.backfill import BackfillReport, backfill_products
from acl.catalog.records import ProductRecord
from acl.catalog.source import LegacyProductSource, ProductPage
from acl.catalog.sync.port import CatalogPort
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.inbox import Inbox

__all__ = ["BackfillRun", "run_catalog_backfill"]


@dataclass
class BackfillRun(BackfillReport):
    """The shared report plus where this run started and whether it reached the end."""

    started_after: int = 0
    complete: bool = False


class _Interrupted(Exception):
    def __init__(self, report: BackfillReport) -> None:
        super().__init__("backfill stopped after the requested number of pages")
        self.report = report


class _PortSink:
    """``acl.catalog.ProductSink`` over a ``CatalogPort``; a page's watermarks go with its rows: the
    consumer's inbox takes each product's last outbox sequence (older events are then stale, their change
    being in the copy) and the service each product's stock version and fields version."""

    def __init__(self, port: CatalogPort, inbox: Inbox | None = None) -> None:
        self._port = port
        self._inbox = inbox

    def write(self, records: Sequence[ProductRecord]) -> int:
        return self._port.apply_products(records)

    def write_page(self, page: ProductPage) -> int:
        written = self._port.apply_products(page.records)
        copied = {record.id for record in page.records}
        marks = {product_id: mark for product_id, mark in page.watermarks.items() if product_id in copied}
        record_copy = getattr(self._port, "record_copy", None)
        if record_copy is not None:
            record_copy(marks)
        seed_versions = getattr(self._port, "record_field_versions", None)
        if seed_versions is not None:
            seed_versions({key: v for key, v in page.field_versions.items() if key in copied})
        if self._inbox is not None:
            self._inbox.seed(
                {
                    ("product", str(product_id)): sequence
                    for product_id, (sequence, _v) in marks.items()
                    if sequence
                }
            )
        return written


def run_catalog_backfill(
    source: LegacyProductSource,
    port: CatalogPort,
    checkpoints: CheckpointStore,
    *,
    name: str = "backfill:catalog",
    batch_size: int = 1000,
    restart: bool = False,
    on_page: Callable[[BackfillReport], None] | None = None,
    max_pages: int | None = None,
    consumer: str = "catalog",
) -> BackfillRun:
    """Copy legacy products after the checkpoint into ``port``; the checkpoint follows every page.

    ``max_pages`` stops early (the checkpoint stays, so the next run resumes); ``report.complete``
    tells whether the end was reached.
    """
    previous = None if restart else checkpoints.load(name)
    after_id = previous.last_id if previous is not None and not previous.done else 0

    def page_written(report: BackfillReport) -> None:
        checkpoints.save(name, last_id=report.last_id, done=False)
        if on_page is not None:
            on_page(report)
        if max_pages is not None and report.pages >= max_pages:
            raise _Interrupted(report)

    try:
        report = backfill_products(
            source,
            _PortSink(port, Inbox(checkpoints.engine, consumer)),
            batch_size=batch_size,
            after_id=after_id,
            on_page=page_written,
        )
        complete = True
    except _Interrupted as stopped:
        report, complete = stopped.report, False
    if complete:
        checkpoints.save(name, last_id=report.last_id, done=True)
    return BackfillRun(
        read=report.read,
        written=report.written,
        pages=report.pages,
        last_id=report.last_id,
        rejected=report.rejected,
        started_after=after_id,
        complete=complete,
    )
