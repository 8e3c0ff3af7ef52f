"""One row per business change, written in the transaction that made it; a relay publishes the rows."""

import uuid

from django.db import models


class NaiveUtcDateTimeField(models.DateTimeField):
    """A naive UTC timestamp; ``timestamp without time zone`` on PostgreSQL, whatever TIME_ZONE says."""

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "timestamp without time zone"
        return super().db_type(connection)


class OutboxEvent(models.Model):
    """``payload`` uses the tables' own column names; ``occurred_at`` is naive UTC with microseconds.

    ``origin`` is "legacy" for changes made here, or the origin tag of a reverse-sync event applied
    through /internal/sync/apply, so that the relay's consumers never echo a change back to its origin.
    ``published_at`` stays NULL until the relay has handed the event to the transport.
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

    def __str__(self):
        return f"{self.event_type} {self.aggregate_type}:{self.aggregate_id}#{self.sequence}"
