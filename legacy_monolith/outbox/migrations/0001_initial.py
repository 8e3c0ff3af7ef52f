import legacy_monolith.outbox.models
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('event_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('aggregate_type', models.CharField(max_length=30)),
                ('aggregate_id', models.CharField(max_length=40)),
                ('sequence', models.PositiveIntegerField()),
                ('event_type', models.CharField(max_length=50)),
                ('payload', models.JSONField()),
                ('occurred_at', legacy_monolith.outbox.models.NaiveUtcDateTimeField()),
                ('origin', models.CharField(default='legacy', max_length=40)),
                ('published_at', legacy_monolith.outbox.models.NaiveUtcDateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'outbox_event',
                'ordering': ['id'],
                'indexes': [models.Index(fields=['published_at', 'id'], name='outbox_event_unpublished')],
                'constraints': [models.UniqueConstraint(fields=('aggregate_type', 'aggregate_id', 'sequence'), name='outbox_event_aggregate_sequence')],
            },
        ),
    ]
