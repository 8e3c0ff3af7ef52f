"""Per-aggregate versions of changes that do not commute (``internal_aggregate_version``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("strangler_django", "0003_idempotency_record")]

    operations = [
        migrations.CreateModel(
            name="AggregateVersion",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("aggregate_type", models.CharField(max_length=30)),
                ("aggregate_id", models.CharField(max_length=40)),
                ("version", models.PositiveIntegerField()),
            ],
            options={
                "db_table": "internal_aggregate_version",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("aggregate_type", "aggregate_id"), name="uq_aggregate_version"
                    )
                ],
            },
        ),
    ]
