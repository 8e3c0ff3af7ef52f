"""What the events of one ``/internal/sync/apply`` batch need to know, read once in its transaction.

Applying an event asks four things: was its id recorded before (a redelivery), which sequence was last
applied for its origin and aggregate (ordering), the product row it changes, and the last sequence of
that product's outbox events. Asked per event that is four queries each; ``SyncBatch.read`` asks them
for the whole batch in four queries, inside the batch's transaction, and the batch keeps the answers
current as its events are recorded. The product rows are locked first (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the IMMEDIATE transaction holds the write lock), as every writer of a product's
outbox events locks the row first, so the outbox sequences read after that stay the last ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.db import connection

from legacy_monolith.catalog.models import Product
from legacy_monolith.internal.models import AppliedEvent
from legacy_monolith.outbox.models import OutboxEvent

__all__ = ["Stream", "SyncBatch"]

Stream = tuple[str, str, str]
"""(origin, aggregate_type, aggregate_id): the events whose order is kept."""

_KEYS_PER_QUERY = 200


class SyncBatch:
    """The inbox and product rows a batch touches; call ``read`` inside the batch's transaction."""

    def __init__(
        self,
        *,
        recorded: set[uuid.UUID],
        last_applied: dict[Stream, int],
        products: dict[int, Product | None],
        outbox_last: dict[int, int],
    ) -> None:
        self._recorded = recorded
        self._last_applied = last_applied
        self._products = products
        self._outbox_last = outbox_last

    @classmethod
    def read(
        cls, *, event_ids: Iterable[uuid.UUID], streams: Iterable[Stream], product_ids: Iterable[int]
    ) -> SyncBatch:
        """Four queries: products (locked), recorded event ids, the last outbox sequence of each product
        found, the last applied sequence per stream."""
        # The product rows first: a concurrent batch on PostgreSQL waits here until this one commits,
        # so what is read next includes what it recorded.
        wanted_products = set(product_ids)
        products: dict[int, Product | None] = dict.fromkeys(wanted_products)
        if wanted_products:
            locked = Product.objects.select_for_update(of=("self",)).select_related("ctg")
            products.update((product.pk, product) for product in locked.filter(pk__in=wanted_products))
        wanted_ids = set(event_ids)
        recorded = (
            set(AppliedEvent.objects.filter(event_id__in=wanted_ids).values_list("event_id", flat=True))
            if wanted_ids
            else set()
        )
        found = sorted(prd_id for prd_id, product in products.items() if product is not None)
        outbox = _last_sequences(
            OutboxEvent._meta.db_table,
            ("aggregate_type", "aggregate_id"),
            [("product", str(p)) for p in found],
        )
        return cls(
            recorded=recorded,
            last_applied=_last_sequences(
                AppliedEvent._meta.db_table,
                ("origin", "aggregate_type", "aggregate_id"),
                sorted(set(streams)),
                applied_only=True,
            ),
            products=products,
            outbox_last={prd_id: outbox.get(("product", str(prd_id)), 0) for prd_id in found},
        )

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

    def next_outbox_sequence(self, prd_id: int) -> int | None:
        """The sequence of the product's next outbox event; None when it was not read up front."""
        last = self._outbox_last.get(prd_id)
        return None if last is None else last + 1

    def outbox_recorded(self, prd_id: int, sequence: int) -> None:
        self._outbox_last[prd_id] = sequence

    def forget_product(self, prd_id: int) -> None:
        """Read the product again next time (a rolled-back savepoint may have left it changed here)."""
        self._products.pop(prd_id, None)
        self._outbox_last.pop(prd_id, None)


def _last_sequences(
    table: str, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]], *, applied_only: bool = False
) -> dict[tuple[str, ...], int]:
    """The last ``sequence`` of each key (values of ``columns``) that has one in ``table``.

    One row of scalar subqueries per chunk of keys; each reads the newest entries of its key from the
    table's (key columns, sequence) index, as a per-event query would, so the cost does not grow with
    the key's history.
    """
    q = connection.ops.quote_name
    sequence = q("sequence")
    where = " AND ".join(f"{q(column)} = %s" for column in columns)
    if applied_only:
        where += f" AND {q('outcome')} = 'applied'"
    one = f"(SELECT {sequence} FROM {q(table)} WHERE {where} ORDER BY {sequence} DESC LIMIT 1)"
    found: dict[tuple[str, ...], int] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join([one] * len(chunk)), [part for key in chunk for part in key])
            row = cursor.fetchone()
        found.update((key, int(last)) for key, last in zip(chunk, row, strict=True) if last is not None)
    return found
