"""The transactional outbox: events commit with the change, sequences per aggregate, never outside one."""

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from suite_project.shop.models import Widget

from strangler_django.models import OutboxEvent
from strangler_django.outbox import record_event


@pytest.mark.django_db
def test_events_number_per_aggregate_and_carry_the_monolith_s_origin():
    with transaction.atomic():
        widget = Widget.objects.create(name="w")
        for _ in range(2):
            record_event("widget", widget.pk, "widget.changed", {"name": "w"})
        record_event("gadget", widget.pk, "gadget.changed", {})
    rows = list(OutboxEvent.objects.values_list("aggregate_type", "aggregate_id", "sequence", "origin"))
    assert rows == [
        ("widget", str(widget.pk), 1, "monolith"),
        ("widget", str(widget.pk), 2, "monolith"),
        ("gadget", str(widget.pk), 1, "monolith"),
    ]
    assert OutboxEvent.objects.first().occurred_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the business change's transaction"):
        record_event("widget", 1, "widget.changed", {})
    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_event():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        widget = Widget.objects.create(name="w")
        record_event("widget", widget.pk, "widget.created", {})
        1 / 0  # noqa: B018
    assert OutboxEvent.objects.count() == 0 and Widget.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_outbox_tables_a_project_already_has():
    """A monolith that had its own copy of the outbox (same tables) moves to the app, keeping its rows."""
    executor = MigrationExecutor(connection)
    executor.migrate([("strangler_django", None)])
    assert "outbox_event" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE outbox_event (id integer PRIMARY KEY, event_id char(32) UNIQUE, aggregate_type"
            " varchar(30), aggregate_id varchar(40), sequence integer, event_type varchar(50), payload text,"
            " occurred_at datetime, origin varchar(40), published_at datetime)"
        )
        cursor.execute(
            "INSERT INTO outbox_event VALUES (7, 'a', 'widget', '1', 1, 'widget.created', '{}',"
            " '2026-01-01 00:00:00', 'legacy', NULL)"
        )
    executor = MigrationExecutor(connection)
    executor.migrate([("strangler_django", "0001_initial")])
    tables = connection.introspection.table_names()
    assert "internal_applied_event" in tables  # the missing one is created
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, event_type FROM outbox_event")
        assert cursor.fetchall() == [(7, "widget.created")]
    # the app's own tables again (constraints included, every migration applied) for the tests after this
    MigrationExecutor(connection).migrate([("strangler_django", None)])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("strangler_django"))
