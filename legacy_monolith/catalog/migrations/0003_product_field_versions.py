"""Every existing product starts with fields version 1 (``internal_aggregate_version``, type ``product``).

A change of a product's name, description, price, status or category counts one more version and
carries it to the other side, which applies it only when it is one behind (a rename never overwrites a
rename made there meanwhile). The catalog service's own migration seeds its products at 1 too.
"""

from django.db import migrations


def seed(apps, schema_editor):
    product = apps.get_model("catalog", "Product")
    version = apps.get_model("strangler_django", "AggregateVersion")
    held = set(version.objects.filter(aggregate_type="product").values_list("aggregate_id", flat=True))
    version.objects.bulk_create(
        [
            version(aggregate_type="product", aggregate_id=str(prd_id), version=1)
            for prd_id in product.objects.values_list("prd_id", flat=True).iterator()
            if str(prd_id) not in held
        ],
        batch_size=1000,
    )


def unseed(apps, schema_editor):
    apps.get_model("strangler_django", "AggregateVersion").objects.filter(aggregate_type="product").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_legacy_column_types"),
        ("strangler_django", "0004_aggregate_version"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
