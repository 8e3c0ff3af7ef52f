"""The outbox (one row per business change) and the inbox of applied reverse-sync events.

The table names are the toolkit's contract with its relay and sync workers: ``outbox_event`` and
``internal_applied_event``.
"""

from __future__ import annotations

import uuid

from django.db import models

from strangler_django.fields import NaiveUtcDateTimeField

__all__ = ["AppliedEvent", "IdempotencyRecord", "OutboxEvent", "StockVersion", "SyncConflict"]


class OutboxEvent(models.Model):
    """One business change, written in the transaction that made it; the relay publishes the rows.

    ``origin`` is the monolith's own origin ("legacy" unless ``STRANGLER_ORIGIN`` says otherwise) for
    changes made here, or the origin tag of a reverse-sync event applied through /internal/sync/apply,
    so that the relay's consumers never echo a change back to its origin. ``published_at`` stays NULL
    until the relay has handed the event to the transport. ``occurred_at`` is UTC, without time zone.
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    aggregate_type = models.CharField(max_length=30)
    aggregate_id = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    occurred_at = NaiveUtcDateTimeField()
    origin = models.CharField(max_length=40, default="legacy")
    published_at = NaiveUtcDateTimeField(null=True, blank=True)

    class Meta:
        db_table = "outbox_event"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["aggregate_type", "aggregate_id", "sequence"], name="outbox_event_aggregate_sequence"
            ),
        ]
        indexes = [
            models.Index(fields=["published_at", "id"], name="outbox_event_unpublished"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}#{self.sequence}"


class AppliedEvent(models.Model):
    """The inbox: one row per reverse-sync event id, so a redelivery changes nothing."""

    event_id = models.UUIDField(primary_key=True)
    origin = models.CharField(max_length=40)
    aggregate_type = models.CharField(max_length=30)
    aggregate_id = models.CharField(max_length=40)
    sequence = models.PositiveIntegerField()
    event_type = models.CharField(max_length=50)
    outcome = models.CharField(max_length=10)
    applied_at = NaiveUtcDateTimeField()

    class Meta:
        db_table = "internal_applied_event"
        indexes = [
            models.Index(
                fields=["origin", "aggregate_type", "aggregate_id", "sequence"],
                name="internal_applied_aggregate",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}#{self.sequence} from {self.origin}"
        )


class StockVersion(models.Model):
    """How many stock changes this side applied to a product (its own and the other side's): an event
    carries the version its change made (``stk_ver``) and the other side expects to be one behind it.
    The columns of a service's ``sync_stock_version`` (``acl.sync.core.stock``), under this side's own
    name."""

    aggregate_id = models.CharField(max_length=40, primary_key=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "internal_stock_version"

    def __str__(self) -> str:
        return f"product {self.aggregate_id} stock v{self.version}"


class AggregateVersion(models.Model):
    """How many changes this side applied to an aggregate whose changes do not commute (an order's
    status, say), its own and the other side's: an event carries the version its change made and the
    other side applies it only when it is one behind (``strangler_django.versions``); otherwise the change
    waits in ``sync_conflict``. The columns of a service's ``sync_version`` (``acl.sync.core.versions``)."""

    id = models.BigAutoField(primary_key=True)
    aggregate_type = models.CharField(max_length=30)
    aggregate_id = models.CharField(max_length=40)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "internal_aggregate_version"
        constraints = [
            models.UniqueConstraint(fields=["aggregate_type", "aggregate_id"], name="uq_aggregate_version")
        ]

    def __str__(self) -> str:
        return f"{self.aggregate_type} {self.aggregate_id} v{self.version}"


class SyncConflict(models.Model):
    """The conflict queue: a change from the other side that did not commute with one made here meanwhile
    (a level set while the stock moved, or a move below zero), parked with both values until an operator
    resolves it. Same columns as every side's ``sync_conflict`` (the control plane reads them alike)."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=36, unique=True)
    origin = models.CharField(max_length=40)
    aggregate_type = models.CharField(max_length=30)
    aggregate_id = models.CharField(max_length=40)
    field = models.CharField(max_length=40)
    ours = models.TextField()
    theirs = models.TextField()
    expected_version = models.IntegerField()
    found_version = models.IntegerField()
    detected_at = NaiveUtcDateTimeField()
    resolved_at = NaiveUtcDateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, null=True, blank=True)
    resolved_by = models.CharField(max_length=150, null=True, blank=True)

    class Meta:
        db_table = "sync_conflict"

    def __str__(self) -> str:
        return f"conflict on {self.aggregate_type}:{self.aggregate_id}.{self.field} from {self.origin}"


class IdempotencyRecord(models.Model):
    """The answer given to a request with an ``Idempotency-Key`` (see ``strangler_django.idempotency``)."""

    user_id = models.CharField(max_length=64)
    path = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "strangler_idempotency_record"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "path", "key"], name="strangler_idempotency_unique")
        ]
