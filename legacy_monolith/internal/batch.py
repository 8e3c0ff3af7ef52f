"""What the events of one ``/internal/sync/apply`` batch need to know, read once in its transaction.

Applying an event asks three things: was its id recorded before (a redelivery), which sequence was last
applied for its origin and aggregate (ordering), and the product row it changes. Asked per event that is
three queries each; ``SyncBatch.read`` asks them for the whole batch in three queries, inside the batch's
transaction (on SQLite an IMMEDIATE one, so nothing else writes until it commits), and the batch keeps
the answers current as its events are recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.db import connection

from legacy_monolith.catalog.models import Product
from legacy_monolith.internal.models import AppliedEvent

__all__ = ["Stream", "SyncBatch"]

Stream = tuple[str, str, str]
"""(origin, aggregate_type, aggregate_id): the events whose order is kept."""

_STREAMS_PER_QUERY = 200


class SyncBatch:
    """The inbox and product rows a batch touches; call ``read`` inside the batch's transaction."""

    def __init__(
        self,
        *,
        recorded: set[uuid.UUID],
        last_applied: dict[Stream, int],
        products: dict[int, Product | None],
    ) -> None:
        self._recorded = recorded
        self._last_applied = last_applied
        self._products = products

    @classmethod
    def read(
        cls, *, event_ids: Iterable[uuid.UUID], streams: Iterable[Stream], product_ids: Iterable[int]
    ) -> SyncBatch:
        """Three queries: recorded event ids, last applied sequence per stream, products (locked)."""
        wanted_ids = set(event_ids)
        recorded = (
            set(AppliedEvent.objects.filter(event_id__in=wanted_ids).values_list("event_id", flat=True))
            if wanted_ids
            else set()
        )
        wanted_products = set(product_ids)
        products: dict[int, Product | None] = dict.fromkeys(wanted_products)
        if wanted_products:
            locked = Product.objects.select_for_update(of=("self",)).select_related("ctg")
            products.update((product.pk, product) for product in locked.filter(pk__in=wanted_products))
        return cls(recorded=recorded, last_applied=_last_applied(sorted(set(streams))), products=products)

    def is_recorded(self, event_id: uuid.UUID) -> bool:
        return event_id in self._recorded

    def last_applied(self, stream: Stream) -> int | None:
        return self._last_applied.get(stream)

    def record(self, event_id: uuid.UUID, stream: Stream, sequence: int, outcome: str) -> None:
        """The event's inbox row is in (its savepoint released)."""
        self._recorded.add(event_id)
        if outcome == "applied":
            self._last_applied[stream] = sequence

    def product(self, prd_id: int) -> Product | None:
        """The product row (locked), read now when the batch did not ask for it up front."""
        if prd_id not in self._products:
            query = Product.objects.select_for_update(of=("self",)).select_related("ctg")
            self._products[prd_id] = query.filter(pk=prd_id).first()
        return self._products[prd_id]

    def forget_product(self, prd_id: int) -> None:
        """Read the product again next time (a rolled-back savepoint may have left it changed here)."""
        self._products.pop(prd_id, None)


def _last_applied(streams: Sequence[Stream]) -> dict[Stream, int]:
    """The last applied sequence of each stream that has one: one row of scalar subqueries per chunk.

    Each subquery reads the newest entries of its stream from the ``internal_applied_aggregate`` index,
    as the per-event query did, so the cost does not grow with the stream's history.
    """
    q = connection.ops.quote_name
    table, sequence = q(AppliedEvent._meta.db_table), q("sequence")
    one = (
        f"(SELECT {sequence} FROM {table} WHERE {q('origin')} = %s AND {q('aggregate_type')} = %s"
        f" AND {q('aggregate_id')} = %s AND {q('outcome')} = 'applied' ORDER BY {sequence} DESC LIMIT 1)"
    )
    found: dict[Stream, int] = {}
    for start in range(0, len(streams), _STREAMS_PER_QUERY):
        chunk = streams[start : start + _STREAMS_PER_QUERY]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join([one] * len(chunk)), [part for stream in chunk for part in stream]
            )
            row = cursor.fetchone()
        found.update((stream, int(last)) for stream, last in zip(chunk, row, strict=True) if last is not None)
    return found
