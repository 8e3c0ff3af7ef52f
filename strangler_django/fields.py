"""``NaiveUtcDateTimeField``: UTC timestamps stored without a time zone, whatever the project's settings."""

from __future__ import annotations

from typing import Any

from django.db import models

__all__ = ["NaiveUtcDateTimeField"]


class NaiveUtcDateTimeField(models.DateTimeField):
    """``timestamp without time zone`` on PostgreSQL; the values written are UTC (see ``outbox.utc_now``)."""

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "timestamp without time zone"
        return super().db_type(connection)
