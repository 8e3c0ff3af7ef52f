"""Reverse sync's tables here: the inbox (one row per applied event id, so a redelivery changes nothing),
each product's stock version, and the conflict queue.

``internal_stock_version`` has the columns of a service's ``sync_stock_version`` (its own name: the
monolith and a service may share one database) and ``sync_conflict`` those of every side's conflict queue
(the services keep theirs through ``acl.sync.stock``), so the control plane reads them alike.
"""

from django.db import models

from legacy_monolith.outbox.models import NaiveUtcDateTimeField


class AppliedEvent(models.Model):
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

    def __str__(self):
        return (
            f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}#{self.sequence} from {self.origin}"
        )


class StockVersion(models.Model):
    """How many stock changes this side has applied to a product (its own and the other side's): an
    event carries the version it made, and the other side expects to be one behind it."""

    aggregate_id = models.CharField(max_length=40, primary_key=True)
    version = models.PositiveIntegerField()

    class Meta:
        db_table = "internal_stock_version"

    def __str__(self):
        return f"product {self.aggregate_id} stock v{self.version}"


class SyncConflict(models.Model):
    """A change from the other side that was not applied because this side changed meanwhile and the
    change does not commute (a stock level set, not moved): both values, until an operator resolves it."""

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

    def __str__(self):
        return f"conflict on {self.aggregate_type}:{self.aggregate_id}.{self.field} from {self.origin}"
