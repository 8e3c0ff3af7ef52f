from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "legacy_monolith.health"
    label = "health"
    verbose_name = "Health"
