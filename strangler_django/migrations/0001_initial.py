"""The outbox and inbox tables; a database that already has them (created by an earlier, project-owned
copy of these apps under the same table names) keeps them as they are."""

import uuid

from django.db import migrations, models

import strangler_django.fields


def _create_missing(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ("OutboxEvent", "AppliedEvent"):
        model = apps.get_model("strangler_django", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


def _drop(apps, schema_editor):
    for name in ("AppliedEvent", "OutboxEvent"):
        schema_editor.delete_model(apps.get_model("strangler_django", name))


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxEvent",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("event_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ("aggregate_type", models.CharField(max_length=30)),
                        ("aggregate_id", models.CharField(max_length=40)),
                        ("sequence", models.PositiveIntegerField()),
                        ("event_type", models.CharField(max_length=50)),
                        ("payload", models.JSONField()),
                        ("occurred_at", strangler_django.fields.NaiveUtcDateTimeField()),
                        ("origin", models.CharField(default="legacy", max_length=40)),
                        (
                            "published_at",
                            strangler_django.fields.NaiveUtcDateTimeField(blank=True, null=True),
                        ),
                    ],
                    options={
                        "db_table": "outbox_event",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(fields=["published_at", "id"], name="outbox_event_unpublished")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("aggregate_type", "aggregate_id", "sequence"),
                                name="outbox_event_aggregate_sequence",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="AppliedEvent",
                    fields=[
                        ("event_id", models.UUIDField(primary_key=True, serialize=False)),
                        ("origin", models.CharField(max_length=40)),
                        ("aggregate_type", models.CharField(max_length=30)),
                        ("aggregate_id", models.CharField(max_length=40)),
                        ("sequence", models.PositiveIntegerField()),
                        ("event_type", models.CharField(max_length=50)),
                        ("outcome", models.CharField(max_length=10)),
                        ("applied_at", strangler_django.fields.NaiveUtcDateTimeField()),
                    ],
                    options={
                        "db_table": "internal_applied_event",
                        "indexes": [
                            models.Index(
                                fields=["origin", "aggregate_type", "aggregate_id", "sequence"],
                                name="internal_applied_aggregate",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        # After the state has the models, so that the function sees them.
        migrations.RunPython(_create_missing, _drop),
    ]
