"""Resumable, idempotent backfill of the orders service: every legacy order through the translators into
``OrdersPort.apply_orders``, page by page, with a checkpoint (``sync_checkpoints``, ``backfill:orders``).

Writes are upserts by order number, so a re-run or an overlap with the consumer changes nothing. The
orders consumer's inbox takes each copied order's last outbox sequence, read with the page (its events
up to there are in the copy: stale for the consumer, and reflected for reconcile's history check), and
a port that counts order versions (``record_order_versions``) each order's version on the monolith. An
order that does not translate, or that the service refuses (``ValueError``: the rest of its page is
written one by one), is reported with its ``ord_id``; the others are written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from acl.orders.records import OrderRecord
from acl.orders.source import LegacyOrderSource, OrderPage
from acl.orders.sync.port import OrdersPort
from acl.sync.core.checkpoints import CheckpointStore
from acl.sync.core.inbox import Inbox

__all__ = ["OrdersBackfillRun", "RefusedOrder", "run_orders_backfill"]


@dataclass(frozen=True, slots=True)
class RefusedOrder:
    legacy_id: object
    error: Exception


@dataclass
class OrdersBackfillRun:
    read: int = 0
    written: int = 0
    pages: int = 0
    last_id: int = 0
    started_after: int = 0
    complete: bool = False
    rejected: list[RefusedOrder] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and self.written == self.read


def _write(port: OrdersPort, records: list[OrderRecord], report: OrdersBackfillRun) -> None:
    try:
        report.written += port.apply_orders(records)
    except ValueError:
        for record in records:
            try:
                report.written += port.apply_orders([record])
            except ValueError as exc:
                report.rejected.append(RefusedOrder(record.order_no, exc))


def _seed(
    port: OrdersPort, inbox: Inbox, page: OrderPage, written_from: int, report: OrdersBackfillRun
) -> None:
    """The copied orders of ``page`` (not those refused since ``written_from``) as of their watermarks:
    the consumer's inbox takes their sequences, a port that counts order versions their versions."""
    refused = {str(item.legacy_id) for item in report.rejected[written_from:]}
    copied = {
        record.order_no: page.watermarks.get(record.order_no, (0, 0, 0))
        for record in page.records
        if record.order_no not in refused
    }
    record_versions = getattr(port, "record_order_versions", None)
    if record_versions is not None:
        record_versions({order_no: mark[2] for order_no, mark in copied.items() if mark[2]})
    inbox.seed({("order", str(mark[0])): mark[1] for mark in copied.values() if mark[1]})


def run_orders_backfill(
    source: LegacyOrderSource,
    port: OrdersPort,
    checkpoints: CheckpointStore,
    *,
    name: str = "backfill:orders",
    batch_size: int = 500,
    restart: bool = False,
    on_page: Callable[[OrdersBackfillRun], None] | None = None,
    max_pages: int | None = None,
    consumer: str = "orders",
) -> OrdersBackfillRun:
    """Copy legacy orders after the checkpoint into ``port``; the checkpoint follows every page.

    ``max_pages`` stops early (the checkpoint stays, so the next run resumes); ``complete`` tells whether
    the end was reached.
    """
    previous = None if restart else checkpoints.load(name)
    after_id = previous.last_id if previous is not None and not previous.done else 0
    report = OrdersBackfillRun(last_id=after_id, started_after=after_id)
    inbox = Inbox(checkpoints.engine, consumer)
    for page in source.pages(batch_size=batch_size, after_id=after_id):
        report.read += len(page.records) + len(page.rejected)
        report.rejected.extend(RefusedOrder(row.legacy_id, row.error) for row in page.rejected)
        if page.records:
            written_from = len(report.rejected)
            _write(port, page.records, report)
            _seed(port, inbox, page, written_from, report)
        report.pages += 1
        report.last_id = page.last_id
        checkpoints.save(name, last_id=report.last_id, done=False)
        if on_page is not None:
            on_page(report)
        if max_pages is not None and report.pages >= max_pages:
            return report
    report.complete = True
    checkpoints.save(name, last_id=report.last_id, done=True)
    return report
