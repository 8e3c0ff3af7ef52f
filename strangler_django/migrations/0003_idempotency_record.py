"""The answers kept for requests with an Idempotency-Key (strangler_django.idempotency)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("strangler_django", "0002_stock_versions_and_conflicts")]

    operations = [
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("user_id", models.CharField(max_length=64)),
                ("path", models.CharField(max_length=255)),
                ("key", models.CharField(max_length=255)),
                ("fingerprint", models.CharField(max_length=64)),
                ("status", models.PositiveSmallIntegerField()),
                ("content_type", models.CharField(max_length=100)),
                ("body", models.BinaryField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "db_table": "strangler_idempotency_record",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user_id", "path", "key"), name="strangler_idempotency_unique"
                    )
                ],
            },
        ),
    ]
