"""Model fields the 2015 schema needs and Django does not ship."""

from django.db import models

__all__ = ["FixedCharField", "LocalDateTimeField"]


class FixedCharField(models.CharField):
    """A blank-padded ``char(n)`` column (status codes), where CharField would create ``varchar(n)``."""

    def db_type(self, connection):
        return f"char({self.max_length})"


class LocalDateTimeField(models.DateTimeField):
    """A naive local timestamp (Europe/Berlin wall clock), stored without any zone.

    Django's PostgreSQL backend makes every DateTimeField ``timestamp with time zone``; the legacy tables
    hold ``timestamp without time zone`` and readers must apply settings.TIME_ZONE themselves.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "timestamp without time zone"
        return super().db_type(connection)
