"""What a project writes to apply reverse-sync events to its own tables: an ``Applier`` per aggregate.

List them in ``STRANGLER_SYNC_APPLIERS`` (dotted paths of ``Applier`` subclasses). A fresh instance serves
one batch of ``POST /internal/sync/apply``, inside the batch's transaction::

    class InvoiceApplier(Applier):
        aggregate_type = "invoice"
        event_types = frozenset({"invoice.paid"})

        def apply(self, event):
            invoice = Invoice.objects.select_for_update().filter(pk=event.key).first()
            if invoice is None:
                raise UnknownAggregate(f"Invoice {event.key} does not exist.")
            invoice.paid = True
            invoice.save(update_fields=["paid"])
            record_event("invoice", invoice.pk, "invoice.paid", {...}, origin=event.origin)

The toolkit keeps the guarantees: each event is applied once (by event id), in order per origin and
aggregate (older sequences are "stale"), each in a savepoint (a refused one changes nothing), its inbox
row committed with the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

__all__ = [
    "AlreadyApplied",
    "Applier",
    "NotApplied",
    "ReverseEvent",
    "ReverseEventError",
    "UnknownAggregate",
    "configured_appliers",
]


class ReverseEventError(ValueError):
    """The event is malformed; ``field`` names the culprit (400 ``invalid_body``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownAggregate(LookupError):
    """The event names an aggregate that does not exist here (404 ``not_found``)."""


class AlreadyApplied(Exception):
    """The change is already here under another event id (a natural key matched): "duplicate"."""


class NotApplied(Exception):
    """The event changes nothing and is not recorded (its savepoint is rolled back): the outcome is
    ``outcome``, e.g. ``changed`` for a forced change expecting a version no longer held; sending it
    again evaluates it again."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True, slots=True)
class ReverseEvent:
    """One parsed event; ``key`` is what the applier's ``parse_key`` made of ``aggregate_id``."""

    event_id: uuid.UUID
    origin: str
    aggregate_type: str
    event_type: str
    key: Hashable
    sequence: int
    payload: dict[str, Any]

    @property
    def stream(self) -> tuple[str, str, str]:
        """(origin, aggregate_type, aggregate id): the events whose order is kept."""
        return (self.origin, self.aggregate_type, str(self.key))


class Applier:
    """Applies one aggregate type's events; one instance per batch (override what you need)."""

    aggregate_type: ClassVar[str]
    event_types: ClassVar[frozenset[str]]

    def parse_key(self, event_type: str, aggregate_id: str | int) -> Hashable:
        """The aggregate's key from the event's ``aggregate_id``; raise ``ReverseEventError`` if malformed."""
        return str(aggregate_id)

    def prepare(self, events: Sequence[ReverseEvent]) -> None:
        """Read (and lock) what the batch's events of this aggregate need, before the inbox is read."""

    def already_applied(self, event: ReverseEvent) -> bool:
        """True when the change is already here under another event id (e.g. a unique natural key)."""
        return False

    def apply(self, event: ReverseEvent) -> str | None:
        """Change the rows and record the outbox event with ``origin=event.origin``, or raise; return an
        outcome other than "applied" (such as "conflict", the change parked) when nothing was changed."""
        raise NotImplementedError

    def discard(self, event: ReverseEvent) -> None:
        """``event``'s savepoint was rolled back: forget whatever ``prepare`` cached for it."""


def configured_appliers() -> dict[str, type[Applier]]:
    """``STRANGLER_SYNC_APPLIERS`` by aggregate type; ``ImproperlyConfigured`` names a bad entry."""
    found: dict[str, type[Applier]] = {}
    for path in getattr(settings, "STRANGLER_SYNC_APPLIERS", ()):
        try:
            applier = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"STRANGLER_SYNC_APPLIERS: cannot import {path!r}: {exc}") from exc
        if not (isinstance(applier, type) and issubclass(applier, Applier)):
            raise ImproperlyConfigured(f"STRANGLER_SYNC_APPLIERS: {path!r} is not an Applier subclass")
        if applier.aggregate_type in found:
            raise ImproperlyConfigured(
                f"STRANGLER_SYNC_APPLIERS: two appliers for aggregate {applier.aggregate_type!r}"
            )
        found[applier.aggregate_type] = applier
    return found
