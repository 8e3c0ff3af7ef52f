import legacy_monolith.outbox.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('internal', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='StockVersion',
            fields=[
                ('aggregate_id', models.CharField(max_length=40, primary_key=True, serialize=False)),
                ('version', models.PositiveIntegerField()),
            ],
            options={
                'db_table': 'internal_stock_version',
            },
        ),
        migrations.CreateModel(
            name='SyncConflict',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('event_id', models.CharField(max_length=36, unique=True)),
                ('origin', models.CharField(max_length=40)),
                ('aggregate_type', models.CharField(max_length=30)),
                ('aggregate_id', models.CharField(max_length=40)),
                ('field', models.CharField(max_length=40)),
                ('ours', models.TextField()),
                ('theirs', models.TextField()),
                ('expected_version', models.IntegerField()),
                ('found_version', models.IntegerField()),
                ('detected_at', legacy_monolith.outbox.models.NaiveUtcDateTimeField()),
                ('resolved_at', legacy_monolith.outbox.models.NaiveUtcDateTimeField(blank=True, null=True)),
                ('resolution', models.CharField(blank=True, max_length=20, null=True)),
                ('resolved_by', models.CharField(blank=True, max_length=150, null=True)),
            ],
            options={
                'db_table': 'sync_conflict',
            },
        ),
    ]
