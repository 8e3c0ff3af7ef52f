"""Stock versions and the conflict queue of change-based stock sync (``internal_stock_version``,
``sync_conflict``); a database that already has a table of that name keeps it."""

from django.db import migrations, models

import strangler_django.fields


def _create_missing(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in ("StockVersion", "SyncConflict"):
        model = apps.get_model("strangler_django", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


def _drop(apps, schema_editor):
    for name in ("SyncConflict", "StockVersion"):
        schema_editor.delete_model(apps.get_model("strangler_django", name))


class Migration(migrations.Migration):
    dependencies = [
        ("strangler_django", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StockVersion",
                    fields=[
                        ("aggregate_id", models.CharField(max_length=40, primary_key=True, serialize=False)),
                        ("version", models.PositiveIntegerField()),
                    ],
                    options={"db_table": "internal_stock_version"},
                ),
                migrations.CreateModel(
                    name="SyncConflict",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("event_id", models.CharField(max_length=36, unique=True)),
                        ("origin", models.CharField(max_length=40)),
                        ("aggregate_type", models.CharField(max_length=30)),
                        ("aggregate_id", models.CharField(max_length=40)),
                        ("field", models.CharField(max_length=40)),
                        ("ours", models.TextField()),
                        ("theirs", models.TextField()),
                        ("expected_version", models.IntegerField()),
                        ("found_version", models.IntegerField()),
                        ("detected_at", strangler_django.fields.NaiveUtcDateTimeField()),
                        ("resolved_at", strangler_django.fields.NaiveUtcDateTimeField(blank=True, null=True)),
                        ("resolution", models.CharField(blank=True, max_length=20, null=True)),
                        ("resolved_by", models.CharField(blank=True, max_length=150, null=True)),
                    ],
                    options={"db_table": "sync_conflict"},
                ),
            ],
            database_operations=[],
        ),
        # After the state has the models, so that the function sees them.
        migrations.RunPython(_create_missing, _drop),
    ]
