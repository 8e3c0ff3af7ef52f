"""The inbox of reverse-sync events: one row per applied event id, so a redelivery changes nothing."""

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
