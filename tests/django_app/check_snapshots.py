"""Forward backfill: ``register_snapshot`` and ``manage.py strangler_backfill`` record one outbox event
per existing row, in batches, after the row's own events, again on a re-run; an unknown aggregate is
refused naming the registered ones."""

from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import transaction
from suite_project.shop.apps import widget_payload
from suite_project.shop.models import Widget

from strangler_django import snapshots
from strangler_django.models import OutboxEvent
from strangler_django.outbox import last_outbox_sequences, record_event
from strangler_django.snapshots import backfill, register_snapshot, registered_snapshots


def _backfill(*args):
    out = StringIO()
    call_command("strangler_backfill", *args, stdout=out)
    return out.getvalue()


def _widgets(count):
    return Widget.objects.bulk_create(Widget(name=f"w{i}", colour="red") for i in range(count))


@pytest.mark.django_db(transaction=True)
def test_one_snapshot_event_per_existing_row_in_batches_with_a_progress_line():
    widgets = _widgets(5)
    out = _backfill("widget", "--batch", "2")
    assert out.splitlines() == [
        "widget: 2/5 rows",
        "widget: 4/5 rows",
        "widget: 5/5 rows",
        "widget: 5 widget.snapshot events recorded",
    ]
    events = list(OutboxEvent.objects.values_list("aggregate_type", "aggregate_id", "sequence", "event_type"))
    assert events == [("widget", str(w.pk), 1, "widget.snapshot") for w in widgets]
    first = OutboxEvent.objects.first()
    assert first.payload == {"id": widgets[0].pk, "name": "w0", "colour": "red"}
    assert first.origin == "monolith" and first.published_at is None


@pytest.mark.django_db(transaction=True)
def test_a_snapshot_comes_after_the_row_s_events_and_a_re_run_sends_the_current_state():
    widget, untouched = _widgets(2)
    with transaction.atomic():
        record_event("widget", widget.pk, "widget.recoloured", widget_payload(widget))
    _backfill("widget")
    Widget.objects.filter(pk=widget.pk).update(colour="blue")
    _backfill("widget")
    snapshots = OutboxEvent.objects.filter(aggregate_id=str(widget.pk)).values_list("sequence", "event_type")
    assert list(snapshots) == [(1, "widget.recoloured"), (2, "widget.snapshot"), (3, "widget.snapshot")]
    colours = OutboxEvent.objects.filter(aggregate_id=str(widget.pk), sequence__gt=1).order_by("sequence")
    assert [event.payload["colour"] for event in colours] == ["red", "blue"]
    assert OutboxEvent.objects.filter(aggregate_id=str(untouched.pk)).count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_unknown_aggregate_is_refused_naming_the_registered_ones_before_anything_is_recorded():
    _widgets(1)
    with pytest.raises(CommandError, match=r"'gadget' \(registered: widget\)"):
        _backfill("widget", "gadget")
    with pytest.raises(CommandError, match="--batch must be at least 1"):
        _backfill("widget", "--batch", "0")
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_sequence_a_concurrent_writer_took_is_run_again(monkeypatch):
    """A writer that recorded an event without locking the row took the sequence the batch read as
    free: the batch's insert fails on the unique sequence, rolls back, and the batch runs again."""
    (widget,) = _widgets(1)
    with transaction.atomic():
        record_event("widget", widget.pk, "widget.recoloured", widget_payload(widget))
    reads = []

    def stale_then_real(aggregate, ids):
        reads.append(ids)
        return {} if len(reads) == 1 else last_outbox_sequences(aggregate, ids)

    monkeypatch.setattr(snapshots, "last_outbox_sequences", stale_then_real)
    assert list(backfill("widget")) == [(1, 1)]
    assert len(reads) == 2
    events = OutboxEvent.objects.values_list("sequence", "event_type")
    assert list(events) == [(1, "widget.recoloured"), (2, "widget.snapshot")]


@pytest.mark.django_db(transaction=True)
def test_no_rows_records_nothing():
    assert _backfill("widget").splitlines() == ["widget: 0 widget.snapshot events recorded"]
    assert list(backfill("widget")) == []


def test_the_registry_refuses_a_second_registration_and_bad_names():
    known = registered_snapshots()["widget"]
    assert known.event_type == "widget.snapshot"
    assert register_snapshot("widget", known.queryset, known.to_payload) == known  # the same again: fine
    with pytest.raises(ImproperlyConfigured, match="'widget' is registered already"):
        register_snapshot("widget", known.queryset, lambda widget: {})
    with pytest.raises(ImproperlyConfigured, match="1 to 30 characters"):
        register_snapshot("x" * 31, known.queryset, known.to_payload)
    with pytest.raises(ImproperlyConfigured, match="is over 50"):
        register_snapshot("widget2", known.queryset, known.to_payload, event_type="t" * 51)
    assert set(registered_snapshots()) == {"widget"}
