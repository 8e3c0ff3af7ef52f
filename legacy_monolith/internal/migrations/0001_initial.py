import legacy_monolith.outbox.models
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='AppliedEvent',
            fields=[
                ('event_id', models.UUIDField(primary_key=True, serialize=False)),
                ('origin', models.CharField(max_length=40)),
                ('aggregate_type', models.CharField(max_length=30)),
                ('aggregate_id', models.CharField(max_length=40)),
                ('sequence', models.PositiveIntegerField()),
                ('event_type', models.CharField(max_length=50)),
                ('outcome', models.CharField(max_length=10)),
                ('applied_at', legacy_monolith.outbox.models.NaiveUtcDateTimeField()),
            ],
            options={
                'db_table': 'internal_applied_event',
                'indexes': [models.Index(fields=['origin', 'aggregate_type', 'aggregate_id', 'sequence'], name='internal_applied_aggregate')],
            },
        ),
    ]
