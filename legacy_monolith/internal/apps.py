from django.apps import AppConfig


class InternalConfig(AppConfig):
    name = "legacy_monolith.internal"
    label = "internal"
    verbose_name = "Internal endpoints"
