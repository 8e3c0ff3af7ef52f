"""The project's reverse-sync applier for ``Widget`` and its identity claims."""

from strangler_django.appliers import Applier, ReverseEventError, UnknownAggregate
from strangler_django.outbox import record_event
from suite_project.shop.models import Widget


class WidgetApplier(Applier):
    aggregate_type = "widget"
    event_types = frozenset({"widget.recoloured"})

    def parse_key(self, event_type, aggregate_id):
        try:
            return int(aggregate_id)
        except ValueError:
            raise ReverseEventError("aggregate_id", "aggregate_id must be an integer.") from None

    def apply(self, event):
        colour = event.payload.get("colour")
        if not isinstance(colour, str) or not colour:
            raise ReverseEventError("colour", "colour must be a non-empty string.")
        widget = Widget.objects.select_for_update().filter(pk=event.key).first()
        if widget is None:
            raise UnknownAggregate(f"Widget {event.key} does not exist.")
        widget.colour = colour
        widget.save(update_fields=["colour"])
        record_event("widget", widget.pk, "widget.recoloured", {"colour": colour}, origin=event.origin)


def member_claims(member):
    return {"team": member.team}
