from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "legacy_monolith.outbox"
    label = "outbox"
    verbose_name = "Outbox"
